/* Node-API binding for ring.c. The socket is watched with a uv_poll on the loop Node runs;
 * each wake-up drains the ring in batches, one JavaScript call per batch, never spinning.
 * All buffers are allocated by JavaScript once per port and only read or written here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define NAPI_VERSION 8
#include <node_api.h>

#include "ring.h"

/* Batches per wake-up before yielding to the event loop (fairness with other ports). */
#define MAX_BATCHES_PER_WAKEUP 64

struct port {
  struct afp_ring ring;
  napi_env env;
  uv_poll_t poll;
  napi_ref on_batch;
  napi_ref keep[5]; /* slots, rx desc, large, tx area, tx desc: alive while the port is */
  napi_async_context async;
  int32_t* rx_desc;
  uint8_t* tx_area;
  int32_t* tx_desc;
  int open;
  int poll_started;
  int handle_closed; /* uv_close finished (or was never needed) */
  int finalized;     /* the JavaScript handle was collected */
};

#define CHECK(env, call)                                      \
  do {                                                        \
    if ((call) != napi_ok) {                                  \
      napi_throw_error((env), NULL, "afpacket: " #call);      \
      return NULL;                                            \
    }                                                         \
  } while (0)

static void maybe_free(struct port* p) {
  if (p->handle_closed && p->finalized) {
    free(p->ring.msgs);
    free(p->ring.iovs);
    free(p);
  }
}

static void on_handle_closed(uv_handle_t* h) {
  struct port* p = h->data;
  p->handle_closed = 1;
  maybe_free(p);
}

static void release(struct port* p) {
  if (!p->open) return;
  p->open = 0;
  if (p->poll_started) {
    /* uv_close stops watching the fd synchronously; only its callback is deferred. */
    uv_close((uv_handle_t*)&p->poll, on_handle_closed);
  } else {
    p->handle_closed = 1;
  }
  afp_close(&p->ring);
  napi_delete_reference(p->env, p->on_batch);
  for (int i = 0; i < 5; i++) napi_delete_reference(p->env, p->keep[i]);
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

static void on_readable(uv_poll_t* h, int status, int events) {
  (void)events;
  struct port* p = h->data;
  if (!p->open) return;
  if (status < 0) {
    afp_poll_stats(&p->ring); /* clears the socket error that woke us */
    return;
  }
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  int delivered = 0;
  for (int b = 0; b < MAX_BATCHES_PER_WAKEUP && p->open; b++) {
    uint32_t n = afp_receive_batch(&p->ring, p->rx_desc);
    if (n == 0) break;
    delivered = 1;
    napi_value fn, recv, arg, result;
    napi_get_reference_value(env, p->on_batch, &fn);
    napi_get_global(env, &recv); /* make_callback wants an object receiver */
    napi_create_uint32(env, n, &arg);
    if (napi_make_callback(env, p->async, recv, fn, 1, &arg, &result) != napi_ok) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
      break;
    }
  }
  /* Woken with nothing to read: an error (ENETDOWN when the interface goes) is pending. */
  if (!delivered && p->open) afp_poll_stats(&p->ring);
  napi_close_handle_scope(env, scope);
}

static int get_u32(napi_env env, napi_value obj, const char* key, uint32_t* out) {
  napi_value v;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return -1;
  return napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -1;
}

static void* data_of(napi_env env, napi_value v, size_t* len) {
  bool is_typed;
  void* data = NULL;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return NULL;
  napi_typedarray_type type;
  size_t n;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &n, &data, &ab, &off) != napi_ok) return NULL;
  size_t elem = (type == napi_int32_array) ? 4 : 1;
  *len = n * elem;
  return data;
}

/* open(ifname, config, slots, slotBytes, rxDesc, large, txArea, txDesc, onBatch) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value a[9];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 9) {
    napi_throw_type_error(env, NULL, "afpacket.open: 9 arguments expected");
    return NULL;
  }
  char ifname[64];
  size_t iflen;
  CHECK(env, napi_get_value_string_utf8(env, a[0], ifname, sizeof ifname, &iflen));
  struct afp_config cfg;
  if (get_u32(env, a[1], "ringBytes", &cfg.ring_bytes) ||
      get_u32(env, a[1], "frameBytes", &cfg.frame_bytes) ||
      get_u32(env, a[1], "vnetHdr", (uint32_t*)&cfg.vnet_hdr)) {
    napi_throw_type_error(env, NULL, "afpacket.open: bad config");
    return NULL;
  }
  uint32_t slot_bytes;
  CHECK(env, napi_get_value_uint32(env, a[3], &slot_bytes));
  size_t slots_len = 0, rxd_len = 0, large_len = 0, txa_len = 0, txd_len = 0;
  uint8_t* slots = data_of(env, a[2], &slots_len);
  int32_t* rx_desc = data_of(env, a[4], &rxd_len);
  uint8_t* large = data_of(env, a[5], &large_len);
  uint8_t* tx_area = data_of(env, a[6], &txa_len);
  int32_t* tx_desc = data_of(env, a[7], &txd_len);
  if (!slots || !rx_desc || !large || !tx_area || !tx_desc || slot_bytes == 0 ||
      rxd_len < AFP_RX_DESC_WORDS * 4 * (slots_len / slot_bytes) || large_len < 8) {
    napi_throw_type_error(env, NULL, "afpacket.open: bad buffers");
    return NULL;
  }
  struct port* p = calloc(1, sizeof *p);
  if (!p) {
    napi_throw_error(env, "ENOMEM", "afpacket: out of memory");
    return NULL;
  }
  p->env = env;
  p->ring.slots = slots;
  p->ring.slot_bytes = slot_bytes;
  p->ring.slot_count = (uint32_t)(slots_len / slot_bytes);
  p->ring.large = large;
  p->ring.large_bytes = (uint32_t)large_len;
  p->ring.tx_max = (uint32_t)(txd_len / 12);
  p->ring.msgs = calloc(p->ring.tx_max ? p->ring.tx_max : 1, sizeof(struct mmsghdr));
  p->ring.iovs = calloc(p->ring.tx_max ? p->ring.tx_max : 1, sizeof(struct iovec));
  p->rx_desc = rx_desc;
  p->tx_area = tx_area;
  p->tx_desc = tx_desc;
  const char* what = "";
  int err = (p->ring.msgs && p->ring.iovs) ? afp_open(&p->ring, ifname, &cfg, &what) : -ENOMEM;
  if (err) {
    afp_close(&p->ring);
    free(p->ring.msgs);
    free(p->ring.iovs);
    free(p);
    char msg[160];
    snprintf(msg, sizeof msg, "afpacket %s: %s: %s", ifname, what, strerror(-err));
    napi_value code, text, error;
    napi_create_string_utf8(env, strerror(-err), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, NULL, text, &error);
    napi_set_named_property(env, error, "reason", code);
    napi_throw(env, error);
    return NULL;
  }
  p->open = 1;
  napi_create_reference(env, a[8], 1, &p->on_batch);
  int keep_idx[5] = {2, 4, 5, 6, 7};
  for (int i = 0; i < 5; i++) napi_create_reference(env, a[keep_idx[i]], 1, &p->keep[i]);
  napi_value name;
  napi_create_string_utf8(env, "afpacket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &p->async);
  uv_loop_t* loop;
  napi_value handle;
  CHECK(env, napi_create_external(env, p, finalize, NULL, &handle));
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &p->poll, p->ring.fd)) {
    release(p);
    napi_throw_error(env, NULL, "afpacket: uv_poll_init failed");
    return NULL;
  }
  p->poll.data = p;
  p->poll_started = 1; /* from here on the handle must be uv_close'd */
  if (uv_poll_start(&p->poll, UV_READABLE, on_readable)) {
    release(p);
    napi_throw_error(env, NULL, "afpacket: uv_poll_start failed");
    return NULL;
  }
  return handle;
}

static struct port* port_of(napi_env env, napi_value v) {
  void* data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return data;
}

/* flush(handle, n): sends txDesc[0..n) in one sendmmsg (more on partial sends); returns sent. */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  uint32_t n = 0;
  napi_get_value_uint32(env, a[1], &n);
  uint32_t sent = (p && p->open) ? afp_send_batch(&p->ring, p->tx_area, p->tx_desc, n) : 0;
  napi_create_uint32(env, sent, &out);
  return out;
}

/* vnetHdrLen(handle): bytes of virtio_net_hdr before every frame (0: PACKET_VNET_HDR is off). */
static napi_value js_vnet_hdr_len(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  napi_create_uint32(env, p && p->open ? p->ring.vnet_len : 0, &out);
  return out;
}

/* stats(handle): [kernel ring drops, frames lost to copy errors], both cumulative. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], out, v;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  struct port* p = port_of(env, a[0]);
  if (p && p->open) afp_poll_stats(&p->ring);
  napi_create_array_with_length(env, 2, &out);
  napi_create_double(env, p ? (double)p->ring.drops : 0, &v);
  napi_set_element(env, out, 0, v);
  napi_create_double(env, p ? (double)p->ring.errors : 0, &v);
  napi_set_element(env, out, 1, v);
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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"vnetHdrLen", NULL, js_vnet_hdr_len, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 5, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
