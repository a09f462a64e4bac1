/* AF_PACKET socket with a memory-mapped receive ring (TPACKET_V2) and batched sends.
 * Plain C, no Node: binding.c wraps it for JavaScript. */
#ifndef AFP_RING_H
#define AFP_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Per-frame flags written next to each received frame's length. */
#define AFP_RX_CSUM_PARTIAL 1 /* TP_STATUS_CSUMNOTREADY: L4 checksum holds the pseudo-header sum */
#define AFP_RX_VLAN 2         /* an 802.1Q tag taken off by the kernel was put back */
#define AFP_RX_LARGE 4        /* the frame is in the large buffer, not in its slot */
#define AFP_RX_TRUNCATED 8    /* the ring slot was too small and the frame could not be copied */
#define AFP_RX_CSUM_VALID 16  /* TP_STATUS_CSUM_VALID: the checksum was verified already */
#define AFP_RX_GSO 32         /* virtio-net header: a GSO frame (gso_type/gso_size in desc) */

/* Receive descriptor per frame: [length, flags, gso_type << 16 | gso_size,
 * csum_start << 16 | csum_offset, arrival]; the third and fourth are 0 without virtio-net
 * headers. arrival is the kernel's receive timestamp (CLOCK_REALTIME) in microseconds, modulo
 * 2^32: the transmit queue measures each frame's time in the switch from it. */
#define AFP_RX_DESC_WORDS 5

/* The socket's receive buffer: where frames larger than a slot wait whole (see open_socket). */
#define AFP_RCVBUF_BYTES (16 << 20)

struct afp_config {
  uint32_t ring_bytes;    /* total receive ring size */
  uint32_t frame_bytes;   /* ring slot size: a power of two, at least AFP_MIN_FRAME_BYTES */
  uint32_t block_bytes;   /* ring block size (0: derived); a multiple of frame_bytes and pages */
  int vnet_hdr;           /* ask for PACKET_VNET_HDR (kept off when the kernel refuses it) */
};

/* The smallest ring frame: the TPACKET2 header, the VLAN headroom (PACKET_RESERVE) and a
 * virtio-net header; frames that do not fit take the copy path. */
#define AFP_MIN_FRAME_BYTES 128
/* Bounds on what a ring may take: 1 GiB in all, 1 MiB per frame. */
#define AFP_MAX_RING_BYTES (1u << 30)
#define AFP_MAX_FRAME_BYTES (1u << 20)

struct afp_ring {
  int fd;
  /* sizeof(struct virtio_net_hdr) when PACKET_VNET_HDR is on, else 0: every received frame is
   * then described by one and every sent frame must start with one. */
  uint32_t vnet_len;
  uint8_t* map;
  size_t map_len;
  uint32_t block_bytes, block_nr, frame_bytes, frame_nr;
  /* Next frame index. */
  uint32_t cursor;
  /* Receive destinations: `slots` holds slot_count slots of slot_bytes; `large` is for
   * frames that do not fit a slot (it ends a batch). */
  uint8_t* slots;
  uint32_t slot_bytes, slot_count;
  uint8_t* large;
  uint32_t large_bytes;
  uint64_t drops; /* kernel ring drops (PACKET_STATISTICS), accumulated */
  uint64_t errors;
};

/* 0 when the ring geometry is usable, else -EINVAL with `what` saying why. The block size is
 * derived here when cfg->block_bytes is 0. */
int afp_check_config(struct afp_config* cfg, uint32_t page_bytes, const char** what);

/* Opens and binds the socket on `ifname`; returns 0 or -errno with `what` naming the step.
 * On failure nothing stays open (r->fd is -1, nothing is mapped). */
int afp_open(struct afp_ring* r, const char* ifname, const struct afp_config* cfg,
             const char** what);
void afp_close(struct afp_ring* r);

/* Moves up to slot_count ready frames into the slots (or one into `large`, which ends the
 * batch), writing AFP_RX_DESC_WORDS words per frame to desc. Returns the number of frames. */
uint32_t afp_receive_batch(struct afp_ring* r, int32_t* desc);

/* Reads (and clears) the kernel's drop counter into r->drops. */
void afp_poll_stats(struct afp_ring* r);

/* Reads and clears the socket's pending error (SO_ERROR): an errno, or 0. */
int afp_take_error(struct afp_ring* r);

#endif
