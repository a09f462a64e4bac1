// The datapath's view of a switch port (an in-memory one for tests is in test/support).
// Receive model (the one `cap` imposes): a port owns one receive buffer and calls the frame
// handler synchronously once per frame with that buffer and the frame's length; the handler
// must be done with the bytes when it returns.
import type { MacAddress, PhyPort, PortStats } from "../openflow/of10/types.js";
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
   * that send immediately (PcapPort, the tests' MemoryPort) do not implement it.
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
