// Frame I/O over an AF_PACKET socket with a memory-mapped receive ring and batched sends
// (native/afpacket):
//   - receive: one JavaScript call per batch of up to `batchSize` frames, one batch per port in
//     turn. The addon copies each frame out of the ring into its own preallocated slot buffer
//     (VLAN tag restored), so the handler sees `frame` at offset 0, with no per-packet
//     allocation;
//   - send: copies the frame into the port's transmit queue (a ring of descriptors over a
//     preallocated area, native/afpacket/txq.h); the queued frames of all AfPacketIos are
//     handed to their senders at the end of the receive batch (or after the current task when
//     sent outside a batch, e.g. PACKET_OUT). A sender is a thread of the port's own where
//     there is more than one core: on a veth a send runs the receiving host's network stack,
//     which then proceeds beside the event loop instead of inside it. Its counters reach the
//     port's at every hand-over and when it runs out of frames;
//   - queueing delay: each frame carries its kernel receive timestamp to the transmit queue,
//     whose CoDel (RFC 8289) drops at the head while frames have spent more than the target
//     in the switch for an interval: a TCP flow faster than the switch then slows down instead
//     of filling the rings (bufferbloat);
//   - offloads (PACKET_VNET_HDR, on unless vnetHdr: false): each received frame's GSO and
//     partial-checksum state is in `rxOffload`, and sendOffload() hands the kernel whole GSO
//     frames and partial checksums, so Egress need not segment or complete them;
//   - interface events: the kernel raises ENETDOWN on the socket when its interface goes down
//     and re-attaches it when the interface comes up; the addon clears the error and keeps
//     polling, so frames flow again the moment the interface is up (reported as transient).
//     A socket whose interface is gone (ENXIO/ENODEV on send) or whose poll stopped for another
//     error is dead: reported, and the port opens a new one once the interface is usable.
import { MAX_FRAME } from "./actions.js";
import { availableParallelism } from "node:os";
import {
  AFP_RX,
  loadAfPacket,
  RX_DESC_WORDS,
  TX_DESC_WORDS,
  TX_STAMPED,
  TX_STATS,
  type AfPacketHandle,
  type AfPacketNative,
} from "./afpacket-native.js";
import {
  errnoName,
  FrameIoError,
  isFatalSendError,
  type FrameIo,
  type FrameIoBinding,
} from "./frame-io.js";
import { RxOffload, writeVnetHdr } from "./vnet.js";
import { copyBytes } from "./copy-bytes.js";

export interface AfPacketIoOptions {
  /** Receive ring size in bytes; a burst beyond it is dropped by the kernel and counted. */
  ringBytes?: number;
  /** Ring slot size (a power of two); larger frames take the slower full-copy path. */
  frameBytes?: number;
  /** Frames per JavaScript call. */
  batchSize?: number;
  /** Ask for virtio-net headers (GSO and checksum offload passthrough); default true. */
  vnetHdr?: boolean;
  /** A transmit thread per port; default: when the process may use more than one core. */
  txThread?: boolean;
  /** CoDel's target and interval (microseconds), or false for none; default AQM_DEFAULT. */
  aqm?: { targetUs: number; intervalUs: number } | false;
  /** Receive batches per poll wake-up, per port (default 1: ports take turns). */
  batchesPerWakeup?: number;
}

/** CoDel defaults: see docs/datapath-afpacket.md ("Queueing delay"). */
export const AQM_DEFAULT = { targetUs: 500, intervalUs: 5000 } as const;

/** Receive slot: a 1500-byte MTU frame plus a restored VLAN tag, rounded up. */
const SLOT_BYTES = 2048;
const TX_AREA_BYTES = 1 << 20;
/** Descriptors in the transmit queue: a few receive batches. */
const TX_SLOTS = 1024;
/**
 * Longest wait for room in a full transmit queue before the frame is dropped: the sender frees
 * a chunk in well under a millisecond once it runs, but on a loaded machine a woken thread can
 * wait for a core for tens of milliseconds.
 */
const TX_WAIT_US = 100_000;

/** Counters only this backend keeps (what the ring headers told about received frames). */
export class AfPacketStats {
  checksumPartial = 0;
  vlanRestored = 0;
  largeFrames = 0;
  /** Frames the kernel dropped because the ring was full (counted in rxDropped too). */
  kernelDrops = 0;
  /** Frames the addon could not copy out of the ring (counted in rxErrors too). */
  copyErrors = 0;
  /** Hand-overs of queued frames to the sender (one sendmmsg or more each). */
  flushes = 0;
  /** sendmmsg calls. */
  sendCalls = 0;
  /** Frames dropped because the transmit queue was full (counted in txDropped too). */
  txQueueFull = 0;
  /** Waits for the transmit thread to free room in a full queue. */
  txWaits = 0;
  /** Frames CoDel dropped (counted in txDropped too). */
  aqmDrops = 0;
  /** Receive batches delivered to JavaScript. */
  batches = 0;
  /** Frames received as GSO (virtio-net header gso_type set). */
  gsoFrames = 0;
  /** Sockets opened (the first open and every reopen after an interface event). */
  opens = 0;
}

// Providers with queued frames; flushed when the outermost receive batch ends.
// A list with a count, not `length = 0`: V8 frees an emptied array's backing store and the
// next push allocates a new one, which was garbage per receive batch.
const dirty: (AfPacketIo | undefined)[] = [];
let dirtyCount = 0;
let batchDepth = 0;
let flushScheduled = false;
// The kernel's receive timestamp of the frame being delivered (microseconds modulo 2^32), for
// the transmit queues its handler sends to; none outside a frame handler.
let ingressArrival = 0;
let ingressStamped = 0;

// A receive batch filled all its slots since the last flush: the event loop is falling
// behind, and the transmit threads take the sends (otherwise the loop may do them itself).
let receiveBacklog = false;

function flushDirty(): void {
  flushScheduled = false;
  for (let i = 0; i < dirtyCount; i++) {
    const io = dirty[i] as AfPacketIo;
    dirty[i] = undefined;
    io.flushQueued();
  }
  dirtyCount = 0;
  receiveBacklog = false;
}

export class AfPacketIo implements FrameIo {
  readonly stats = new AfPacketStats();
  /** AFP_RX flags of the frame being delivered; valid only inside the frame handler. */
  rxFlags = 0;
  /** True while the socket carries virtio-net headers (set when it opens). */
  offloads = false;
  /** The delivered frame's offload state (valid inside the handler) when `offloads`. */
  rxOffload: RxOffload | undefined;
  private readonly rxMeta = new RxOffload();
  /** Bytes of virtio-net header before every frame in the transmit area (0 or 10). */
  private vnetLen = 0;
  private readonly native: AfPacketNative;
  private handle: AfPacketHandle | undefined;
  private binding: FrameIoBinding | undefined;
  // The addon's own memory (AfPacketNative.alloc), the only kind it takes.
  private readonly slots: Buffer;
  private readonly slotViews: Buffer[] = [];
  private readonly rxDesc: Int32Array;
  private readonly large: Buffer;
  private readonly txArea: Buffer;
  private readonly txDesc: Int32Array;
  /** Written by the sender, read here: cumulative over every socket this provider opened. */
  private readonly txStats: Float64Array;
  /** txStats as last added to the port's counters. */
  private readonly txFolded = new Float64Array(TX_STATS.WORDS);
  /** Sequence numbers (modulo 2^32): next descriptor, last handed over, first still in use. */
  private txHead = 0;
  private txPublished = 0;
  private txTail = 0;
  /** Where the next frame goes in txArea. */
  private txUsed = 0;
  private inDirty = false;
  /** Set once a socket error was reported; cleared when the socket is reopened. */
  private failed = false;
  /** Kernel counters of sockets already closed (they restart with each socket). */
  private dropsBefore = 0;
  private copyErrorsBefore = 0;

  private readonly txThread: boolean;
  private readonly aqm: { targetUs: number; intervalUs: number } | false;

  constructor(private readonly opts: AfPacketIoOptions = {}) {
    const { native, reason } = loadAfPacket();
    if (!native) throw new Error(`AF_PACKET addon unavailable: ${reason}`);
    this.native = native;
    const batch = opts.batchSize ?? 256;
    const alloc = (bytes: number) => native.alloc(bytes);
    this.slots = Buffer.from(alloc(batch * SLOT_BYTES));
    for (let i = 0; i < batch; i++)
      this.slotViews.push(this.slots.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES));
    this.rxDesc = new Int32Array(alloc(4 * RX_DESC_WORDS * batch));
    this.large = Buffer.from(alloc(MAX_FRAME));
    this.txArea = Buffer.from(alloc(TX_AREA_BYTES));
    this.txDesc = new Int32Array(alloc(4 * TX_DESC_WORDS * TX_SLOTS));
    this.txStats = new Float64Array(alloc(8 * TX_STATS.WORDS));
    this.txThread = opts.txThread ?? availableParallelism() > 1;
    this.aqm = opts.aqm ?? AQM_DEFAULT;
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  open(ifname: string, binding: FrameIoBinding): void {
    if (this.handle) return;
    const o = this.opts;
    try {
      this.handle = this.native.open(
        ifname,
        {
          ringBytes: o.ringBytes ?? 4 << 20,
          frameBytes: o.frameBytes ?? SLOT_BYTES,
          vnetHdr: o.vnetHdr === false ? 0 : 1,
          txThread: this.txThread ? 1 : 0,
          aqmTargetUs: this.aqm ? this.aqm.targetUs : 0,
          aqmIntervalUs: this.aqm ? this.aqm.intervalUs : 0,
          batchesPerWakeup: o.batchesPerWakeup ?? 1,
        },
        this.slots,
        SLOT_BYTES,
        this.rxDesc,
        this.large,
        this.txArea,
        this.txDesc,
        this.txStats,
        this.onBatch,
        this.onSocketError,
        this.onTxIdle,
      );
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      throw new FrameIoError(errno ? errnoName(errno) : "EINVAL", (e as Error).message);
    }
    this.binding = binding;
    this.failed = false;
    this.txHead = this.txPublished = this.txTail = this.txUsed = 0;
    this.stats.opens++;
    this.vnetLen = this.native.vnetHdrLen(this.handle);
    this.offloads = this.vnetLen > 0;
    this.rxOffload = this.offloads ? this.rxMeta : undefined;
  }

  close(): void {
    const h = this.handle;
    if (!h) return;
    this.flushQueued();
    this.pollStats();
    this.dropsBefore = this.stats.kernelDrops;
    this.copyErrorsBefore = this.stats.copyErrors;
    this.handle = undefined;
    this.native.close(h); // sends what was handed over, then stops the sender
    this.foldTx(false);
  }

  private readonly onTxIdle = (): void => this.foldTx(true);

  private readonly onSocketError = (errno: number, recovered: number): void => {
    if (recovered) this.binding?.onTransientError(errnoName(errno));
    else this.fail(errno);
  };

  private fail(errno: number): void {
    if (this.failed) return;
    this.failed = true;
    this.binding?.onFailure(errnoName(errno));
  }

  private readonly onBatch = (n: number): void => {
    const b = this.binding;
    if (b === undefined) return;
    const desc = this.rxDesc;
    const c = b.counters;
    const s = this.stats;
    const meta = this.rxMeta;
    s.batches++;
    if (n === this.slotViews.length) receiveBacklog = true;
    batchDepth++;
    try {
      ingressStamped = TX_STAMPED;
      for (let i = 0; i < n; i++) {
        const d = RX_DESC_WORDS * i;
        const len = desc[d];
        const flags = desc[d + 1];
        const gso = desc[d + 2];
        const csum = desc[d + 3];
        ingressArrival = desc[d + 4];
        meta.gsoType = gso >>> 16;
        meta.gsoSize = gso & 0xffff;
        meta.csumPartial = (flags & AFP_RX.CSUM_PARTIAL) !== 0;
        meta.csumStart = csum >>> 16;
        meta.csumOffset = csum & 0xffff;
        c.rxPackets++;
        c.rxBytes += len;
        if (flags !== 0) {
          if ((flags & AFP_RX.TRUNCATED) !== 0) {
            c.rxOverErr++;
            c.rxErrors++;
            continue;
          }
          if ((flags & AFP_RX.CSUM_PARTIAL) !== 0) s.checksumPartial++;
          if ((flags & AFP_RX.VLAN) !== 0) s.vlanRestored++;
          if ((flags & AFP_RX.LARGE) !== 0) s.largeFrames++;
          if ((flags & AFP_RX.GSO) !== 0) s.gsoFrames++;
        }
        this.rxFlags = flags;
        b.onFrame((flags & AFP_RX.LARGE) !== 0 ? this.large : this.slotViews[i], len, b.port);
      }
    } finally {
      batchDepth--;
      ingressStamped = 0;
    }
    if (batchDepth === 0) flushDirty();
  };

  send(frame: Buffer, length: number): boolean {
    return this.sendOffload(frame, length, 0, 0, 0, -1, 0);
  }

  /** See Port.sendOffload; the metadata is lost when `offloads` is false. */
  sendOffload(
    frame: Buffer,
    length: number,
    gsoType: number,
    gsoSize: number,
    hdrLen: number,
    csumStart: number,
    csumOffset: number,
  ): boolean {
    const vlen = this.vnetLen;
    const size = vlen + length;
    const h = this.handle;
    if (!h || this.failed || size > TX_AREA_BYTES) {
      if (this.binding) this.binding.counters.txDropped++;
      return false;
    }
    let at = this.place(size);
    if (at < 0) at = this.makeRoom(h, size);
    if (at < 0) {
      this.stats.txQueueFull++;
      if (this.binding) this.binding.counters.txDropped++;
      return false;
    }
    if (vlen > 0) writeVnetHdr(this.txArea, at, gsoType, gsoSize, hdrLen, csumStart, csumOffset);
    copyBytes(this.txArea, at + vlen, frame, 0, length);
    const d = TX_DESC_WORDS * (this.txHead % TX_SLOTS);
    const desc = this.txDesc;
    desc[d] = at;
    desc[d + 1] = size;
    desc[d + 2] = ingressArrival;
    desc[d + 3] = ingressStamped;
    this.txHead = (this.txHead + 1) >>> 0;
    this.txUsed = at + size;
    if (!this.inDirty) {
      this.inDirty = true;
      dirty[dirtyCount++] = this;
      if (batchDepth === 0 && !flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flushDirty);
      }
    }
    return true;
  }

  /**
   * Where a frame of `size` bytes fits in txArea behind the frames still in use, or -1. The
   * area is a ring: a frame that does not fit before its end starts again at 0.
   */
  private place(size: number): number {
    const inUse = (this.txHead - this.txTail) >>> 0;
    if (inUse === 0) return (this.txUsed = 0);
    if (inUse >= TX_SLOTS) return -1;
    const start = this.txDesc[TX_DESC_WORDS * (this.txTail % TX_SLOTS)];
    const used = this.txUsed;
    if (used > start) {
      if (used + size <= TX_AREA_BYTES) return used;
      return size <= start ? 0 : -1;
    }
    return used + size <= start ? used : -1;
  }

  /**
   * The queue is full: hands over what is queued (the sender may have freed room since we
   * last looked), then waits for the sender to free room. A burst sent from one task (a
   * PACKET_OUT loop) must not lose frames for the hand-over; on the receive path the queue
   * fills only when the sender fell a queue behind (a descheduled thread), and then waiting
   * paces the event loop to it: frames wait in the receive ring, four times deeper, instead of
   * being dropped here (dropping lost pings behind a TCP stream on a loaded machine). -1 when
   * no room comes within TX_WAIT_US.
   */
  private makeRoom(h: AfPacketHandle, size: number): number {
    this.publish(h);
    let at = this.place(size);
    while (at < 0 && this.txThread) {
      this.stats.txWaits++;
      const tail = this.native.txWait(h, TX_WAIT_US);
      if (tail === this.txTail) break;
      this.txTail = tail;
      at = this.place(size);
    }
    return at;
  }

  private publish(h: AfPacketHandle): void {
    if (this.txPublished !== this.txHead) {
      this.txPublished = this.txHead;
      this.stats.flushes++;
    }
    this.txTail = this.native.publish(h, this.txHead, receiveBacklog ? 0 : 1);
  }

  /** Hands every queued frame to the sender now (without a transmit thread: sends them). */
  flush(): void {
    this.flushQueued();
  }

  /** @internal Called by the batch-end flush. */
  flushQueued(): void {
    this.inDirty = false;
    const h = this.handle;
    if (h === undefined || this.txPublished === this.txHead) return;
    this.publish(h);
    this.foldTx(true);
  }

  /** Adds what the sender counted since the last call to the port's counters. */
  private foldTx(checkFatal: boolean): void {
    const c = this.binding?.counters;
    if (c === undefined) return;
    c.txPackets += this.txDelta(TX_STATS.PACKETS);
    c.txBytes += this.txDelta(TX_STATS.BYTES);
    const aqm = this.txDelta(TX_STATS.AQM_DROPS);
    c.txDropped += this.txDelta(TX_STATS.DROPPED) + aqm;
    const errors = this.txDelta(TX_STATS.ERRORS);
    c.txErrors += errors;
    this.stats.aqmDrops += aqm;
    this.stats.sendCalls += this.txDelta(TX_STATS.CALLS);
    const errno = this.txStats[TX_STATS.LAST_ERRNO];
    if (checkFatal && errors > 0 && isFatalSendError(errno)) this.fail(errno);
  }

  /**
   * How much a sender's counter grew since the last call. The sender may be counting
   * meanwhile: the word is read once, and what was read is what is remembered.
   */
  private txDelta(word: number): number {
    const v = this.txStats[word];
    const d = v - this.txFolded[word];
    this.txFolded[word] = v;
    return d;
  }

  /** Copies the kernel's ring-drop count into rxDropped (also done on every link poll). */
  pollStats(): void {
    const c = this.binding?.counters;
    if (!c) return;
    const h = this.handle;
    let drops = this.dropsBefore;
    let copyErrors = this.copyErrorsBefore;
    if (h) {
      const [d, e] = this.native.stats(h);
      drops += d;
      copyErrors += e;
    }
    this.foldTx(true);
    const s = this.stats;
    c.rxDropped += drops - s.kernelDrops;
    c.rxErrors += copyErrors - s.copyErrors;
    s.kernelDrops = drops;
    s.copyErrors = copyErrors;
  }
}
