// Loads the AF_PACKET addon (native/afpacket, built by `npm ci` through the root package's
// install script). Loading never throws: a missing or broken build is reported as a reason,
// and the port factory falls back to libpcap. Every argument is checked by the addon: a bad
// one throws (TypeError, or an Error with `errno` EINVAL for a bad ring geometry); errors of
// the system calls carry `errno` and `reason` (strerror).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The addon's functions (native/afpacket/binding.c). */
export interface AfPacketNative {
  /**
   * `bytes` (1 to 2^30) of zeroed memory the addon owns, for the buffers open() takes (views
   * of it: Buffer.from(ab), new Int32Array(ab), ...; open() refuses any other memory). It is
   * freed once JavaScript's last view is collected and no open port uses it, so detaching the
   * ArrayBuffer cannot free memory a port still reads or writes.
   */
  alloc(bytes: number): ArrayBuffer;
  open(
    ifname: string,
    config: {
      ringBytes: number;
      /** A power of two from 128 to 1 MiB that divides blockBytes. */
      frameBytes: number;
      /** Ring block size: a multiple of the page size and of frameBytes (default derived). */
      blockBytes?: number;
      /** 1: ask for PACKET_VNET_HDR (a virtio_net_hdr before every frame, both ways). */
      vnetHdr: number;
      /** 1: a thread of the port's own drains its transmit queue (default 0: publish sends). */
      txThread?: number;
      /** CoDel on each frame's time in the switch: target (0, the default: off) and interval. */
      aqmTargetUs?: number;
      aqmIntervalUs?: number;
      /** Receive batches per poll wake-up (default 1). */
      batchesPerWakeup?: number;
    },
    slots: Buffer,
    slotBytes: number,
    rxDesc: Int32Array,
    large: Buffer,
    txArea: Buffer,
    /** The transmit queue: a ring of TX_DESC_WORDS-word descriptors over txArea. */
    txDesc: Int32Array,
    /** TX_STATS words the sender keeps (cumulative counters, see TX_STATS). */
    txStats: Float64Array,
    onBatch: (count: number) => void,
    /**
     * A socket error (errno). recovered 1: ENETDOWN, the interface went down; the socket stays
     * bound and receives again when it comes up. 0: the socket is dead (its poll stopped).
     */
    onError: (errno: number, recovered: number) => void,
    /** The transmit thread emptied the queue (txStats are final until the next publish). */
    onTxIdle: () => void,
  ): AfPacketHandle;
  /**
   * Hands the transmit queue's descriptors up to sequence number `head` (modulo 2^32, at most
   * one ring ahead of the tail) to the sender; returns the tail: descriptors before it, and
   * their bytes in txArea, are free again. Without a transmit thread everything is sent before
   * it returns (tail === head). With one, `mayInline` 1 lets the caller send them itself when
   * the thread is idle and they are cheap enough (tail === head too). A descriptor outside
   * txArea is counted as an error, not sent.
   */
  publish(handle: AfPacketHandle, head: number, mayInline: number): number;
  /** The tail, as publish returns it, without publishing. */
  txTail(handle: AfPacketHandle): number;
  /** Waits until the transmit thread frees room, at most `timeoutUs` (<= 1 s); the tail. */
  txWait(handle: AfPacketHandle, timeoutUs: number): number;
  /** [kernel ring drops, frames lost copying], cumulative for the socket. */
  stats(handle: AfPacketHandle): [number, number];
  close(handle: AfPacketHandle): void;
  /** Bytes of virtio_net_hdr before every frame: VNET_HDR_LEN, or 0 when the kernel refused. */
  vnetHdrLen(handle: AfPacketHandle): number;
  /**
   * Sets interface `ifname` administratively up (1) or down (0) with SIOCSIFFLAGS; nothing
   * changes when it already is. Throws with `errno` (ENODEV, EPERM, ...). Optional: an addon
   * built before it lacks it (if-admin.ts then runs `ip link set`).
   */
  setIfUp?(ifname: string, up: number): void;
  /** Copies `length` bytes (memmove); RangeError when a range lies outside its array. */
  copy(
    dst: Uint8Array,
    dstOffset: number,
    src: Uint8Array,
    srcOffset: number,
    length: number,
  ): void;
}

/**
 * Words per received frame in rxDesc: [length, flags, gsoType << 16 | gsoSize,
 * csumStart << 16 | csumOffset, arrival], arrival being the kernel's receive timestamp in
 * microseconds modulo 2^32 (CLOCK_REALTIME).
 */
export const RX_DESC_WORDS = 5;

/** Words per frame in txDesc: [offset, length, arrival, flags] (TX_STAMPED: arrival is set). */
export const TX_DESC_WORDS = 4;
export const TX_STAMPED = 1;

/** Indexes into txStats (native/afpacket/txq.h), each a cumulative count. */
export const TX_STATS = {
  PACKETS: 0,
  /** Bytes of the frames sent, virtio-net headers excluded. */
  BYTES: 1,
  /** Refused by the socket for want of buffer space (EAGAIN, ENOBUFS). */
  DROPPED: 2,
  ERRORS: 3,
  /** errno of the last error counted in ERRORS. */
  LAST_ERRNO: 4,
  /** Dropped by CoDel: the frame had been in the switch too long, for too long. */
  AQM_DROPS: 5,
  /** sendmmsg calls. */
  CALLS: 6,
  WORDS: 7,
} as const;

/** Opaque native port (an N-API external). */
export type AfPacketHandle = { readonly __afpacket: unique symbol };

/** Flags the addon writes next to each received frame's length (native/afpacket/ring.h). */
export const AFP_RX = {
  /** The kernel left the TCP/UDP checksum partial (TP_STATUS_CSUMNOTREADY). */
  CSUM_PARTIAL: 1,
  /** An 802.1Q tag the kernel had moved into metadata was put back into the frame. */
  VLAN: 2,
  /** Delivered in the port's large-frame buffer (above one slot, e.g. a GSO frame). */
  LARGE: 4,
  /** Shorter than on the wire (ring slot too small and the full copy failed). */
  TRUNCATED: 8,
  /** The kernel already verified the checksum (TP_STATUS_CSUM_VALID). */
  CSUM_VALID: 16,
  /** A GSO frame (virtio-net header): several segments' payload behind one set of headers. */
  GSO: 32,
} as const;

const ADDON_PATHS = [
  // from src/datapath (vitest, tsx) and from dist/src/datapath (compiled)
  "../../native/afpacket/build/Release/afpacket.node",
  "../../../native/afpacket/build/Release/afpacket.node",
];

let cached: { native?: AfPacketNative; reason?: string } | undefined;

/** The addon, or why it is unavailable (not Linux, not built, failed to load). */
export function loadAfPacket(): { native?: AfPacketNative; reason?: string } {
  if (cached) return cached;
  if (process.platform !== "linux") return (cached = { reason: "AF_PACKET is Linux only" });
  const require = createRequire(import.meta.url);
  for (const rel of ADDON_PATHS) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) continue;
    try {
      return (cached = { native: require(path) as AfPacketNative });
    } catch (err) {
      return (cached = { reason: `${path}: ${(err as Error).message}` });
    }
  }
  return (cached = {
    reason: "native/afpacket/build/Release/afpacket.node is missing (npm ci builds it)",
  });
}
