// A switch port over an AF_PACKET socket with a memory-mapped receive ring and batched sends
// (native/afpacket). Link state, offload handling and PORT_STATUS come from PcapPort; only
// the frame I/O differs:
//   - receive: one JavaScript call per batch of up to `batchSize` frames. The addon copies
//     each frame out of the ring into its own preallocated slot buffer (VLAN tag restored), so
//     the handler sees `frame` at offset 0 as with PcapPort, with no per-packet allocation;
//   - send: copies the frame into a preallocated transmit area; all queued frames of all
//     AfPacketPorts go out with one sendmmsg per port at the end of the receive batch (or
//     after the current task when sent outside a batch, e.g. PACKET_OUT);
//   - offloads (PACKET_VNET_HDR, on unless vnetHdr: false): each received frame's GSO and
//     partial-checksum state is in `rxOffload`, and sendOffload() hands the kernel whole GSO
//     frames and partial checksums, so Egress need not segment or complete them.
import { MAX_FRAME } from "./actions.js";
import {
  AFP_RX,
  loadAfPacket,
  RX_DESC_WORDS,
  type AfPacketHandle,
  type AfPacketNative,
} from "./afpacket-native.js";
import { PcapPort, type PcapPortOptions } from "./pcap-port.js";
import type { PortRefresh } from "./port.js";
import { RxOffload, writeVnetHdr } from "./vnet.js";

export interface AfPacketPortOptions extends PcapPortOptions {
  /** Receive ring size in bytes; a burst beyond it is dropped by the kernel and counted. */
  ringBytes?: number;
  /** Ring slot size; larger frames take the slower full-copy path. */
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
}

// Ports with queued frames; flushed when the outermost receive batch ends.
const dirty: AfPacketPort[] = [];
let batchDepth = 0;
let flushScheduled = false;

function flushDirty(): void {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) dirty[i].flushQueued();
  dirty.length = 0;
}

export class AfPacketPort extends PcapPort {
  readonly afStats = new AfPacketStats();
  /** AFP_RX flags of the frame being delivered; valid only inside the frame handler. */
  rxFlags = 0;
  /** True while the socket carries virtio-net headers (set when the capture opens). */
  offloads = false;
  /** The delivered frame's offload state (valid inside the handler) when `offloads`. */
  rxOffload: RxOffload | undefined;
  private readonly rxMeta = new RxOffload();
  /** Bytes of virtio-net header before every frame in the transmit area (0 or 10). */
  private vnetLen = 0;
  private readonly native: AfPacketNative;
  private handle: AfPacketHandle | undefined;
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
  /** Kernel counters of sockets already closed (they restart with each socket). */
  private dropsBefore = 0;
  private copyErrorsBefore = 0;

  constructor(
    portNo: number,
    name: string,
    private readonly afOpts: AfPacketPortOptions = {},
  ) {
    super(portNo, name, afOpts);
    const { native, reason } = loadAfPacket();
    if (!native) throw new Error(`AF_PACKET addon unavailable: ${reason}`);
    this.native = native;
    const batch = afOpts.batchSize ?? 256;
    this.slots = Buffer.allocUnsafeSlow(batch * SLOT_BYTES);
    for (let i = 0; i < batch; i++)
      this.slotViews.push(this.slots.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES));
    this.rxDesc = new Int32Array(RX_DESC_WORDS * batch);
  }

  protected override startCapture(): void {
    if (this.handle) return;
    const o = this.afOpts;
    this.handle = this.native.open(
      this.name,
      {
        ringBytes: o.ringBytes ?? o.bufferSize ?? 8 << 20,
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
    this.vnetLen = this.native.vnetHdrLen(this.handle);
    this.offloads = this.vnetLen > 0;
    this.rxOffload = this.offloads ? this.rxMeta : undefined;
  }

  protected override stopCapture(): void {
    const h = this.handle;
    if (!h) return;
    this.flushQueued();
    this.pollStats();
    this.dropsBefore = this.afStats.kernelDrops;
    this.copyErrorsBefore = this.afStats.copyErrors;
    this.handle = undefined;
    this.native.close(h);
  }

  protected override get capturing(): boolean {
    return this.handle !== undefined;
  }

  /**
   * ENETDOWN (the interface went down): the addon keeps the socket, which the kernel attaches
   * again when the interface comes up. Any other error killed the socket: closed here, and
   * refresh() opens a new one when the interface is up.
   */
  private readonly onSocketError = (_errno: number, recovered: number): void => {
    if (!recovered) this.stopCapture();
  };

  private readonly onBatch = (n: number): void => {
    const desc = this.rxDesc;
    const c = this.counters;
    const s = this.afStats;
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
        this.handler?.((flags & AFP_RX.LARGE) !== 0 ? this.large : this.slotViews[i], len, this);
      }
    } finally {
      batchDepth--;
    }
    if (batchDepth === 0) flushDirty();
  };

  override send(frame: Buffer, length: number): boolean {
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
    if (!this.handle || size > TX_AREA_BYTES) {
      this.counters.txDropped++;
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
    const c = this.counters;
    const h = this.handle;
    if (!h) {
      c.txDropped += n;
      return;
    }
    this.afStats.flushes++;
    const sent = this.native.flush(h, n);
    c.txPackets += sent;
    if (sent === n) {
      c.txBytes += bytes;
      return;
    }
    const d = this.txDesc;
    for (let i = 0; i < n; i++) {
      const result = d[3 * i + 2];
      if (result === 0) c.txBytes += d[3 * i + 1] - this.vnetLen;
      else if (result === -EAGAIN || result === -ENOBUFS) c.txDropped++;
      else c.txErrors++;
    }
  }

  /** Copies the kernel's ring-drop count into rxDropped (also done by refresh()). */
  pollStats(): void {
    const h = this.handle;
    let drops = this.dropsBefore;
    let copyErrors = this.copyErrorsBefore;
    if (h) {
      const [d, e] = this.native.stats(h);
      drops += d;
      copyErrors += e;
    }
    const s = this.afStats;
    this.counters.rxDropped += drops - s.kernelDrops;
    this.counters.rxErrors += copyErrors - s.copyErrors;
    s.kernelDrops = drops;
    s.copyErrors = copyErrors;
  }

  override refresh(): PortRefresh {
    this.pollStats();
    return super.refresh();
  }
}
