// When to read from a peer's socket. Reading stops for as long as any reason holds and resumes as
// soon as none does. Each reason is set and cleared by the one owner that knows when it ends (the
// input scheduler, the send queue, a reply stream), so none can resume a socket another still
// needs paused, and none waits on an event (such as 'drain') that may never come.
//
// Reasons:
// - "backlog": messages already received wait for their turn (InputScheduler); reading more
//   would only grow the backlog, so the bytes stay in the kernel, where TCP slows the peer down.
// - "output": the peer is not reading what we send (SendQueue above its pause mark); a
//   controller's output is mostly answers to its input, so not reading is the natural
//   back-pressure, as Open vSwitch's ofconn stops receiving while too many replies are queued.
// - "stream": requests held behind a reply stream (a flow dump) passed their bound; they wait
//   until the stream has ended, as Open vSwitch's ofconn_may_recv.
// - "closed": the channel is closed and only flushes its last output; nothing it reads would be
//   handled, and a peer that keeps sending must not fill our memory meanwhile. Never cleared.
import type { Socket } from "node:net";

export type PauseReason = "backlog" | "output" | "stream" | "closed";

const BIT: Record<PauseReason, number> = { backlog: 1, output: 2, stream: 4, closed: 8 };

export class ReadGate {
  private reasons = 0;

  constructor(private readonly socket: Socket) {}

  /** True while at least one reason holds. */
  get paused(): boolean {
    return this.reasons !== 0;
  }

  /** Whether `reason` holds now. */
  holds(reason: PauseReason): boolean {
    return (this.reasons & BIT[reason]) !== 0;
  }

  set(reason: PauseReason, on: boolean): void {
    const before = this.reasons;
    this.reasons = on ? before | BIT[reason] : before & ~BIT[reason];
    if (before === 0 && this.reasons !== 0) this.socket.pause();
    else if (before !== 0 && this.reasons === 0) this.socket.resume();
  }
}
