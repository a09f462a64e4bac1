// Frame I/O test doubles: FakeIo (no system at all: records opens, closes and sends, and fails
// on command as the kernel would) and FaultyIo (wraps a real provider and injects a socket
// failure into it, as the kernel does when an interface goes away under an open socket).
import { FrameIoError, type FrameIo, type FrameIoBinding } from "../../src/datapath/frame-io.js";
import type { RxOffload } from "../../src/datapath/vnet.js";

export class FakeIo implements FrameIo {
  isOpen = false;
  readonly offloads = false;
  readonly rxOffload: RxOffload | undefined = undefined;
  opens = 0;
  closes = 0;
  /** When set, open() throws it (and the I/O stays closed). */
  openError: FrameIoError | undefined;
  binding: FrameIoBinding | undefined;
  readonly sent: Buffer[] = [];

  open(_ifname: string, binding: FrameIoBinding): void {
    if (this.isOpen) return;
    if (this.openError) throw this.openError;
    this.isOpen = true;
    this.opens++;
    this.binding = binding;
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.closes++;
  }

  send(frame: Buffer, length: number): boolean {
    const c = this.binding?.counters;
    if (!this.isOpen) {
      if (c) c.txDropped++;
      return false;
    }
    this.sent.push(Buffer.from(frame.subarray(0, length)));
    if (c) {
      c.txPackets++;
      c.txBytes += length;
    }
    return true;
  }

  /** The kernel killed the socket (e.g. ENXIO; libpcap's on ENETDOWN). */
  fail(code: string): void {
    this.binding?.onFailure(code);
  }

  /** The kernel raised an error the socket survives (AF_PACKET's ENETDOWN). */
  notice(code: string): void {
    this.binding?.onTransientError(code);
  }

  /** A frame arriving on the socket. */
  deliver(frame: Buffer): void {
    const b = this.binding;
    if (!this.isOpen || !b) return;
    b.counters.rxPackets++;
    b.counters.rxBytes += frame.length;
    b.onFrame(frame, frame.length, b.port);
  }
}

/** A real provider whose socket can be made to fail on command (once per failure). */
export class FaultyIo<Io extends FrameIo> implements FrameIo {
  private binding: FrameIoBinding | undefined;
  /** Sends fail with this code (and report it) until the provider is reopened. */
  private failing: string | undefined;

  constructor(readonly inner: Io) {}

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  get offloads(): boolean {
    return this.inner.offloads;
  }

  get rxOffload(): RxOffload | undefined {
    return this.inner.rxOffload;
  }

  open(ifname: string, binding: FrameIoBinding): void {
    this.inner.open(ifname, binding);
    this.binding = binding;
    this.failing = undefined;
  }

  close(): void {
    this.inner.close();
  }

  /** From now on the socket is dead with `code` (ENXIO, ENETDOWN ...), as after a kernel error. */
  inject(code: string): void {
    this.failing = code;
    this.binding?.onFailure(code);
  }

  send(frame: Buffer, length: number): boolean {
    if (this.failing !== undefined) {
      if (this.binding) this.binding.counters.txErrors++;
      return false;
    }
    return this.inner.send(frame, length);
  }

  sendOffload(
    frame: Buffer,
    length: number,
    gsoType: number,
    gsoSize: number,
    hdrLen: number,
    csumStart: number,
    csumOffset: number,
  ): boolean {
    if (this.failing !== undefined || this.inner.sendOffload === undefined)
      return this.send(frame, length);
    return this.inner.sendOffload(frame, length, gsoType, gsoSize, hdrLen, csumStart, csumOffset);
  }

  flush(): void {
    this.inner.flush?.();
  }

  pollStats(): void {
    this.inner.pollStats?.();
  }
}

export { FrameIoError };
