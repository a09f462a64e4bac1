/* Transmit queue: see txq.h. Memory ordering: the producer writes frames and descriptors,
 * then stores head with release semantics; the sender loads head with acquire semantics, reads
 * them, and stores tail with release once it is done with a chunk, after which the producer may
 * overwrite those bytes. The counters have a single writer (whoever sends) and are read
 * without a lock: each is one aligned 8-byte store. */
#include "txq.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static uint32_t load_acquire(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store_release(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* CLOCK_REALTIME in microseconds modulo 2^32, the clock of the kernel's ring timestamps. */
static uint32_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

/* a is at or after b on the wrapping microsecond clock. */
static int at_or_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

static uint32_t control_law(const struct afp_codel* c, uint32_t t) {
  return t + (uint32_t)((double)c->interval_us / sqrt((double)c->count));
}

/* RFC 8289, dodequeue: has the sojourn time stayed above target for an interval? Never while
 * the queue is (nearly) empty: `more` is false for a frame sent alone. */
static int ok_to_drop(struct afp_codel* c, uint32_t sojourn, uint32_t now, int more) {
  if (sojourn < c->target_us || !more) {
    c->above = 0;
    return 0;
  }
  if (!c->above) {
    c->above = 1;
    c->first_above = now + c->interval_us;
    return 0;
  }
  return at_or_after(now, c->first_above);
}

/* RFC 8289, dequeue: whether to drop the frame at the head. Evaluated per frame, so a drop
 * schedule that fell behind catches up over the following frames. */
static int codel_drop(struct afp_codel* c, uint32_t sojourn, uint32_t now, int more) {
  int okd = ok_to_drop(c, sojourn, now, more);
  if (c->dropping) {
    if (!okd) {
      c->dropping = 0;
      return 0;
    }
    if (!at_or_after(now, c->drop_next)) return 0;
    c->count++;
    c->drop_next = control_law(c, c->drop_next);
    return 1;
  }
  if (!okd) return 0;
  c->dropping = 1;
  /* Dropping again soon after the last episode: resume near its drop rate. */
  uint32_t delta = c->count - c->lastcount;
  int recent = (int32_t)(now - c->drop_next) < (int32_t)(16 * c->interval_us);
  c->count = delta > 1 && recent ? delta : 1;
  c->drop_next = control_law(c, now);
  c->lastcount = c->count;
  return 1;
}

/* Where a frame's network header starts (after one 802.1Q/802.1ad tag, if any) and its
 * EtherType in *type; -1 for a frame shorter than an Ethernet header. A tagged frame too short
 * for its tag keeps the tag's TPID as its type, so it is taken for neither IPv4 nor IPv6. */
static int64_t l3_of(const uint8_t* f, int64_t len, uint16_t* type) {
  if (len < 14) return -1;
  *type = (uint16_t)(f[12] << 8 | f[13]);
  if ((*type == 0x8100 || *type == 0x88a8) && len >= 18) {
    *type = (uint16_t)(f[16] << 8 | f[17]);
    return 18;
  }
  return 14;
}

/* Whether a frame (from its Ethernet header) is a TCP segment: the frames CoDel may drop. A
 * TCP sender answers a drop by slowing down, which is what drains a standing queue; a ping, a
 * DNS query or an ARP request dropped would only be lost, the queue no shorter. */
static int is_tcp(const uint8_t* f, int64_t len) {
  uint16_t type = 0;
  int64_t l3 = l3_of(f, len, &type);
  if (l3 < 0) return 0;
  if (type == 0x0800) return len >= l3 + 20 && f[l3 + 9] == 6;
  if (type == 0x86dd) return len >= l3 + 40 && f[l3 + 6] == 6;
  return 0;
}

/* FNV-1a over n bytes. */
static uint32_t mix(uint32_t h, const uint8_t* p, int n) {
  for (int i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* A frame's flow bucket: its IP addresses, protocol and TCP/UDP/SCTP ports, or, for other
 * frames, its MAC addresses and EtherType. */
static uint32_t flow_bucket(const uint8_t* f, int64_t len) {
  uint32_t h = 2166136261u;
  uint16_t type = 0;
  int64_t l3 = l3_of(f, len, &type);
  if (l3 < 0) return 0;
  int64_t l4 = -1;
  uint8_t proto = 0;
  if (type == 0x0800 && len >= l3 + 20) {
    proto = f[l3 + 9];
    h = mix(h, f + l3 + 12, 8);
    /* Not a later fragment: those carry no ports. */
    if ((((f[l3 + 6] & 0x1f) << 8) | f[l3 + 7]) == 0) l4 = l3 + (f[l3] & 0xf) * 4;
  } else if (type == 0x86dd && len >= l3 + 40) {
    proto = f[l3 + 6];
    h = mix(h, f + l3 + 8, 32);
    l4 = l3 + 40;
  } else {
    h = mix(h, f, 12);
  }
  h = mix(h, &proto, 1);
  h = mix(h, f + 12, 2);
  if (l4 >= 0 && (proto == 6 || proto == 17 || proto == 132) && len >= l4 + 4)
    h = mix(h, f + l4, 4);
  return h % AFP_TX_FLOW_BUCKETS;
}

/* The frame a descriptor names (past its virtio-net header), with its length in *len, or NULL
 * when the descriptor does not lie inside the transmit area or is shorter than an Ethernet
 * header. The descriptor lives in JavaScript's memory and may change under the sender thread:
 * each word is read once, and only what was checked is used. */
static const uint8_t* frame_of(const struct afp_txq* q, const int32_t* d, int64_t* len) {
  int64_t off = __atomic_load_n(&d[0], __ATOMIC_RELAXED);
  int64_t size = __atomic_load_n(&d[1], __ATOMIC_RELAXED);
  *len = size - q->vnet_len;
  if (off < 0 || *len < 14 || off + size > q->area_bytes) return NULL;
  return q->area + off + q->vnet_len;
}

/* Marks the descriptors from q->head to head sparse when no frame of their flow bucket is
 * still queued before them (published and not yet released as of `tail`). */
static void classify(struct afp_txq* q, uint32_t head, uint32_t tail) {
  for (uint32_t s = q->head; s != head; s++) {
    int32_t* d = q->desc + AFP_TX_DESC_WORDS * (s % q->slots);
    d[3] &= AFP_TX_STAMPED;
    int64_t len;
    const uint8_t* f = frame_of(q, d, &len);
    if (!f) continue;
    uint32_t b = flow_bucket(f, len);
    /* flow_last holds the sequence number plus one: 0 is a bucket never used. */
    uint32_t last = q->flow_last[b];
    if (last == 0 || (uint32_t)(last - 1 - tail) >= (uint32_t)(s - tail)) d[3] |= AFP_TX_SPARSE;
    q->flow_last[b] = s + 1;
  }
}

void afp_txq_init(struct afp_txq* q, int fd, uint32_t vnet_len, const uint8_t* area,
                  uint32_t area_bytes, int32_t* desc, uint32_t slots, double* stats,
                  uint32_t target_us, uint32_t interval_us) {
  memset(q, 0, sizeof *q);
  q->fd = fd;
  q->vnet_len = vnet_len;
  q->area = area;
  q->area_bytes = area_bytes;
  q->desc = desc;
  q->slots = slots;
  q->stats = stats;
  q->codel.target_us = target_us;
  q->codel.interval_us = interval_us;
  q->send_ns = 2000; /* a guess until frames are sent */
}

/* Adds the frame of descriptor d to the chunk being built (at *m), or counts it as an error
 * when it is malformed. */
static void add_frame(struct afp_txq* q, const int32_t* d, uint32_t* m, size_t* bytes) {
  int64_t len;
  const uint8_t* f = frame_of(q, d, &len);
  if (!f) {
    q->stats[AFP_TXS_ERRORS] += 1;
    q->stats[AFP_TXS_LAST_ERRNO] = EINVAL;
    return;
  }
  /* From what frame_of checked, not from the descriptor again (it may have changed). */
  q->iovs[*m].iov_base = (void*)(f - q->vnet_len);
  q->iovs[*m].iov_len = (size_t)len + q->vnet_len;
  memset(&q->msgs[*m], 0, sizeof q->msgs[*m]);
  q->msgs[*m].msg_hdr.msg_iov = &q->iovs[*m];
  q->msgs[*m].msg_hdr.msg_iovlen = 1;
  bytes[(*m)++] = (size_t)len;
}

/* Sends the m frames of the chunk built in q->msgs, counting them. */
static void send_msgs(struct afp_txq* q, uint32_t m, const size_t* bytes) {
  if (m == 0) return;
  double* st = q->stats;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint32_t i = 0;
  while (i < m) {
    int k = sendmmsg(q->fd, q->msgs + i, m - i, MSG_DONTWAIT);
    st[AFP_TXS_CALLS] += 1;
    if (k > 0) {
      double b = 0;
      for (int j = 0; j < k; j++) b += (double)bytes[i + j];
      st[AFP_TXS_PACKETS] += k;
      st[AFP_TXS_BYTES] += b;
      i += (uint32_t)k;
      continue;
    }
    int err = k < 0 ? errno : EIO;
    if (err == EINTR) continue;
    /* The frame at i failed (full socket buffer, link down, too long): skip it. */
    if (err == EAGAIN || err == ENOBUFS) {
      st[AFP_TXS_DROPPED] += 1;
    } else {
      st[AFP_TXS_ERRORS] += 1;
      st[AFP_TXS_LAST_ERRNO] = err;
    }
    i++;
  }
  /* Moving average of the time a frame takes to send, for afp_txq_publish's choice. */
  clock_gettime(CLOCK_MONOTONIC, &t1);
  int64_t ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
  uint32_t per = (uint32_t)(ns / m);
  uint32_t old = __atomic_load_n(&q->send_ns, __ATOMIC_RELAXED);
  __atomic_store_n(&q->send_ns, old - old / 8 + per / 8, __ATOMIC_RELAXED);
}

/* Sends the sparse frames published between `tail` and `head` that were not sent yet, ahead
 * of the frames before them (up to one chunk; the rest at the next call). */
static void send_sparse(struct afp_txq* q, uint32_t tail, uint32_t head) {
  uint32_t from = q->scanned;
  if ((uint32_t)(from - tail) > (uint32_t)(head - tail)) from = tail;
  uint32_t m = 0;
  size_t bytes[AFP_TX_CHUNK];
  for (; from != head && m < AFP_TX_CHUNK; from++) {
    int32_t* d = q->desc + AFP_TX_DESC_WORDS * (from % q->slots);
    if ((d[3] & (AFP_TX_SPARSE | AFP_TX_SENT)) != AFP_TX_SPARSE) continue;
    d[3] |= AFP_TX_SENT;
    add_frame(q, d, &m, bytes);
  }
  q->scanned = from;
  send_msgs(q, m, bytes);
}

/* Sends up to one chunk from `tail` (not past `head` nor the end of the descriptor ring),
 * skipping frames sent ahead; returns how many descriptors it consumed. */
static uint32_t send_chunk(struct afp_txq* q, uint32_t tail, uint32_t head) {
  uint32_t first = tail % q->slots;
  uint32_t n = head - tail;
  if (n > AFP_TX_CHUNK) n = AFP_TX_CHUNK;
  if (n > q->slots - first) n = q->slots - first;
  struct afp_codel* c = &q->codel;
  uint32_t now = c->target_us ? now_us() : 0;
  uint32_t m = 0;
  size_t bytes[AFP_TX_CHUNK];
  for (uint32_t k = 0; k < n; k++) {
    const int32_t* d = q->desc + AFP_TX_DESC_WORDS * (first + k);
    if (d[3] & AFP_TX_SENT) continue;
    int64_t len;
    const uint8_t* f = c->target_us && (d[3] & AFP_TX_STAMPED) ? frame_of(q, d, &len) : NULL;
    if (f && is_tcp(f, len)) {
      uint32_t sojourn = now - (uint32_t)d[2];
      if ((int32_t)sojourn < 0) sojourn = 0; /* the clock stepped back */
      /* The queue is the input rings and this one; a frame handed over alone stands for an
       * empty one (the RFC's "bytes() <= maxpacket"). */
      if (codel_drop(c, sojourn, now, n > 1)) {
        q->stats[AFP_TXS_AQM_DROPS] += 1;
        continue;
      }
    }
    add_frame(q, d, &m, bytes);
  }
  send_msgs(q, m, bytes);
  return n;
}

/* Sends everything published (up to `head`, and what is published meanwhile), releasing
 * each chunk as it goes; sparse frames first. */
static void drain(struct afp_txq* q, uint32_t head) {
  uint32_t tail = q->tail;
  while (tail != head) {
    send_sparse(q, tail, head);
    tail += send_chunk(q, tail, head);
    store_release(&q->tail, tail);
    head = load_acquire(&q->head);
  }
}

/* How long the sender waits for more before it tells the loop it ran out of frames. */
#define IDLE_REPORT_NS 1000000

static void* sender_main(void* arg) {
  struct afp_txq* q = arg;
  /* Signals are the event loop's business. */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  int sent = 0;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    uint32_t head = load_acquire(&q->head);
    if (head == q->tail) {
      if (q->stop) break;
      q->waiting = 1;
      if (!sent || !q->on_idle) {
        pthread_cond_wait(&q->cv, &q->mu);
      } else {
        /* Counters reach the port at every hand-over; once the frames stop, the loop is told
         * (after a pause, so that steady traffic does not wake it for nothing). */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += IDLE_REPORT_NS;
        if (until.tv_nsec >= 1000000000) {
          until.tv_sec++;
          until.tv_nsec -= 1000000000;
        }
        if (pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT &&
            load_acquire(&q->head) == q->tail && q->on_idle) {
          sent = 0;
          q->waiting = 0;
          pthread_mutex_unlock(&q->mu);
          q->on_idle(q->idle_arg);
          pthread_mutex_lock(&q->mu);
          continue;
        }
      }
      q->waiting = 0;
      continue;
    }
    pthread_mutex_unlock(&q->mu);
    drain(q, head);
    sent = 1;
    pthread_mutex_lock(&q->mu);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

int afp_txq_start(struct afp_txq* q, void (*on_idle)(void*), void* arg) {
  q->on_idle = on_idle;
  q->idle_arg = arg;
  if (pthread_mutex_init(&q->mu, NULL)) return EAGAIN;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int cerr = pthread_cond_init(&q->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (cerr) {
    pthread_mutex_destroy(&q->mu);
    return EAGAIN;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 << 10);
  int err = pthread_create(&q->thread, &attr, sender_main, q);
  pthread_attr_destroy(&attr);
  if (err) {
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    return err;
  }
  pthread_setname_np(q->thread, "afpacket-tx");
  q->threaded = 1;
  return 0;
}

uint32_t afp_txq_publish(struct afp_txq* q, uint32_t head, int may_inline) {
  if (q->threaded) classify(q, head, load_acquire(&q->tail));
  store_release(&q->head, head);
  if (!q->threaded) {
    drain(q, head);
    return head;
  }
  pthread_mutex_lock(&q->mu);
  uint32_t cost = __atomic_load_n(&q->send_ns, __ATOMIC_RELAXED);
  if (q->waiting && may_inline && (uint64_t)(head - q->tail) * cost <= AFP_TX_INLINE_NS) {
    /* The sender sleeps and the caller has time to spare: send them here, sparing a thread
     * wake-up (the hand-over costs CPU on both sides; frames that do not need a second core
     * are cheaper sent by the first). The sender cannot look at the queue before the lock is
     * released, and then finds it empty. */
    drain(q, head);
  } else if (q->waiting) {
    pthread_cond_signal(&q->cv);
  }
  pthread_mutex_unlock(&q->mu);
  return load_acquire(&q->tail);
}

uint32_t afp_txq_tail(const struct afp_txq* q) { return load_acquire(&q->tail); }

uint32_t afp_txq_wait(const struct afp_txq* q, uint32_t tail, uint32_t timeout_us) {
  uint32_t start = now_us();
  uint32_t t;
  /* The sender is busy with what was published: it frees a chunk within a few hundred
   * microseconds. Poll rather than add a second wake-up protocol for this rare case. */
  const struct timespec nap = {0, 20000};
  while ((t = load_acquire(&q->tail)) == tail && q->threaded && now_us() - start < timeout_us)
    nanosleep(&nap, NULL);
  return t;
}

void afp_txq_stop(struct afp_txq* q) {
  if (!q->threaded) {
    drain(q, q->head);
    return;
  }
  pthread_mutex_lock(&q->mu);
  q->stop = 1;
  q->on_idle = NULL;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  pthread_join(q->thread, NULL);
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->mu);
  q->threaded = 0;
}
