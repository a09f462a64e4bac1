/* Node-API binding for ring.c and txq.c. The socket is watched with a uv_poll on the loop Node
 * runs; each wake-up takes one batch from the ring, one JavaScript call per batch, never
 * spinning. Sends go through the port's transmit queue (txq.h), drained by a thread of its own
 * or, without one, when JavaScript publishes. All buffers are allocated by JavaScript once per
 * port and only read or written here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define NAPI_VERSION 8
#include <node_api.h>

#include "ring.h"
#include "txq.h"

/* Batches per wake-up before yielding to the event loop: one, so that ports take turns a batch
 * at a time (a port that always has frames must not hold back the frames, e.g. the TCP ACKs,
 * that wait on another), and the loop's other work comes between batches. */
#define DEFAULT_BATCHES_PER_WAKEUP 1

#define KEEP_COUNT 6

struct port {
  struct afp_ring ring;
  napi_env env;
  uv_poll_t poll;
  uv_async_t tx_idle; /* the sender thread emptied the queue */
  struct afp_txq txq;
  napi_ref on_batch;
  napi_ref on_error;
  napi_ref on_tx_idle;
  /* slots, rx desc, large, tx area, tx desc, tx stats: alive while the port is */
  napi_ref keep[KEEP_COUNT];
  /* The blocks (alloc) under those buffers: not freed while the port is open. */
  struct block* held[KEEP_COUNT];
  napi_async_context async;
  int32_t* rx_desc;
  uint32_t batches_per_wakeup;
  int open;
  int poll_started;
  int failed;        /* a socket error stopped the poll (the errno); the port is dead */
  uint64_t err_since; /* start of the current second of ENETDOWN reports (uv_now) */
  uint32_t err_count; /* ENETDOWN reports in that second */
  int handles_open; /* libuv handles not closed yet (their memory is in this struct) */
  int finalized;     /* the JavaScript handle was collected */
};

#define CHECK(env, call)                                      \
  do {                                                        \
    if ((call) != napi_ok) {                                  \
      napi_throw_error((env), NULL, "afpacket: " #call);      \
      return NULL;                                            \
    }                                                         \
  } while (0)

/* Memory the addon hands out (alloc) and the only memory open() takes for a port's buffers.
 * JavaScript can detach an ArrayBuffer (structuredClone with transfer) and let its memory be
 * freed while a port still reads and writes it, from the loop and from the sender thread; a
 * block is freed only when JavaScript's last view of it is collected AND no open port uses it.
 * Blocks are looked up, counted and freed on the loop thread only (Node runs the finalizers of
 * external buffers there). */
struct block {
  struct block* next;
  uint8_t* data;
  size_t size;
  uint32_t refs; /* one for JavaScript's ArrayBuffer, one per open port using it */
};

static struct block* blocks;

/* The block that holds [data, data + len), or NULL. */
static struct block* block_of(const void* data, size_t len) {
  const uint8_t* d = data;
  for (struct block* b = blocks; b; b = b->next)
    if (d >= b->data && len <= b->size && (size_t)(d - b->data) <= b->size - len) return b;
  return NULL;
}

static void block_unref(struct block* b) {
  if (--b->refs) return;
  struct block** at = &blocks;
  while (*at != b) at = &(*at)->next;
  *at = b->next;
  free(b->data);
  free(b);
}

static void block_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  block_unref(hint);
}

/* Marks handles made by open(), so that no other external is taken for a port. */
static const napi_type_tag PORT_TAG = {0x6f66737769746368ULL, 0x6166706b74763221ULL};

static void maybe_free(struct port* p) {
  if (p->handles_open == 0 && p->finalized) free(p);
}

static void on_handle_closed(uv_handle_t* h) {
  struct port* p = h->data;
  p->handles_open--;
  maybe_free(p);
}

static void release(struct port* p) {
  if (!p->open) return;
  p->open = 0;
  /* What was published goes out first; the sender thread (if any) has stopped on return. */
  afp_txq_stop(&p->txq);
  /* uv_close stops watching synchronously; only its callback is deferred. */
  if (p->poll_started) uv_close((uv_handle_t*)&p->poll, on_handle_closed);
  if (p->tx_idle.data) uv_close((uv_handle_t*)&p->tx_idle, on_handle_closed);
  afp_close(&p->ring);
  napi_delete_reference(p->env, p->on_batch);
  napi_delete_reference(p->env, p->on_error);
  napi_delete_reference(p->env, p->on_tx_idle);
  for (int i = 0; i < KEEP_COUNT; i++) {
    napi_delete_reference(p->env, p->keep[i]);
    if (p->held[i]) block_unref(p->held[i]);
    p->held[i] = NULL;
  }
  napi_async_destroy(p->env, p->async);
}

static void finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  struct port* p = data;
  release(p);
  p->finalized = 1;
  maybe_free(p);
}

static void call_js(struct port* p, napi_ref ref, uint32_t a0, uint32_t a1, size_t argc) {
  napi_env env = p->env;
  napi_value fn, recv, args[2], result;
  napi_get_reference_value(env, ref, &fn);
  napi_get_global(env, &recv); /* make_callback wants an object receiver */
  napi_create_uint32(env, a0, &args[0]);
  napi_create_uint32(env, a1, &args[1]);
  if (napi_make_callback(env, p->async, recv, fn, argc, args, &result) != napi_ok) {
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

/* Most ENETDOWN reports per second before the socket is given up (a guard against a
 * condition that keeps raising POLLERR; an interface going down raises it once). */
#define MAX_ENETDOWN_PER_SECOND 100

static void on_readable(uv_poll_t* h, int status, int events);

/* libuv stopped watching the fd (POLLERR). The kernel raises ENETDOWN on the socket when its
 * interface goes down, and re-attaches the socket by itself when the interface comes up again
 * (same ifindex): the error is cleared and the poll re-armed, so frames flow again the moment
 * the interface is up. Any other error, or a re-arm that fails, leaves the socket dead until
 * JavaScript reopens the port. onError(errno, recovered) says which. */
static void on_socket_error(struct port* p) {
  int err = afp_take_error(&p->ring);
  if (!err) err = EIO;
  int recovered = 0;
  if (err == ENETDOWN) {
    uint64_t now = uv_now(p->poll.loop);
    if (now - p->err_since >= 1000) {
      p->err_since = now;
      p->err_count = 0;
    }
    recovered = ++p->err_count <= MAX_ENETDOWN_PER_SECOND &&
                uv_poll_start(&p->poll, UV_READABLE, on_readable) == 0;
  }
  if (!recovered) p->failed = err;
  napi_handle_scope scope;
  if (napi_open_handle_scope(p->env, &scope) != napi_ok) return;
  call_js(p, p->on_error, (uint32_t)err, (uint32_t)recovered, 2);
  napi_close_handle_scope(p->env, scope);
}

static void on_readable(uv_poll_t* h, int status, int events) {
  (void)events;
  struct port* p = h->data;
  if (!p->open || p->failed) return;
  if (status < 0) {
    on_socket_error(p);
    return;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(p->env, &scope) != napi_ok) return;
  for (uint32_t b = 0; b < p->batches_per_wakeup && p->open; b++) {
    uint32_t n = afp_receive_batch(&p->ring, p->rx_desc);
    if (n == 0) break;
    call_js(p, p->on_batch, n, 0, 1);
  }
  napi_close_handle_scope(p->env, scope);
}

/* On the loop thread: the sender thread emptied the queue; JavaScript folds its counters. */
static void on_tx_idle(uv_async_t* h) {
  struct port* p = h->data;
  if (!p->open) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(p->env, &scope) != napi_ok) return;
  call_js(p, p->on_tx_idle, 0, 0, 0);
  napi_close_handle_scope(p->env, scope);
}

/* On the sender thread. */
static void signal_tx_idle(void* arg) {
  struct port* p = arg;
  uv_async_send(&p->tx_idle);
}

/* A whole number from 0 to 2^32 - 1 (napi_get_value_uint32 would wrap -1 and truncate 1.5). */
static int to_u32(napi_env env, napi_value v, uint32_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 4294967295.0) ||
      d != (double)(uint32_t)d)
    return -1;
  *out = (uint32_t)d;
  return 0;
}

static int get_u32(napi_env env, napi_value obj, const char* key, uint32_t* out) {
  napi_value v;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return -1;
  return to_u32(env, v, out);
}

/* The bytes of a typed array of exactly `want` (Uint8Array/Buffer, Int32Array or
 * Float64Array), or NULL. */
static void* data_of(napi_env env, napi_value v, napi_typedarray_type want, size_t* len) {
  bool is_typed = false;
  void* data = NULL;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return NULL;
  napi_typedarray_type type;
  size_t n;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &n, &data, &ab, &off) != napi_ok) return NULL;
  if (type != want || data == NULL) return NULL;
  *len = n * (type == napi_int32_array ? 4 : type == napi_float64_array ? 8 : 1);
  return data;
}

static napi_value throw_errno(napi_env env, const char* ifname, const char* what, int err) {
  char msg[200];
  snprintf(msg, sizeof msg, "afpacket %s: %s: %s", ifname, what, strerror(err));
  napi_value code, text, error, num;
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_int32(env, err, &num);
  napi_create_error(env, NULL, text, &error);
  napi_set_named_property(env, error, "reason", code);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

static napi_value type_error(napi_env env, const char* msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* Reads config[key] when present (`fallback` otherwise); -1 when it is not a uint32. */
static int get_optional_u32(napi_env env, napi_value cfg, const char* key, uint32_t fallback,
                            uint32_t* out) {
  bool has = false;
  *out = fallback;
  if (napi_has_named_property(env, cfg, key, &has) != napi_ok) return -1;
  return has ? get_u32(env, cfg, key, out) : 0;
}

/* Transmit options: the sender thread, CoDel's target and interval, batches per wake-up. */
struct tx_config {
  uint32_t thread, target_us, interval_us, batches;
};

#define ARGC 12

/* open(ifname, config, slots, slotBytes, rxDesc, large, txArea, txDesc, txStats, onBatch,
 * onError, onTxIdle): every argument is checked before anything is opened; once the socket
 * exists, every failure path closes it. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = ARGC;
  napi_value a[ARGC];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < ARGC) return type_error(env, "afpacket.open: 12 arguments expected");
  char ifname[IF_NAMESIZE + 1];
  size_t iflen = 0;
  if (napi_get_value_string_utf8(env, a[0], ifname, sizeof ifname, &iflen) != napi_ok ||
      iflen == 0 || iflen >= IF_NAMESIZE)
    return type_error(env, "afpacket.open: bad interface name");
  struct afp_config cfg;
  memset(&cfg, 0, sizeof cfg);
  uint32_t vnet = 0;
  struct tx_config tx;
  if (get_u32(env, a[1], "ringBytes", &cfg.ring_bytes) ||
      get_u32(env, a[1], "frameBytes", &cfg.frame_bytes) ||
      get_u32(env, a[1], "vnetHdr", &vnet) ||
      get_optional_u32(env, a[1], "blockBytes", 0, &cfg.block_bytes) ||
      get_optional_u32(env, a[1], "txThread", 0, &tx.thread) ||
      get_optional_u32(env, a[1], "aqmTargetUs", 0, &tx.target_us) ||
      get_optional_u32(env, a[1], "aqmIntervalUs", 0, &tx.interval_us) ||
      get_optional_u32(env, a[1], "batchesPerWakeup", DEFAULT_BATCHES_PER_WAKEUP, &tx.batches) ||
      tx.batches == 0 || tx.batches > 1024 || (tx.target_us && tx.interval_us < tx.target_us) ||
      tx.interval_us > 10000000)
    return type_error(env, "afpacket.open: bad config");
  cfg.vnet_hdr = vnet != 0;
  const char* what = "";
  if (afp_check_config(&cfg, (uint32_t)sysconf(_SC_PAGESIZE), &what))
    return throw_errno(env, ifname, what, EINVAL);
  uint32_t slot_bytes = 0;
  if (to_u32(env, a[3], &slot_bytes))
    return type_error(env, "afpacket.open: bad slotBytes");
  size_t slots_len = 0, rxd_len = 0, large_len = 0, txa_len = 0, txd_len = 0, txs_len = 0;
  uint8_t* slots = data_of(env, a[2], napi_uint8_array, &slots_len);
  int32_t* rx_desc = data_of(env, a[4], napi_int32_array, &rxd_len);
  uint8_t* large = data_of(env, a[5], napi_uint8_array, &large_len);
  uint8_t* tx_area = data_of(env, a[6], napi_uint8_array, &txa_len);
  int32_t* tx_desc = data_of(env, a[7], napi_int32_array, &txd_len);
  double* tx_stats = data_of(env, a[8], napi_float64_array, &txs_len);
  if (!slots || !rx_desc || !large || !tx_area || !tx_desc || !tx_stats)
    return type_error(env,
                      "afpacket.open: buffers must be Buffers, descriptors Int32Arrays, "
                      "txStats a Float64Array");
  struct block* held[KEEP_COUNT] = {
      block_of(slots, slots_len),     block_of(rx_desc, rxd_len),  block_of(large, large_len),
      block_of(tx_area, txa_len),     block_of(tx_desc, txd_len),  block_of(tx_stats, txs_len)};
  for (int i = 0; i < KEEP_COUNT; i++)
    if (!held[i])
      return type_error(env, "afpacket.open: buffers must be views of afpacket.alloc memory");
  for (int i = 9; i < ARGC; i++) {
    napi_valuetype t;
    if (napi_typeof(env, a[i], &t) != napi_ok || t != napi_function)
      return type_error(env, "afpacket.open: onBatch, onError and onTxIdle must be functions");
  }
  const size_t tx_desc_bytes = 4 * AFP_TX_DESC_WORDS;
  /* A slot holds at least a minimal tagged frame; the large buffer more than a slot. */
  if (slot_bytes < 64 || slot_bytes > (1u << 20) || slots_len < slot_bytes ||
      slots_len / slot_bytes > (1u << 16) ||
      rxd_len < AFP_RX_DESC_WORDS * 4 * (slots_len / slot_bytes) ||
      large_len <= (size_t)slot_bytes + 4 || large_len > (1u << 24) || txa_len < 64 ||
      txa_len > (1u << 30) || txd_len < tx_desc_bytes || txd_len % tx_desc_bytes != 0 ||
      txd_len / tx_desc_bytes > (1u << 16) || txs_len != 8 * AFP_TXS_WORDS)
    return type_error(env, "afpacket.open: bad buffer sizes");
  struct port* p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, ifname, "calloc", ENOMEM);
  p->env = env;
  p->ring.fd = -1;
  p->ring.slots = slots;
  p->ring.slot_bytes = slot_bytes;
  p->ring.slot_count = (uint32_t)(slots_len / slot_bytes);
  p->ring.large = large;
  p->ring.large_bytes = (uint32_t)large_len;
  p->rx_desc = rx_desc;
  p->batches_per_wakeup = tx.batches;
  int err = afp_open(&p->ring, ifname, &cfg, &what);
  if (err) {
    free(p); /* afp_open closed what it had opened */
    return throw_errno(env, ifname, what, -err);
  }
  afp_txq_init(&p->txq, p->ring.fd, p->ring.vnet_len, tx_area, (uint32_t)txa_len, tx_desc,
               (uint32_t)(txd_len / tx_desc_bytes), tx_stats, tx.target_us, tx.interval_us);
  napi_value handle;
  if (napi_create_external(env, p, finalize, NULL, &handle) != napi_ok) {
    afp_close(&p->ring);
    free(p);
    return throw_errno(env, ifname, "napi_create_external", ENOMEM);
  }
  /* From here the finalizer owns p: failures go through release(), which closes the fd and
   * lets go of the blocks. */
  p->open = 1;
  for (int i = 0; i < KEEP_COUNT; i++) {
    p->held[i] = held[i];
    held[i]->refs++;
  }
  int ok = napi_type_tag_object(env, handle, &PORT_TAG) == napi_ok &&
           napi_create_reference(env, a[9], 1, &p->on_batch) == napi_ok &&
           napi_create_reference(env, a[10], 1, &p->on_error) == napi_ok &&
           napi_create_reference(env, a[11], 1, &p->on_tx_idle) == napi_ok;
  int keep_idx[KEEP_COUNT] = {2, 4, 5, 6, 7, 8};
  for (int i = 0; i < KEEP_COUNT && ok; i++)
    ok = napi_create_reference(env, a[keep_idx[i]], 1, &p->keep[i]) == napi_ok;
  napi_value name;
  ok = ok && napi_create_string_utf8(env, "afpacket", NAPI_AUTO_LENGTH, &name) == napi_ok &&
       napi_async_init(env, NULL, name, &p->async) == napi_ok;
  uv_loop_t* loop;
  if (!ok || napi_get_uv_event_loop(env, &loop) != napi_ok ||
      uv_poll_init(loop, &p->poll, p->ring.fd)) {
    release(p);
    return throw_errno(env, ifname, "setting up the poll handle", EIO);
  }
  p->poll.data = p;
  p->handles_open++;
  p->poll_started = 1; /* from here on the handle must be uv_close'd */
  if (uv_poll_start(&p->poll, UV_READABLE, on_readable)) {
    release(p);
    return throw_errno(env, ifname, "uv_poll_start", EIO);
  }
  if (tx.thread) {
    if (uv_async_init(loop, &p->tx_idle, on_tx_idle)) {
      release(p);
      return throw_errno(env, ifname, "uv_async_init", EIO);
    }
    p->tx_idle.data = p;
    p->handles_open++;
    /* Not let an idle port keep the process alive. */
    uv_unref((uv_handle_t*)&p->tx_idle);
    int terr = afp_txq_start(&p->txq, signal_tx_idle, p);
    if (terr) {
      release(p);
      return throw_errno(env, ifname, "starting the transmit thread", terr);
    }
  }
  return handle;
}

/* The port behind a handle from open(); throws a TypeError (NULL) for anything else. */
static struct port* port_of(napi_env env, napi_value v) {
  bool tagged = false;
  void* data = NULL;
  if (napi_check_object_type_tag(env, v, &PORT_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "afpacket: not a port handle");
    return NULL;
  }
  return data;
}

/* The port of a (handle, n) call and n, a whole number up to `max`; NULL after throwing
 * (RangeError `range` for a bad n). */
static struct port* port_and_count(napi_env env, napi_callback_info info, uint32_t max,
                                   const char* range, uint32_t* n) {
  size_t argc = 2;
  napi_value a[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  if (p && (to_u32(env, a[1], n) || *n > max)) {
    napi_throw_range_error(env, NULL, range);
    return NULL;
  }
  return p;
}

static napi_value u32_value(napi_env env, uint32_t v) {
  napi_value out;
  napi_create_uint32(env, v, &out);
  return out;
}

/* publish(handle, head, mayInline): hands the descriptors up to sequence number `head`
 * (modulo 2^32) to the sender; returns the tail, the sequence number of the first descriptor
 * still in use. */
static napi_value js_publish(napi_env env, napi_callback_info info) {
  const char* range = "afpacket.publish: head outside the descriptor ring";
  size_t argc = 3;
  napi_value a[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  uint32_t head = 0, may_inline = 0;
  if (!p) return NULL;
  struct afp_txq* q = &p->txq;
  if (to_u32(env, a[1], &head) || to_u32(env, a[2], &may_inline) || may_inline > 1 ||
      (p->open && (head - afp_txq_tail(q) > q->slots || head - q->head > q->slots))) {
    napi_throw_range_error(env, NULL, range);
    return NULL;
  }
  return u32_value(env, p->open ? afp_txq_publish(q, head, may_inline) : head);
}

/* txWait(handle, timeoutUs): waits up to timeoutUs (at most 1 s) for the sender to free room;
 * returns the tail. */
static napi_value js_tx_wait(napi_env env, napi_callback_info info) {
  uint32_t timeout = 0;
  struct port* p = port_and_count(env, info, 1000000,
                                  "afpacket.txWait: timeout outside 0..1000000 us", &timeout);
  if (!p) return NULL;
  struct afp_txq* q = &p->txq;
  return u32_value(env, p->open ? afp_txq_wait(q, afp_txq_tail(q), timeout) : afp_txq_tail(q));
}

/* txTail(handle): the tail as publish returns it, without publishing. */
static napi_value js_tx_tail(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  return p ? u32_value(env, afp_txq_tail(&p->txq)) : NULL;
}

/* vnetHdrLen(handle): bytes of virtio_net_hdr before every frame (0: PACKET_VNET_HDR is off). */
static napi_value js_vnet_hdr_len(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  if (!p) return NULL;
  napi_create_uint32(env, p->open ? p->ring.vnet_len : 0, &out);
  return out;
}

/* stats(handle): [kernel ring drops, frames lost to copy errors], both cumulative. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], out, v;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  if (!p) return NULL;
  if (p->open) afp_poll_stats(&p->ring);
  napi_create_array_with_length(env, 2, &out);
  napi_create_double(env, (double)p->ring.drops, &v);
  napi_set_element(env, out, 0, v);
  napi_create_double(env, (double)p->ring.errors, &v);
  napi_set_element(env, out, 1, v);
  return out;
}

/* copy(dst, dstOffset, src, srcOffset, length): copies bytes between Uint8Arrays (overlap
 * allowed). Buffer.prototype.copy with a source range makes a Uint8Array view per call; on the
 * frame path that is garbage per packet, which this is not. */
static napi_value js_copy(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  size_t dst_len = 0, src_len = 0;
  uint8_t* dst = argc == 5 ? data_of(env, a[0], napi_uint8_array, &dst_len) : NULL;
  uint8_t* src = argc == 5 ? data_of(env, a[2], napi_uint8_array, &src_len) : NULL;
  if (!dst || !src) {
    napi_throw_type_error(env, NULL, "afpacket.copy: dst and src must be Uint8Arrays");
    return NULL;
  }
  uint32_t dst_off, src_off, n;
  if (to_u32(env, a[1], &dst_off) || to_u32(env, a[3], &src_off) || to_u32(env, a[4], &n) ||
      (uint64_t)dst_off + n > dst_len || (uint64_t)src_off + n > src_len) {
    napi_throw_range_error(env, NULL, "afpacket.copy: range outside an array");
    return NULL;
  }
  memmove(dst + dst_off, src + src_off, n);
  return NULL;
}

/* alloc(bytes): zeroed memory of the addon's own as an ArrayBuffer, for the buffers open()
 * takes (see struct block). */
static napi_value js_alloc(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  uint32_t n = 0;
  if (argc < 1 || to_u32(env, a[0], &n) || n == 0 || n > (1u << 30)) {
    napi_throw_range_error(env, NULL, "afpacket.alloc: bytes outside 1..2^30");
    return NULL;
  }
  struct block* b = calloc(1, sizeof *b);
  uint8_t* data = calloc(1, n);
  if (!b || !data) {
    free(b);
    free(data);
    return throw_errno(env, "-", "alloc", ENOMEM);
  }
  b->data = data;
  b->size = n;
  b->refs = 1;
  b->next = blocks;
  blocks = b;
  napi_value out;
  if (napi_create_external_arraybuffer(env, data, n, block_finalize, b, &out) != napi_ok) {
    block_unref(b);
    return throw_errno(env, "-", "napi_create_external_arraybuffer", ENOMEM);
  }
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  if (p) release(p);
  return NULL;
}

/* setIfUp(ifname, up): sets the interface administratively up (1) or down (0), as
 * `ip link set IF up|down` does, with SIOCGIFFLAGS/SIOCSIFFLAGS (the caller needs
 * CAP_NET_ADMIN); nothing is written when it already is. Throws with errno (ENODEV: no such
 * interface, EPERM) on failure. */
static napi_value js_set_if_up(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  char ifname[IF_NAMESIZE + 1];
  size_t iflen = 0;
  uint32_t up = 0;
  if (argc < 2 ||
      napi_get_value_string_utf8(env, a[0], ifname, sizeof ifname, &iflen) != napi_ok ||
      iflen == 0 || iflen >= IF_NAMESIZE || to_u32(env, a[1], &up) || up > 1)
    return type_error(env, "afpacket.setIfUp: (interface name, 0 or 1) expected");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, ifname, "socket", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, iflen);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, ifname, "SIOCGIFFLAGS", err);
  }
  short want = up ? (short)(ifr.ifr_flags | IFF_UP) : (short)(ifr.ifr_flags & ~IFF_UP);
  if (want != ifr.ifr_flags) {
    ifr.ifr_flags = want;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, ifname, "SIOCSIFFLAGS", err);
    }
  }
  close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"publish", NULL, js_publish, NULL, NULL, NULL, napi_default, NULL},
      {"txTail", NULL, js_tx_tail, NULL, NULL, NULL, napi_default, NULL},
      {"txWait", NULL, js_tx_wait, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"copy", NULL, js_copy, NULL, NULL, NULL, napi_default, NULL},
      {"alloc", NULL, js_alloc, NULL, NULL, NULL, napi_default, NULL},
      {"vnetHdrLen", NULL, js_vnet_hdr_len, NULL, NULL, NULL, napi_default, NULL},
      {"setIfUp", NULL, js_set_if_up, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
