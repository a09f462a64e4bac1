// Frame I/O providers: the half of a port that moves frames (an AF_PACKET ring, a libpcap
// handle), opened and closed by the port (netdev-port.ts) as its interface comes and goes. A
// provider knows nothing of link state or OpenFlow; it reports a kernel error that killed its
// socket and the port decides what to do.
import { constants } from "node:os";
import type { FrameHandler, Port, PortCounters } from "./port.js";
import type { RxOffload } from "./vnet.js";

/** What a port hands its provider when it opens it. */
export interface FrameIoBinding {
  /** Passed to the frame handler with every frame. */
  readonly port: Port;
  /** The port's counters; the provider counts what it receives and sends. */
  readonly counters: PortCounters;
  readonly onFrame: FrameHandler;
  /** The socket is dead (errno name, e.g. ENXIO): the port closes and reopens the provider. */
  readonly onFailure: (code: string) => void;
  /**
   * The kernel raised an error the provider got over by itself (ENETDOWN: the interface went
   * down; an AF_PACKET socket stays bound and receives again as soon as it is up).
   */
  readonly onTransientError: (code: string) => void;
}

export interface FrameIo {
  readonly isOpen: boolean;
  /** See Port.offloads; valid while open. */
  readonly offloads: boolean;
  readonly rxOffload: RxOffload | undefined;
  /** Opens on `ifname`; throws a FrameIoError (with an errno name) when it cannot. */
  open(ifname: string, binding: FrameIoBinding): void;
  /** Idempotent; flushes what is queued first. */
  close(): void;
  /** See Port.send; counts a frame it cannot send (closed: txDropped). */
  send(frame: Buffer, length: number): boolean;
  sendOffload?: Port["sendOffload"];
  flush?(): void;
  /** Copies kernel counters (ring drops) into the port's counters; called on every link poll. */
  pollStats?(): void;
}

export class FrameIoError extends Error {
  constructor(
    /** errno name (EPERM, ENODEV, ENETDOWN, ...), or EIO when the cause has none. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const names = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n, name] as [number, string]),
);

/** "ENETDOWN" for 100 (positive or negative); "E<n>" for a number Node does not name. */
export function errnoName(n: number): string {
  return names.get(Math.abs(n)) ?? `E${Math.abs(n)}`;
}

/**
 * Send errors after which the socket is of no more use: its interface is gone (the socket is
 * bound to an ifindex that no longer exists). ENETDOWN is not one: the interface is down, and
 * the socket works again when it comes up.
 */
export function isFatalSendError(errno: number): boolean {
  const e = Math.abs(errno);
  const { ENXIO, ENODEV, EBADF } = constants.errno;
  return e === ENXIO || e === ENODEV || e === EBADF;
}

/** Opening failed for want of privilege: the daemon turns this into its usage hint. */
export function isPermissionError(code: string): boolean {
  return code === "EPERM" || code === "EACCES";
}
