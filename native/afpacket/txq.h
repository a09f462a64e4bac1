/* The transmit queue of an AF_PACKET port: a single-producer, single-consumer ring of frame
 * descriptors over a transmit area, both owned by JavaScript. The producer (the event-loop
 * thread) writes frames and descriptors and publishes them; the sender drains them with
 * sendmmsg, either a thread of its own (so that the kernel work a send carries, which on a veth
 * is the whole receive path of the peer's stack, runs beside the event loop on another core) or
 * the producer itself when it publishes (no thread). A CoDel queue discipline (RFC 8289) on the
 * frames' time in the switch (from the kernel's receive timestamp to this dequeue) drops TCP
 * segments at the head of the queue while that time stays above its target, so a TCP flow that
 * outruns the switch is told to slow down instead of building a standing queue (bufferbloat);
 * other frames (pings, DNS, ARP) pass, they are not what builds the queue. Frames of a flow
 * with nothing queued (a ping, a DNS query) are sent ahead of the queue (AFP_TX_SPARSE). */
#ifndef AFP_TXQ_H
#define AFP_TXQ_H

#include <pthread.h>
#include <stdint.h>

#include "ring.h"

/* Descriptor per frame: [offset, length, arrival, flags]. arrival: the microsecond clock of
 * AFP_RX_DESC_WORDS' arrival word, meaningful with AFP_TX_STAMPED in flags. The producer sets
 * AFP_TX_STAMPED; afp_txq_publish sets AFP_TX_SPARSE, the sender AFP_TX_SENT. */
#define AFP_TX_DESC_WORDS 4
#define AFP_TX_STAMPED 1
/* No earlier frame of the same flow (bucket) was in the queue when this one was published: the
 * sender sends it ahead of the queue's other flows (fq_codel's "new flows" first), so a ping or
 * a DNS query does not wait behind a bulk flow's standing queue. A flow's own frames keep their
 * order: a frame is sparse only when none of its flow is queued before it. */
#define AFP_TX_SPARSE 2
/* Sent ahead of its turn: the in-order pass skips it. */
#define AFP_TX_SENT 4
/* Flow buckets for the sparse test (a hash of addresses, protocol and ports). */
#define AFP_TX_FLOW_BUCKETS 1024

/* Counters the sender keeps, cumulative, as doubles (JavaScript reads them as a Float64Array):
 * frames sent and their bytes (virtio-net headers excluded), frames the socket refused for
 * want of buffer space (EAGAIN, ENOBUFS), frames that failed otherwise and the errno of the last
 * of those, frames CoDel dropped, sendmmsg calls. */
enum {
  AFP_TXS_PACKETS,
  AFP_TXS_BYTES,
  AFP_TXS_DROPPED,
  AFP_TXS_ERRORS,
  AFP_TXS_LAST_ERRNO,
  AFP_TXS_AQM_DROPS,
  AFP_TXS_CALLS,
  AFP_TXS_WORDS
};

/* Frames per sendmmsg call: a chunk's frames are released to the producer when it returns,
 * and a sparse frame published meanwhile waits for at most one chunk. */
#define AFP_TX_CHUNK 16
/* The producer may send published frames itself when the sender thread is idle, if they are
 * expected to take at most this long (ns): longer would hold up its event loop. */
#define AFP_TX_INLINE_NS 250000

struct afp_codel {
  uint32_t target_us, interval_us; /* target 0: no queue management */
  uint32_t first_above, drop_next; /* microsecond clock, modulo 2^32 */
  uint32_t count, lastcount;
  int above, dropping;
};

struct afp_txq {
  int fd;
  uint32_t vnet_len;
  const uint8_t* area;
  uint32_t area_bytes;
  int32_t* desc;
  uint32_t slots; /* descriptors in the ring */
  double* stats;  /* AFP_TXS_WORDS */
  uint32_t head;  /* frames published (producer writes, sender reads), modulo 2^32 */
  uint32_t tail;  /* frames done with (sender writes, producer reads) */
  /* Sender only: descriptors before this one were looked at for sparse frames. */
  uint32_t scanned;
  /* Producer only: one more than the sequence number of each flow bucket's last published
   * frame (0: none yet). */
  uint32_t flow_last[AFP_TX_FLOW_BUCKETS];
  struct afp_codel codel;
  /* Moving average of the time sendmmsg takes per frame (ns). */
  uint32_t send_ns;
  struct mmsghdr msgs[AFP_TX_CHUNK];
  struct iovec iovs[AFP_TX_CHUNK];
  /* The sender thread, when there is one. */
  int threaded;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int waiting, stop;
  /* Called by the sender thread each time it has emptied the queue (then waits for more). */
  void (*on_idle)(void* arg);
  void* idle_arg;
};

/* Sets the queue up over JavaScript's buffers (no thread yet). */
void afp_txq_init(struct afp_txq* q, int fd, uint32_t vnet_len, const uint8_t* area,
                  uint32_t area_bytes, int32_t* desc, uint32_t slots, double* stats,
                  uint32_t target_us, uint32_t interval_us);

/* Starts the sender thread; 0 or an errno (the queue then drains in afp_txq_publish). */
int afp_txq_start(struct afp_txq* q, void (*on_idle)(void*), void* arg);

/* Publishes descriptors up to `head` and returns the tail: with a thread, wakes it, or, when
 * `may_inline` (the caller has time to spare), the thread is idle and sending them is expected
 * to take at most AFP_TX_INLINE_NS, sends them itself; without a thread, sends everything
 * first. Either way of sending here returns tail == head. */
uint32_t afp_txq_publish(struct afp_txq* q, uint32_t head, int may_inline);

uint32_t afp_txq_tail(const struct afp_txq* q);

/* Waits until the tail moves past `tail` (the sender freed room) or `timeout_us` passed;
 * returns the tail. Without a thread there is nothing to wait for. */
uint32_t afp_txq_wait(const struct afp_txq* q, uint32_t tail, uint32_t timeout_us);

/* Sends what is published, then stops and joins the thread (if any). */
void afp_txq_stop(struct afp_txq* q);

#endif
