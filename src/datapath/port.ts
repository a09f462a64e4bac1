// The datapath's view of a switch port, and an in-memory implementation for tests.
// Receive model (the one `cap` imposes): a port owns one receive buffer and calls the frame
// handler synchronously once per frame with that buffer and the frame's length; the handler
// must be done with the bytes when it returns.
import { OFPPS } from "../ofchannel/constants.js";
import type { MacAddress, PhyPort, PortStats } from "../ofchannel/types.js";
import type { RxOffload } from "./vnet.js";

export type FrameHandler = (frame: Buffer, length: number, port: Port) => void;

/** Per-port counters as plain numbers (exact to 2^53); converted to PortStats on request. */
export class PortCounters {
  rxPackets = 0;
  rxBytes = 0;
  rxDropped = 0;
  rxErrors = 0;
  rxFrameErr = 0;
  rxOverErr = 0;
  txPackets = 0;
  txBytes = 0;
  txDropped = 0;
  txErrors = 0;

  /** Back to zero: the port is a new one to OpenFlow (its interface was created again). */
  reset(): void {
    this.rxPackets = this.rxBytes = this.rxDropped = this.rxErrors = 0;
    this.rxFrameErr = this.rxOverErr = 0;
    this.txPackets = this.txBytes = this.txDropped = this.txErrors = 0;
  }

  toStats(portNo: number): PortStats {
    const unknown = 0xffffffffffffffffn; // OF1.0: counters a port does not keep are all ones
    return {
      portNo,
      rxPackets: BigInt(this.rxPackets),
      txPackets: BigInt(this.txPackets),
      rxBytes: BigInt(this.rxBytes),
      txBytes: BigInt(this.txBytes),
      rxDropped: BigInt(this.rxDropped),
      txDropped: BigInt(this.txDropped),
      rxErrors: BigInt(this.rxErrors),
      txErrors: BigInt(this.txErrors),
      rxFrameErr: BigInt(this.rxFrameErr),
      rxOverErr: BigInt(this.rxOverErr),
      rxCrcErr: unknown,
      collisions: unknown,
    };
  }
}

/**
 * What a link-state poll found: "changed" (link state, MTU, MAC or speed: PORT_STATUS MODIFY),
 * "gone" (the interface vanished: DELETE; the port waits for it under its number), "back" (it
 * exists again, a new interface under the same name: ADD).
 */
export type PortRefresh = "unchanged" | "changed" | "gone" | "back";

export interface Port {
  readonly portNo: number;
  readonly name: string;
  readonly hwAddr: MacAddress;
  /** OFPPC bits as set by the controller (PORT_MOD); the Datapath enforces them. */
  config: number;
  /** The interface MTU: the largest IPv4 datagram one frame on this link may carry. */
  readonly mtu: number;
  readonly counters: PortCounters;
  /** Starts delivering received frames. */
  open(onFrame: FrameHandler): void;
  /** Transmits the first `length` bytes of `frame`; counts it; false when it was not sent. */
  send(frame: Buffer, length: number): boolean;
  /**
   * Batching backends (AfPacketPort) queue what send() accepted and transmit it here, in one
   * system call. They also flush on their own at the end of every receive batch and after the
   * current task, so calling this is only needed to bound latency sooner. Optional: ports
   * that send immediately (PcapPort, MemoryPort) do not implement it.
   */
  flush?(): void;
  /**
   * True when the port passes offloads through (AfPacketPort with virtio-net headers): it then
   * offers `rxOffload` for received frames and `sendOffload` for whole GSO frames and partial
   * checksums. Absent or false: frames must be segmented and checksums completed before send().
   */
  readonly offloads?: boolean;
  /** What the kernel said about the frame being delivered; valid inside the frame handler. */
  readonly rxOffload?: RxOffload;
  /**
   * send() with offload metadata for the kernel: `gsoType` (VNET_GSO) and `gsoSize` make it
   * segment (or pass on whole) a frame above the MTU; `csumStart` >= 0 leaves the checksum at
   * csumStart + csumOffset for it to finish. `hdrLen`: bytes of headers (Ethernet to L4).
   */
  sendOffload?(
    frame: Buffer,
    length: number,
    gsoType: number,
    gsoSize: number,
    hdrLen: number,
    csumStart: number,
    csumOffset: number,
  ): boolean;
  /** Re-reads link state (and MTU, speed) from the system; reopens what an event closed. */
  refresh(): PortRefresh;
  /**
   * True while the port waits for its interface to let it open its I/O (down with a dead
   * socket, or gone): the Datapath then polls it more often than the others, so it forwards
   * within a fraction of a poll interval of the interface coming back.
   */
  readonly pollSoon?: boolean;
  /** The port as OFPT_FEATURES_REPLY / PORT_STATUS describe it. */
  phyPort(): PhyPort;
  close(): void;
}

/**
 * An in-memory port: frames sent on one end of a pair arrive on the other, copied into the
 * receiver's own buffer as cap does. The far end of a switch port plays the host.
 */
export class MemoryPort implements Port {
  config = 0;
  mtu = 1500;
  linkUp = true;
  /** False: the "interface" is gone (refresh reports it once); true again: it is back. */
  present = true;
  readonly counters = new PortCounters();
  /** Copies of every frame this end received, when no handler is open (a host's inbox). */
  readonly received: Buffer[] = [];
  private peer: MemoryPort | undefined;
  private handler: FrameHandler | undefined;
  private readonly rxBuffer = Buffer.alloc(65535 + 64);
  private closed = false;

  constructor(
    readonly portNo: number,
    readonly name: string,
    readonly hwAddr: MacAddress = "02:00:00:00:00:00",
  ) {}

  /** A connected pair: frames sent on `a` arrive at `b` and vice versa. */
  static pair(portNo: number, name: string, hwAddr?: MacAddress): [MemoryPort, MemoryPort] {
    const a = new MemoryPort(portNo, name, hwAddr);
    const b = new MemoryPort(0, `${name}-peer`);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  open(onFrame: FrameHandler): void {
    this.handler = onFrame;
    this.closed = false;
  }

  send(frame: Buffer, length: number): boolean {
    const peer = this.peer;
    if (this.closed || !this.linkUp || !this.present || !peer) {
      this.counters.txDropped++;
      return false;
    }
    this.counters.txPackets++;
    this.counters.txBytes += length;
    peer.deliver(frame, length);
    return true;
  }

  private deliver(frame: Buffer, length: number): void {
    this.counters.rxPackets++;
    this.counters.rxBytes += length;
    if (this.handler) {
      frame.copy(this.rxBuffer, 0, 0, length);
      this.handler(this.rxBuffer, length, this);
    } else {
      this.received.push(Buffer.from(frame.subarray(0, length)));
    }
  }

  private lastLinkUp = true;
  private lastPresent = true;
  refresh(): PortRefresh {
    if (this.closed) return "gone";
    if (this.lastPresent !== this.present) {
      this.lastPresent = this.present;
      this.lastLinkUp = this.linkUp;
      return this.present ? "back" : "gone";
    }
    if (!this.present || this.lastLinkUp === this.linkUp) return "unchanged";
    this.lastLinkUp = this.linkUp;
    return "changed";
  }

  phyPort(): PhyPort {
    return {
      portNo: this.portNo,
      hwAddr: this.hwAddr,
      name: this.name,
      config: this.config,
      state: this.linkUp ? 0 : OFPPS.LINK_DOWN,
      curr: 0,
      advertised: 0,
      supported: 0,
      peer: 0,
    };
  }

  close(): void {
    this.closed = true;
    this.handler = undefined;
  }
}
