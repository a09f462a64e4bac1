// Frame I/O over an AF_PACKET socket with a memory-mapped receive ring and batched sends
// (native/afpacket):
//   - receive: one JavaScript call per batch of up to `batchSize` frames. The addon copies
//     each frame out of the ring into its own preallocated slot buffer (VLAN tag restored), so
//     the handler sees `frame` at offset 0, with no per-packet allocation;
//   - send: copies the frame into a preallocated transmit area; all queued frames of all
//     AfPacketIos go out with one sendmmsg per port at the end of the receive batch (or
//     after the current task when sent outside a batch, e.g. PACKET_OUT);
//   - offloads (PACKET_VNET_HDR, on unless vnetHdr: false): each received frame's GSO and
//     partial-checksum state is in `rxOffload`, and sendOffload() hands the kernel whole GSO
//     frames and partial checksums, so Egress need not segment or complete them;
//   - interface events: the kernel raises ENETDOWN on the socket when its interface goes down
//     and re-attaches it when the interface comes up; the addon clears the error and keeps
//     polling, so frames flow again the moment the interface is up (reported as transient).
//     A socket whose interface is gone (ENXIO/ENODEV on send) or whose poll stopped for another
//     error is dead: reported, and the port opens a new one once the interface is usable.
import { MAX_FRAME } from "./actions.js";
import {
  AFP_RX,
  loadAfPacket,
  RX_DESC_WORDS,
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

export interface AfPacketIoOptions {
  /** Receive ring size in bytes; a burst beyond it is dropped by the kernel and counted. */
  ringBytes?: number;
  /** Ring slot size (a power of two); larger frames take the slower full-copy path. */
  frameBytes?: number;
  /** Frames per JavaScript call. */
  batchSize?: number;
  /** Ask for virtio-net headers (GSO and checksum offload passthrough); default true. */
  vnetHdr?: boolean;
}

/** Receive slot: a 1500-byte MTU frame plus a restored VLAN tag, rounded up. */
const SLOT_BYTES = 2048;
const TX_AREA_BYTES = 1 << 20;
const TX_MAX = 512;
const EAGAIN = 11;
const ENOBUFS = 105;

/** Counters only this backend keeps (what the ring headers told about received frames). */
export class AfPacketStats {
  checksumPartial = 0;
  vlanRestored = 0;
  largeFrames = 0;
  /** Frames the kernel dropped because the ring was full (counted in rxDropped too). */
  kernelDrops = 0;
  /** Frames the addon could not copy out of the ring (counted in rxErrors too). */
  copyErrors = 0;
  /** sendmmsg calls. */
  flushes = 0;
  /** Receive batches delivered to JavaScript. */
  batches = 0;
  /** Frames received as GSO (virtio-net header gso_type set). */
  gsoFrames = 0;
  /** Sockets opened (the first open and every reopen after an interface event). */
  opens = 0;
}

// Providers with queued frames; flushed when the outermost receive batch ends.
const dirty: AfPacketIo[] = [];
let batchDepth = 0;
let flushScheduled = false;

function flushDirty(): void {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) dirty[i].flushQueued();
  dirty.length = 0;
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
  private readonly slots: Buffer;
  private readonly slotViews: Buffer[] = [];
  private readonly rxDesc: Int32Array;
  private readonly large = Buffer.alloc(MAX_FRAME);
  private readonly txArea = Buffer.allocUnsafeSlow(TX_AREA_BYTES);
  private readonly txDesc = new Int32Array(3 * TX_MAX);
  private txCount = 0;
  private txUsed = 0;
  private txBytesQueued = 0;
  private inDirty = false;
  /** Set once a socket error was reported; cleared when the socket is reopened. */
  private failed = false;
  /** Kernel counters of sockets already closed (they restart with each socket). */
  private dropsBefore = 0;
  private copyErrorsBefore = 0;

  constructor(private readonly opts: AfPacketIoOptions = {}) {
    const { native, reason } = loadAfPacket();
    if (!native) throw new Error(`AF_PACKET addon unavailable: ${reason}`);
    this.native = native;
    const batch = opts.batchSize ?? 256;
    this.slots = Buffer.allocUnsafeSlow(batch * SLOT_BYTES);
    for (let i = 0; i < batch; i++)
      this.slotViews.push(this.slots.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES));
    this.rxDesc = new Int32Array(RX_DESC_WORDS * batch);
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
          ringBytes: o.ringBytes ?? 8 << 20,
          frameBytes: o.frameBytes ?? SLOT_BYTES,
          vnetHdr: o.vnetHdr === false ? 0 : 1,
        },
        this.slots,
        SLOT_BYTES,
        this.rxDesc,
        this.large,
        this.txArea,
        this.txDesc,
        this.onBatch,
        this.onSocketError,
      );
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      throw new FrameIoError(errno ? errnoName(errno) : "EINVAL", (e as Error).message);
    }
    this.binding = binding;
    this.failed = false;
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
    this.native.close(h);
  }

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
    batchDepth++;
    try {
      for (let i = 0; i < n; i++) {
        const d = RX_DESC_WORDS * i;
        const len = desc[d];
        const flags = desc[d + 1];
        const gso = desc[d + 2];
        const csum = desc[d + 3];
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
    if (!this.handle || this.failed || size > TX_AREA_BYTES) {
      if (this.binding) this.binding.counters.txDropped++;
      return false;
    }
    if (this.txCount === TX_MAX || this.txUsed + size > TX_AREA_BYTES) this.flushQueued();
    const at = this.txUsed;
    if (vlen > 0) writeVnetHdr(this.txArea, at, gsoType, gsoSize, hdrLen, csumStart, csumOffset);
    frame.copy(this.txArea, at + vlen, 0, length);
    const d = 3 * this.txCount++;
    this.txDesc[d] = at;
    this.txDesc[d + 1] = size;
    this.txUsed = at + size;
    this.txBytesQueued += length;
    if (!this.inDirty) {
      this.inDirty = true;
      dirty.push(this);
      if (batchDepth === 0 && !flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flushDirty);
      }
    }
    return true;
  }

  /** Transmits every queued frame now (one sendmmsg). */
  flush(): void {
    this.flushQueued();
  }

  /** @internal Called by the batch-end flush. */
  flushQueued(): void {
    this.inDirty = false;
    const n = this.txCount;
    if (n === 0) return;
    const bytes = this.txBytesQueued;
    this.txCount = 0;
    this.txUsed = 0;
    this.txBytesQueued = 0;
    const c = this.binding?.counters;
    const h = this.handle;
    if (!h || !c) {
      if (c) c.txDropped += n;
      return;
    }
    this.stats.flushes++;
    const sent = this.native.flush(h, n);
    c.txPackets += sent;
    if (sent === n) {
      c.txBytes += bytes;
      return;
    }
    const d = this.txDesc;
    let fatal = 0;
    for (let i = 0; i < n; i++) {
      const result = d[3 * i + 2];
      if (result === 0) c.txBytes += d[3 * i + 1] - this.vnetLen;
      else if (result === -EAGAIN || result === -ENOBUFS) c.txDropped++;
      else {
        c.txErrors++;
        if (fatal === 0 && isFatalSendError(result)) fatal = result;
      }
    }
    if (fatal !== 0) this.fail(fatal);
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
    const s = this.stats;
    c.rxDropped += drops - s.kernelDrops;
    c.rxErrors += copyErrors - s.copyErrors;
    s.kernelDrops = drops;
    s.copyErrors = copyErrors;
  }
}
