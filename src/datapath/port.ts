// The datapath's view of a switch port (an in-memory one for tests is in test/support).
// Receive model (the one `cap` imposes): a port owns one receive buffer and calls the frame
// handler synchronously once per frame with that buffer and the frame's length; the handler
// must be done with the bytes when it returns.
import type { RxOffload } from "./vnet.js";

export type FrameHandler = (frame: Buffer, length: number, port: Port) => void;

/** A port's configuration flags (Port.config), set by its owner; the Datapath enforces them. */
export const PORT_CONFIG = {
  /**
   * Administratively down: frames are neither received nor sent. Set by PORT_MOD, which also
   * sets a system interface down (Port.setAdminUp); a port shows DOWN (info()) while its
   * interface is down, whoever set it, but only PORT_MOD's is enforced here: the kernel passes
   * nothing on a down interface, and frames flow the moment it is up again.
   */
  DOWN: 1 << 0,
  /** Received frames are dropped. */
  NO_RECEIVE: 1 << 1,
  /** No frame is sent out of it. */
  NO_FORWARD: 1 << 2,
  /** Left out of "flood" (not of "all"). */
  NO_FLOOD: 1 << 3,
  /** Its table misses and controller outputs are not reported. */
  NO_PACKET_IN: 1 << 4,
  /** Kept for the owner to report; there is no spanning tree here. */
  NO_STP: 1 << 5,
  /** Kept for the owner to report; there is no spanning tree here. */
  NO_RECEIVE_STP: 1 << 6,
} as const;

export type Duplex = "full" | "half" | "unknown";

/** What a port is, for its owner to describe (the switch: FEATURES_REPLY, PORT_STATUS). */
export interface PortInfo {
  readonly portNo: number;
  readonly name: string;
  readonly hwAddr: string;
  /** PORT_CONFIG flags: the port's `config`, plus DOWN while its interface is admin down. */
  readonly config: number;
  /** No carrier, the interface is down, or the port's I/O cannot be opened. */
  readonly linkDown: boolean;
  /** The link's current speed in Mbit/s; 0 when unknown. */
  readonly speedMbps: number;
  readonly duplex: Duplex;
  /** Whether the link autonegotiates, when the port knows (sysfs does not say). */
  readonly autoneg?: boolean;
  /** The physical medium, when the port knows (sysfs does not say). */
  readonly medium?: "copper" | "fiber";
}

/** How a port changed, as the Datapath reports it (see DatapathCallbacks.onPortChange). */
export type PortChange = "added" | "modified" | "deleted";

/** Per-port counters as plain numbers (exact to 2^53). */
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

  /** Back to zero: the port is a new one (its interface was created again). */
  reset(): void {
    this.rxPackets = this.rxBytes = this.rxDropped = this.rxErrors = 0;
    this.rxFrameErr = this.rxOverErr = 0;
    this.txPackets = this.txBytes = this.txDropped = this.txErrors = 0;
  }
}

/**
 * What a link-state poll found: "changed" (link state, MTU, MAC or speed: "modified"), "gone"
 * (the interface vanished: "deleted"; the port waits for it under its number), "back" (it
 * exists again, a new interface under the same name: "added"), "bounced" (it went down and up
 * again between two polls, which only the kernel's socket error told: "modified" down, then
 * "modified" as it is now).
 */
export type PortRefresh = "unchanged" | "changed" | "gone" | "back" | "bounced";

export interface Port {
  readonly portNo: number;
  readonly name: string;
  readonly hwAddr: string;
  /** PORT_CONFIG flags as its owner set them (Datapath.setPortConfig), enforced by the Datapath. */
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
  /**
   * Sets its interface administratively up or down (PORT_MOD's PORT_DOWN, as Open vSwitch
   * does), synchronously; throws (a FrameIoError with an errno name) when the system refuses.
   * Optional: a port without a system interface (the tests' MemoryPort) has only the flag.
   */
  setAdminUp?(up: boolean): void;
  /** Re-reads link state (and MTU, speed) from the system; reopens what an event closed. */
  refresh(): PortRefresh;
  /**
   * True while the port waits for its interface to let it open its I/O (down with a dead
   * socket, or gone): the Datapath then polls it more often than the others, so it forwards
   * within a fraction of a poll interval of the interface coming back.
   */
  readonly pollSoon?: boolean;
  /** What the port is now (a deleted port: as it was when its interface went). */
  info(): PortInfo;
  close(): void;
}
