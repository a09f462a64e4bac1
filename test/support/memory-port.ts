// An in-memory port pair for tests and benches: a switch port whose far end plays the host.
import {
  PortCounters,
  type FrameHandler,
  type Port,
  type PortInfo,
  type PortRefresh,
} from "../../src/datapath/port.js";

/**
 * An in-memory port: frames sent on one end of a pair arrive on the other, copied into the
 * receiver's own buffer as cap does. The far end of a switch port plays the host.
 */
export class MemoryPort implements Port {
  config = 0;
  mtu = 1500;
  linkUp = true;
  /** Port.setAdminUp: none by default (the flag alone); a test sets one to watch the calls. */
  setAdminUp?: (up: boolean) => void;
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
    readonly hwAddr: string = "02:00:00:00:00:00",
  ) {}

  /** A connected pair: frames sent on `a` arrive at `b` and vice versa. */
  static pair(portNo: number, name: string, hwAddr?: string): [MemoryPort, MemoryPort] {
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

  info(): PortInfo {
    return {
      portNo: this.portNo,
      name: this.name,
      hwAddr: this.hwAddr,
      config: this.config,
      linkDown: !this.linkUp,
      speedMbps: 0,
      duplex: "unknown",
    };
  }

  close(): void {
    this.closed = true;
    this.handler = undefined;
  }
}
