/* AF_PACKET ring walking. Why each option:
 *  - PACKET_IGNORE_OUTGOING (and a pkttype check where the kernel lacks it): a switch port
 *    must never see its own transmissions;
 *  - PACKET_RESERVE: 4 bytes of headroom before every frame so a VLAN tag the kernel moved
 *    into the ring header can be put back in the copy;
 *  - PACKET_COPY_THRESH (V2): a frame larger than a slot is queued whole on the socket too
 *    (TP_STATUS_COPY) and read with recv, instead of being truncated;
 *  - PACKET_QDISC_BYPASS: sends go straight to the driver, as a switch's would; but only
 *    without virtio-net headers: the bypass (__dev_direct_xmit) drops every skb that had to
 *    be segmented in software (ENOBUFS; e.g. a GSO frame to a device with TSO off), while
 *    dev_queue_xmit segments it (checked with a hand-made GSO frame on a veth);
 *  - PACKET_VNET_HDR (asked for, set before the ring as the kernel requires): a virtio_net_hdr
 *    precedes every frame, in the ring right before the MAC header and first in recv's data;
 *    it says which frames are GSO and which checksums are partial, and lets sends hand the
 *    kernel whole GSO frames with partial checksums, as a bridge passes them on;
 *  - the socket is bound only after the ring exists, so no frame is queued outside it. */
#include "ring.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <endian.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define VLAN_TAG_LEN 4
#define MAC_PAIR_LEN 12

static int fail(const char** what, const char* step) {
  int e = errno;
  *what = step;
  return -e;
}

static int set_int(int fd, int level, int opt, int v) {
  return setsockopt(fd, level, opt, &v, sizeof v);
}

static int is_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

_Static_assert(AFP_MIN_FRAME_BYTES >= TPACKET2_HDRLEN + VLAN_TAG_LEN + sizeof(struct virtio_net_hdr),
               "AFP_MIN_FRAME_BYTES must hold the ring frame's headers");

static int invalid(const char** what, const char* why) {
  *what = why;
  return -EINVAL;
}

int afp_check_config(struct afp_config* cfg, uint32_t page, const char** what) {
  if (!is_pow2(cfg->frame_bytes)) return invalid(what, "frameBytes is not a power of two");
  if (cfg->frame_bytes < AFP_MIN_FRAME_BYTES)
    return invalid(what, "frameBytes is smaller than the TPACKET2 header and its reserve");
  if (cfg->frame_bytes > AFP_MAX_FRAME_BYTES) return invalid(what, "frameBytes is above 1 MiB");
  if (cfg->ring_bytes > AFP_MAX_RING_BYTES) return invalid(what, "ringBytes is above 1 GiB");
  if (cfg->block_bytes == 0) {
    cfg->block_bytes = page * 16;
    while (cfg->block_bytes < cfg->frame_bytes) cfg->block_bytes <<= 1;
  }
  if (cfg->block_bytes % page) return invalid(what, "blockBytes is not a multiple of the page size");
  if (cfg->block_bytes % cfg->frame_bytes) return invalid(what, "frameBytes does not divide blockBytes");
  if (cfg->block_bytes > AFP_MAX_RING_BYTES / 2) return invalid(what, "blockBytes is above 512 MiB");
  return 0;
}

static int setup_ring(struct afp_ring* r, const struct afp_config* cfg, const char** what) {
  /* Refused by kernels without it (and for rings before 4.16): frames then go without. */
  r->vnet_len = 0;
  if (cfg->vnet_hdr && set_int(r->fd, SOL_PACKET, PACKET_VNET_HDR, 1) == 0)
    r->vnet_len = sizeof(struct virtio_net_hdr);
  if (set_int(r->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2))
    return fail(what, "PACKET_VERSION");
  if (set_int(r->fd, SOL_PACKET, PACKET_RESERVE, VLAN_TAG_LEN))
    return fail(what, "PACKET_RESERVE");
  struct tpacket_req req;
  r->frame_bytes = cfg->frame_bytes;
  r->block_bytes = cfg->block_bytes;
  r->block_nr = cfg->ring_bytes / r->block_bytes;
  if (r->block_nr < 2) r->block_nr = 2;
  r->frame_nr = (r->block_bytes / r->frame_bytes) * r->block_nr;
  req.tp_block_size = r->block_bytes;
  req.tp_block_nr = r->block_nr;
  req.tp_frame_size = r->frame_bytes;
  req.tp_frame_nr = r->frame_nr;
  if (setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req))
    return fail(what, "PACKET_RX_RING");
  if (set_int(r->fd, SOL_PACKET, PACKET_COPY_THRESH, 1)) return fail(what, "PACKET_COPY_THRESH");
  r->map_len = (size_t)r->block_bytes * r->block_nr;
  r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, 0);
  if (r->map == MAP_FAILED) {
    r->map = NULL;
    return fail(what, "mmap");
  }
  return 0;
}

static int open_socket(struct afp_ring* r, const char* ifname, const struct afp_config* cfg,
                       const char** what) {
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return fail(what, "if_nametoindex");
  /* Protocol 0: nothing is delivered before bind. */
  r->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (r->fd < 0) return fail(what, "socket(AF_PACKET)");
  int err = setup_ring(r, cfg, what);
  if (err) return err;
  /* Older kernels lack it; afp_receive_batch also drops PACKET_OUTGOING frames. */
  (void)set_int(r->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
  if (!r->vnet_len) (void)set_int(r->fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
  int buf = 4 << 20;
  if (setsockopt(r->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf))
    (void)setsockopt(r->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  /* The receive buffer holds only the frames larger than a slot (TP_STATUS_COPY: GSO and jumbo
   * frames), charged at their truesize (up to ~66 KiB each); when it is full the kernel
   * truncates them into the ring and they are dropped. 4 MiB truncated tens to hundreds of
   * frames per 5-s four-stream iperf3 with default offloads; 16 MiB none (docs/performance.md). */
  int rbuf = AFP_RCVBUF_BYTES;
  if (setsockopt(r->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rbuf, sizeof rbuf))
    (void)setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &rbuf, sizeof rbuf);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)ifindex;
  if (bind(r->fd, (struct sockaddr*)&sll, sizeof sll)) return fail(what, "bind");
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = (int)ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(r->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr))
    return fail(what, "PACKET_MR_PROMISC");
  return 0;
}

int afp_open(struct afp_ring* r, const char* ifname, const struct afp_config* cfg,
             const char** what) {
  r->fd = -1;
  r->map = NULL;
  r->cursor = 0;
  r->drops = 0;
  r->errors = 0;
  struct afp_config checked = *cfg;
  int err = afp_check_config(&checked, (uint32_t)sysconf(_SC_PAGESIZE), what);
  if (!err) err = open_socket(r, ifname, &checked, what);
  if (err) afp_close(r);
  return err;
}

void afp_close(struct afp_ring* r) {
  if (r->map) munmap(r->map, r->map_len);
  r->map = NULL;
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
}

/* One received frame as the ring header describes it. */
struct rx_frame {
  uint32_t status, len, snaplen, sec, nsec;
  uint16_t tci, tpid;
  uint8_t pkttype;
  uint8_t* mac;
  struct virtio_net_hdr vnet; /* zero without PACKET_VNET_HDR */
};

/* The kernel writes the header right before the MAC header of a ring frame. */
static void read_vnet(const struct afp_ring* r, struct rx_frame* f) {
  if (r->vnet_len)
    memcpy(&f->vnet, f->mac - r->vnet_len, sizeof f->vnet);
  else
    memset(&f->vnet, 0, sizeof f->vnet);
}

static inline uint32_t load_status(volatile uint32_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Finds the next ready frame without consuming it; 0 when the ring is empty. */
static int peek(struct afp_ring* r, struct rx_frame* f) {
  uint8_t* base = r->map + (size_t)r->cursor * r->frame_bytes;
  struct tpacket2_hdr* h = (struct tpacket2_hdr*)base;
  f->status = load_status(&h->tp_status);
  if (!(f->status & TP_STATUS_USER)) return 0;
  const struct sockaddr_ll* sll =
      (const struct sockaddr_ll*)(base + TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
  f->len = h->tp_len;
  f->snaplen = h->tp_snaplen;
  f->sec = h->tp_sec;
  f->nsec = h->tp_nsec;
  f->tci = h->tp_vlan_tci;
  f->tpid = h->tp_vlan_tpid;
  f->pkttype = sll->sll_pkttype;
  f->mac = base + h->tp_mac;
  read_vnet(r, f);
  return 1;
}

/* Returns the frame's slot to the kernel. */
static void consume(struct afp_ring* r) {
  struct tpacket2_hdr* h = (struct tpacket2_hdr*)(r->map + (size_t)r->cursor * r->frame_bytes);
  __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  r->cursor = (r->cursor + 1) % r->frame_nr;
}

/* Copies `n` frame bytes from src to dst, re-inserting the VLAN tag when there is one. */
static uint32_t place(uint8_t* dst, const uint8_t* src, uint32_t n, const struct rx_frame* f,
                      int tagged) {
  if (!tagged || n < MAC_PAIR_LEN) {
    memmove(dst, src, n);
    return n;
  }
  uint16_t tpid = (f->status & TP_STATUS_VLAN_TPID_VALID) && f->tpid ? f->tpid : ETH_P_8021Q;
  memmove(dst + MAC_PAIR_LEN + VLAN_TAG_LEN, src + MAC_PAIR_LEN, n - MAC_PAIR_LEN);
  memmove(dst, src, MAC_PAIR_LEN);
  dst[12] = tpid >> 8;
  dst[13] = tpid & 0xff;
  dst[14] = f->tci >> 8;
  dst[15] = f->tci & 0xff;
  return n + VLAN_TAG_LEN;
}

uint32_t afp_receive_batch(struct afp_ring* r, int32_t* desc) {
  uint32_t n = 0;
  struct rx_frame f;
  while (n < r->slot_count && r->map && peek(r, &f)) {
    if (f.pkttype == PACKET_OUTGOING) {
      consume(r);
      continue;
    }
    int tagged = (f.status & TP_STATUS_VLAN_VALID) || f.tci != 0;
    uint32_t extra = tagged ? VLAN_TAG_LEN : 0;
    int32_t flags = 0;
    uint32_t len;
    if (f.status & TP_STATUS_COPY) {
      /* The whole frame waits on the socket queue, in ring order, behind its own header. */
      struct iovec iov[2] = {{&f.vnet, r->vnet_len},
                             {r->large + VLAN_TAG_LEN, r->large_bytes - VLAN_TAG_LEN}};
      struct msghdr mh;
      memset(&mh, 0, sizeof mh);
      mh.msg_iov = r->vnet_len ? iov : iov + 1;
      mh.msg_iovlen = r->vnet_len ? 2 : 1;
      ssize_t got = recvmsg(r->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
      if (got >= (ssize_t)r->vnet_len) got -= r->vnet_len;
      if (got < 0 || (size_t)got > r->large_bytes - VLAN_TAG_LEN) {
        r->errors++;
        consume(r);
        continue;
      }
      len = place(r->large, r->large + VLAN_TAG_LEN, (uint32_t)got, &f, tagged);
      flags |= AFP_RX_LARGE;
    } else {
      if (f.snaplen < f.len) flags |= AFP_RX_TRUNCATED;
      if (f.snaplen + extra <= r->slot_bytes) {
        len = place(r->slots + (size_t)n * r->slot_bytes, f.mac, f.snaplen, &f, tagged);
      } else if (f.snaplen + extra <= r->large_bytes) {
        len = place(r->large, f.mac, f.snaplen, &f, tagged);
        flags |= AFP_RX_LARGE;
      } else {
        r->errors++;
        consume(r);
        continue;
      }
    }
    if (tagged) flags |= AFP_RX_VLAN;
    if (f.status & TP_STATUS_CSUMNOTREADY) flags |= AFP_RX_CSUM_PARTIAL;
    if (f.status & TP_STATUS_CSUM_VALID) flags |= AFP_RX_CSUM_VALID;
    const struct virtio_net_hdr* vh = &f.vnet;
    uint32_t csum = 0;
    if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      flags |= AFP_RX_CSUM_PARTIAL;
      /* csum_start counts from the MAC header as the kernel holds it, without the tag. */
      uint32_t start = le16toh(vh->csum_start) + extra;
      csum = (start << 16) | le16toh(vh->csum_offset);
    }
    if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID) flags |= AFP_RX_CSUM_VALID;
    if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) flags |= AFP_RX_GSO;
    consume(r);
    int32_t* d = desc + AFP_RX_DESC_WORDS * n;
    d[0] = (int32_t)len;
    d[1] = flags;
    d[2] = (int32_t)(((uint32_t)vh->gso_type << 16) | le16toh(vh->gso_size));
    d[3] = (int32_t)csum;
    d[4] = (int32_t)(uint32_t)((uint64_t)f.sec * 1000000u + f.nsec / 1000u);
    n++;
    if (flags & AFP_RX_LARGE) break; /* one large buffer per batch */
  }
  return n;
}

void afp_poll_stats(struct afp_ring* r) {
  if (r->fd < 0) return;
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  memset(&st, 0, sizeof st);
  if (getsockopt(r->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) r->drops += st.tp_drops;
}

int afp_take_error(struct afp_ring* r) {
  if (r->fd < 0) return EBADF;
  int soerr = 0;
  socklen_t elen = sizeof soerr;
  if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &soerr, &elen)) return errno;
  return soerr;
}
