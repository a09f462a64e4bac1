/* The controller benchmark's load generator in C, as cbench's own is: N emulated OpenFlow 1.0
 * switches in one thread on one epoll loop. It does what bench/cbench/emulated-switch.ts does
 * (same arrival pattern, packet-ins, counting and stall write-off) at a fraction of its CPU cost
 * per message, so that on a 2-core machine the figure is the controller's and not the
 * generator's: in latency mode the Node generator spends about as much CPU per response as the
 * controller under test, and when the machine is quiet it is the one that saturates a core.
 *
 *   fakeswitches HOST PORT SWITCHES MACS PORTS latency|throughput GROUP GROUP_DELAY_MS
 *
 * Commands on stdin, one per line: "snap" prints one JSON line with the monotonic time (ms) and,
 * per switch, [responses, flowMods, packetInsSent, writtenOff, joinMs] and the reason it was
 * lost (or null); "stop" stops sending packet-ins (replies are still counted); "quit" or EOF
 * exits. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { OFPT_HELLO = 0, OFPT_ERROR = 1, OFPT_ECHO_REQUEST = 2, OFPT_ECHO_REPLY = 3,
       OFPT_VENDOR = 4, OFPT_FEATURES_REQUEST = 5, OFPT_FEATURES_REPLY = 6,
       OFPT_GET_CONFIG_REQUEST = 7, OFPT_GET_CONFIG_REPLY = 8, OFPT_PACKET_IN = 10,
       OFPT_PACKET_OUT = 13, OFPT_FLOW_MOD = 14, OFPT_STATS_REQUEST = 16,
       OFPT_STATS_REPLY = 17, OFPT_BARRIER_REQUEST = 18, OFPT_BARRIER_REPLY = 19 };
enum { OFPFC_ADD = 0, OFPFC_MODIFY_STRICT = 2, OFPST_DESC = 0, OFPET_BAD_REQUEST = 1,
       OFPBRC_BAD_STAT = 2, OFPBRC_BAD_VENDOR = 3 };
#define OFP_NO_BUFFER 0xffffffffu
#define FM_COMMAND 56
#define FM_BUFFER_ID 64
#define PO_BUFFER_ID 8
#define FRAME_LEN 60
#define PI_LEN (18 + FRAME_LEN)
/* cbench's out buffer: packet-ins kept queued in user space in throughput mode. */
#define OUT_FILL 65536
#define OUT_CAP (OUT_FILL + 8192)
#define IN_CAP (256 * 1024)
#define BUFFER_IDS 100000
#define STALL_MS 200.0
#define PHY_PORT_LEN 48
#define DESC_LEN 1056

struct sw {
  int fd, id, connected, sending;
  double started, join_ms;
  const char *lost;
  char lost_buf[96];
  uint64_t responses, flow_mods, sent, written_off, seq;
  int outstanding;
  double last_progress;
  size_t in_len, out_len, out_off;
  int want_out;
  uint8_t in[IN_CAP];
  uint8_t out[OUT_CAP];
};

static struct sw *sws;
static int n_sw, macs, ports, latency, ep, stopped;
static uint8_t pi_template[PI_LEN];

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void header(uint8_t *p, int type, int len, uint32_t xid) {
  p[0] = 1;
  p[1] = type;
  put16(p + 2, len);
  put32(p + 4, xid);
}

static void lose(struct sw *s, const char *why, int err) {
  if (s->lost == NULL) {
    if (err) {
      snprintf(s->lost_buf, sizeof s->lost_buf, "%s: %s", why, strerror(err));
      s->lost = s->lost_buf;
    } else {
      s->lost = why;
    }
  }
  s->sending = 0;
  if (s->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
  }
}

static void watch(struct sw *s, int want_out) {
  if (s->fd < 0 || want_out == s->want_out) return;
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = s };
  epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
  s->want_out = want_out;
}

/* Writes what the out buffer holds; what the socket does not take waits for EPOLLOUT. */
static void flush(struct sw *s) {
  while (s->fd >= 0 && s->out_off < s->out_len) {
    ssize_t n = write(s->fd, s->out + s->out_off, s->out_len - s->out_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) lose(s, "socket error", errno);
      break;
    }
    s->out_off += n;
  }
  if (s->fd < 0) return;
  if (s->out_off == s->out_len) s->out_off = s->out_len = 0;
  else if (s->out_off > 0 && s->out_len - s->out_off < OUT_FILL / 2) {
    memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
    s->out_len -= s->out_off;
    s->out_off = 0;
  }
  watch(s, s->out_len > 0 || (!latency && s->sending && !stopped));
}

static uint8_t *reserve(struct sw *s, size_t len) {
  if (s->out_off > 0) {
    memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
    s->out_len -= s->out_off;
    s->out_off = 0;
  }
  if (s->out_len + len > OUT_CAP) return NULL;
  uint8_t *p = s->out + s->out_len;
  s->out_len += len;
  return p;
}

static void write_mac(uint8_t *p, int sw, int host) {
  p[0] = 0x02;
  p[1] = sw >> 8;
  p[2] = sw;
  p[3] = host >> 16;
  p[4] = host >> 8;
  p[5] = host;
}

/* Throughput: tops the out buffer up to OUT_FILL bytes of packet-ins; latency: one packet-in
 * when none is outstanding. */
static void fill(struct sw *s) {
  if (!s->sending || stopped || s->fd < 0) return;
  int n;
  if (latency) n = s->outstanding == 0 ? 1 : 0;
  else n = (int)((OUT_FILL - (s->out_len - s->out_off)) / PI_LEN);
  if (n <= 0) return;
  uint8_t *p = reserve(s, (size_t)n * PI_LEN);
  if (p == NULL) return;
  for (int i = 0; i < n; i++, p += PI_LEN) {
    memcpy(p, pi_template, PI_LEN);
    uint64_t seq = s->seq++;
    int src = seq % macs, dst = (seq + 1) % macs;
    put32(p + 4, (uint32_t)seq);
    put32(p + 8, seq % BUFFER_IDS);
    put16(p + 14, src % ports + 1);
    write_mac(p + 18, s->id, dst);
    write_mac(p + 24, s->id, src);
  }
  s->outstanding += n;
  s->sent += n;
  flush(s);
}

static void send_error(struct sw *s, const uint8_t *msg, int len, int code) {
  int dlen = len < 64 ? len : 64;
  uint8_t *p = reserve(s, 12 + dlen);
  if (p == NULL) return;
  header(p, OFPT_ERROR, 12 + dlen, get32(msg + 4));
  put16(p + 8, OFPET_BAD_REQUEST);
  put16(p + 10, code);
  memcpy(p + 12, msg, dlen);
}

/* The handshake and whatever else the controller asks (echo, config, barrier, desc). */
static void control(struct sw *s, const uint8_t *msg, int len) {
  uint32_t xid = get32(msg + 4);
  uint8_t *p;
  switch (msg[1]) {
  case OFPT_FEATURES_REQUEST:
    p = reserve(s, 32 + ports * PHY_PORT_LEN);
    if (p == NULL) return;
    memset(p, 0, 32 + ports * PHY_PORT_LEN);
    header(p, OFPT_FEATURES_REPLY, 32 + ports * PHY_PORT_LEN, xid);
    put32(p + 12, s->id); /* datapath_id, low 32 bits */
    put32(p + 16, 65536); /* n_buffers */
    p[20] = 1;            /* n_tables */
    put32(p + 28, 0xfff); /* actions */
    for (int i = 0; i < ports; i++) {
      uint8_t *q = p + 32 + i * PHY_PORT_LEN;
      put16(q, i + 1);
      const uint8_t hw[6] = { 0x02, 0xff, 0, 0, 0, (uint8_t)(i + 1) };
      memcpy(q + 2, hw, 6);
      snprintf((char *)q + 8, 16, "cb%d", i + 1);
    }
    if (s->join_ms < 0) s->join_ms = now_ms() - s->started;
    if (!s->sending && s->lost == NULL) {
      s->sending = 1;
      s->last_progress = now_ms();
      fill(s);
    }
    break;
  case OFPT_ECHO_REQUEST:
    p = reserve(s, len);
    if (p == NULL) return;
    memcpy(p, msg, len);
    p[1] = OFPT_ECHO_REPLY;
    break;
  case OFPT_GET_CONFIG_REQUEST:
    p = reserve(s, 12);
    if (p == NULL) return;
    header(p, OFPT_GET_CONFIG_REPLY, 12, xid);
    put16(p + 8, 0);
    put16(p + 10, 128);
    break;
  case OFPT_BARRIER_REQUEST:
    p = reserve(s, 8);
    if (p == NULL) return;
    header(p, OFPT_BARRIER_REPLY, 8, xid);
    break;
  case OFPT_STATS_REQUEST:
    if (len >= 12 && get16(msg + 8) == OFPST_DESC) {
      p = reserve(s, 12 + DESC_LEN);
      if (p == NULL) return;
      memset(p, 0, 12 + DESC_LEN);
      header(p, OFPT_STATS_REPLY, 12 + DESC_LEN, xid);
      strcpy((char *)p + 12, "ofswitch");
      strcpy((char *)p + 12 + 256, "cbench");
      strcpy((char *)p + 12 + 512, "emulated");
      strcpy((char *)p + 12 + 768, "0");
    } else {
      send_error(s, msg, len, OFPBRC_BAD_STAT);
    }
    break;
  case OFPT_VENDOR:
    send_error(s, msg, len, OFPBRC_BAD_VENDOR);
    break;
  default: /* HELLO, ECHO_REPLY, SET_CONFIG, ERROR, ...: nothing to answer */
    return;
  }
  flush(s);
}

static void on_readable(struct sw *s) {
  ssize_t n = read(s->fd, s->in + s->in_len, IN_CAP - s->in_len);
  if (n == 0) return lose(s, "connection closed by the controller", 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) lose(s, "socket error", errno);
    return;
  }
  s->in_len += n;
  size_t off = 0;
  int answered = 0;
  while (s->in_len - off >= 8) {
    const uint8_t *m = s->in + off;
    int len = get16(m + 2);
    if (len < 8) return lose(s, "controller sent a message shorter than its header", 0);
    if (s->in_len - off < (size_t)len) break;
    int type = m[1];
    if (type == OFPT_FLOW_MOD || type == OFPT_PACKET_OUT) {
      int flow_mod = type == OFPT_FLOW_MOD;
      int command = flow_mod && len >= FM_COMMAND + 2 ? get16(m + FM_COMMAND) : -1;
      if (!flow_mod || command == OFPFC_ADD || command == OFPFC_MODIFY_STRICT) {
        s->responses++;
        if (flow_mod) s->flow_mods++;
        int at = flow_mod ? FM_BUFFER_ID : PO_BUFFER_ID;
        if (len >= at + 4 && get32(m + at) != OFP_NO_BUFFER) answered++;
      }
    } else {
      control(s, m, len);
      if (s->fd < 0) return;
    }
    off += len;
  }
  memmove(s->in, s->in + off, s->in_len - off);
  s->in_len -= off;
  if (answered > 0 && latency) {
    s->outstanding = s->outstanding > answered ? s->outstanding - answered : 0;
    s->last_progress = now_ms();
    fill(s);
  }
}

static void start_connect(struct sw *s, const struct sockaddr_in *addr) {
  s->started = now_ms();
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) return lose(s, "socket", errno);
  /* cbench disables Nagle only in latency mode; in throughput mode full segments are the point. */
  int one = 1;
  if (latency) setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = s };
  s->want_out = 1;
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
  if (connect(s->fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS)
    lose(s, "connect", errno);
}

static void on_connected(struct sw *s) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) return lose(s, "connect", err);
  s->connected = 1;
  uint8_t *p = reserve(s, 8);
  header(p, OFPT_HELLO, 8, 1);
  flush(s);
}

static void snapshot(void) {
  static char line[64 * 1024];
  int n = snprintf(line, sizeof line, "{\"t\":%.3f,\"sw\":[", now_ms());
  for (int i = 0; i < n_sw && n < (int)sizeof line - 256; i++) {
    struct sw *s = &sws[i];
    n += snprintf(line + n, sizeof line - n, "%s[%llu,%llu,%llu,%llu,%.3f]", i ? "," : "",
                  (unsigned long long)s->responses, (unsigned long long)s->flow_mods,
                  (unsigned long long)s->sent, (unsigned long long)s->written_off, s->join_ms);
  }
  n += snprintf(line + n, sizeof line - n, "],\"lost\":[");
  for (int i = 0; i < n_sw && n < (int)sizeof line - 128; i++) {
    const char *l = sws[i].lost;
    n += snprintf(line + n, sizeof line - n, l ? "%s\"%s\"" : "%snull", i ? "," : "", l);
  }
  n += snprintf(line + n, sizeof line - n, "]}\n");
  fwrite(line, 1, n, stdout);
  fflush(stdout);
}

/* Returns 0 when told to quit. */
static int command(void) {
  static char buf[256];
  static size_t len;
  ssize_t n = read(0, buf + len, sizeof buf - 1 - len);
  if (n <= 0) return 0;
  len += n;
  char *nl;
  while ((nl = memchr(buf, '\n', len)) != NULL) {
    *nl = 0;
    if (strcmp(buf, "snap") == 0) snapshot();
    else if (strcmp(buf, "stop") == 0) stopped = 1;
    else if (strcmp(buf, "quit") == 0) return 0;
    len -= nl + 1 - buf;
    memmove(buf, nl + 1, len);
  }
  if (len == sizeof buf - 1) len = 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: fakeswitches HOST PORT SWITCHES MACS PORTS latency|throughput "
                    "GROUP GROUP_DELAY_MS\n");
    return 2;
  }
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "fakeswitches: bad IPv4 address %s\n", argv[1]);
    return 2;
  }
  n_sw = atoi(argv[3]);
  macs = atoi(argv[4]);
  ports = atoi(argv[5]);
  latency = strcmp(argv[6], "latency") == 0;
  int group = atoi(argv[7]), group_delay = atoi(argv[8]);
  if (n_sw < 1 || macs < 1 || ports < 1 || ports > 255 || group < 1 || group_delay < 0) {
    fprintf(stderr, "fakeswitches: bad arguments\n");
    return 2;
  }
  sws = calloc(n_sw, sizeof *sws);
  if (sws == NULL) return 1;
  /* PACKET_IN (buffer_id, total_len, in_port, reason) of an Ethernet/IPv4/UDP frame. */
  header(pi_template, OFPT_PACKET_IN, PI_LEN, 0);
  put16(pi_template + 12, FRAME_LEN);
  uint8_t *f = pi_template + 18;
  put16(f + 12, 0x0800);
  const uint8_t ip[20] = { 0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };
  memcpy(f + 14, ip, sizeof ip);
  const uint8_t udp[8] = { 0x13, 0x88, 0x00, 0x35, 0, 26, 0, 0 }; /* UDP 5000 -> 53 */
  memcpy(f + 34, udp, sizeof udp);

  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event in_ev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in_ev);
  for (int i = 0; i < n_sw; i++) {
    sws[i].fd = -1;
    sws[i].id = i + 1;
    sws[i].join_ms = -1;
  }
  int next = 0;
  double next_group = now_ms(), next_stall = now_ms() + STALL_MS;
  struct epoll_event evs[64];
  for (;;) {
    double t = now_ms();
    /* cbench's arrival pattern: GROUP switches at a time, GROUP_DELAY_MS apart. */
    while (next < n_sw && t >= next_group) {
      start_connect(&sws[next], &addr);
      next++;
      if (next % group == 0) next_group = t + group_delay;
    }
    if (latency && t >= next_stall) {
      /* A packet-in unanswered for STALL_MS is written off and the next one sent, so that a
       * controller that drops one cannot stop the switch for good. */
      for (int i = 0; i < n_sw; i++) {
        struct sw *s = &sws[i];
        if (!s->sending || stopped || s->outstanding == 0) continue;
        if (t - s->last_progress < STALL_MS) continue;
        s->written_off += s->outstanding;
        s->outstanding = 0;
        s->last_progress = t;
        fill(s);
      }
      next_stall = t + STALL_MS;
    }
    double until = next_stall;
    if (next < n_sw && next_group < until) until = next_group;
    int timeout = until > t ? (int)(until - t) + 1 : 0;
    int n = epoll_wait(ep, evs, 64, timeout);
    for (int i = 0; i < n; i++) {
      struct sw *s = evs[i].data.ptr;
      if (s == NULL) {
        if (!command()) return 0;
        continue;
      }
      if (s->fd < 0) continue;
      uint32_t e = evs[i].events;
      if (!s->connected) {
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(s);
        continue;
      }
      if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(s);
      if (s->fd >= 0 && (e & EPOLLOUT)) {
        flush(s);
        if (!latency) fill(s);
      }
    }
  }
}
