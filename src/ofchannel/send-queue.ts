// The outbound side of one OpenFlow channel: encoded messages are queued and handed to the socket
// as one write per batch (few syscalls under load), the bytes not yet taken by the kernel are
// bounded, and the owner learns when the peer has read enough (drain signal), so producers of
// long replies (the switch's flow dumps) pace themselves by the peer's reading.
//
// What happens when the peer falls behind is a policy, given as options:
// - `droppableBytes`: past this many unsent bytes, messages pushed as droppable (packet-ins) are
//   refused and counted (`stats.shed`), so a slow controller loses packet-ins before replies, as
//   Open vSwitch limits its packet-in queue per connection.
// - `maxQueuedBytes` and `policy`: a message that would take the unsent bytes past the bound is
//   refused; "drop" counts it (`stats.dropped`: what ovs-testcontroller's
//   rconn_send_with_limit does), "disconnect" gives up on the peer (`onOverflow`), as rconn does
//   with a peer whose backlog overflows.
// - `pauseBytes`: above it, the owner is told to stop reading from the peer (onPressure(true)),
//   and to read again at half of it (onPressure(false)): most of what a controller sends answers
//   what it reads, so not reading is the natural back-pressure, as Open vSwitch's ofconn stops
//   receiving while too many replies are queued.
// The drain signal and the resume are decided by the completion of our own writes, not by the
// socket's 'drain' event, which Node emits only after a write that went above the socket's
// high-water mark: with a mark below that, a 'drain' would never come.
import type { Socket } from "node:net";

export type OverflowPolicy = "drop" | "disconnect";

export interface SendQueueOptions {
  /** Unsent bytes (ours plus the socket's) never exceed this. */
  maxQueuedBytes: number;
  /** What a message that would go over maxQueuedBytes does: dropped, or the peer is dropped. */
  policy: OverflowPolicy;
  /** Stop reading from the peer above this many unsent bytes (default: never). */
  pauseBytes?: number;
  /** Refuse droppable messages (packet-ins) past this many unsent bytes (default: no mark). */
  droppableBytes?: number;
  /** When messages pushed outside a hold are written: at the end of the current tick
   * (process.nextTick) or of the event-loop turn (setImmediate, after the I/O poll). */
  batching?: "tick" | "turn";
}

/** The switch's policy (Open vSwitch's): drop packet-ins first past 256 KiB, give up on a peer
 * that does not read at all past 16 MiB; never stop reading a controller for our output. */
export const SWITCH_SEND_POLICY: SendQueueOptions = {
  maxQueuedBytes: 16 * 1024 * 1024,
  policy: "disconnect",
  droppableBytes: 256 * 1024,
  batching: "turn",
};

/** The controller's policy: stop reading a switch above 1 MiB, drop what goes past 8 MiB. */
export const CONTROLLER_SEND_POLICY: SendQueueOptions = {
  maxQueuedBytes: 8 * 1024 * 1024,
  policy: "drop",
  pauseBytes: 1024 * 1024,
  batching: "tick",
};

export interface SendQueueEvents {
  /** true: stop reading from the peer; false: read again (only with `pauseBytes`). */
  onPressure(paused: boolean): void;
  /** The bound was passed under the "disconnect" policy; called once. */
  onOverflow(): void;
}

export class SendQueueStats {
  messages = 0;
  bytes = 0;
  writes = 0;
  /** Messages refused because the queue was full ("drop" policy). */
  dropped = 0;
  /** Droppable messages refused past the `droppableBytes` mark. */
  shed = 0;
}

/** The queues whose held answers wait for the end of the current I/O poll: one setImmediate
 * writes them all, in the order they were released. One immediate per queue (16 per poll in
 * cbench's latency mode) cost an Immediate and a run of the tick queue each. */
const releasedForPoll: SendQueue[] = [];
let afterPollScheduled = false;

function flushAfterPoll(): void {
  afterPollScheduled = false;
  const n = releasedForPoll.length;
  let i = 0;
  try {
    for (; i < n; i++) releasedForPoll[i].flush();
  } finally {
    // Queues released while these were written (none should be) wait for the next immediate,
    // as do the rest if a write threw.
    releasedForPoll.splice(0, i < n ? i + 1 : n);
    if (releasedForPoll.length > 0 && !afterPollScheduled) {
      afterPollScheduled = true;
      setImmediate(flushAfterPoll);
    }
  }
}

export class SendQueue {
  readonly stats = new SendQueueStats();
  private readonly maxBytes: number;
  private readonly pauseBytes: number;
  private readonly droppableBytes: number;
  private readonly afterTurn: boolean;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private held = false;
  private paused = false;
  private closed = false;
  /** onWritable() callbacks and the unsent-bytes level each waits for. */
  private waiters: { below: number; resume: () => void }[] = [];
  private readonly flushBound = () => this.flush();
  private readonly writtenBound = () => this.written();

  constructor(
    private readonly socket: Socket,
    readonly options: SendQueueOptions,
    private readonly events: SendQueueEvents,
  ) {
    this.maxBytes = options.maxQueuedBytes;
    this.pauseBytes = options.pauseBytes ?? Infinity;
    this.droppableBytes = options.droppableBytes ?? Infinity;
    this.afterTurn = options.batching === "turn";
  }

  /** Bytes accepted but not yet taken by the kernel: ours plus the socket's buffer. */
  get unsentBytes(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

  /** True while the owner is told not to read from the peer. */
  get pressure(): boolean {
    return this.paused;
  }

  /** Whether a droppable message may still be queued (checked before it is encoded); a refusal
   * is counted. push() checks again with its size. */
  admitsDroppable(): boolean {
    if (this.closed || this.unsentBytes < this.droppableBytes) return true;
    this.stats.shed++;
    return false;
  }

  /** Queues one or more whole encoded messages; false if refused (full, or closed). */
  push(data: Buffer, droppable = false): boolean {
    if (this.closed) return false;
    const after = this.unsentBytes + data.length;
    if (droppable && after > this.droppableBytes) {
      this.stats.shed++;
      return false;
    }
    if (after > this.maxBytes) {
      this.stats.dropped++;
      if (this.options.policy === "disconnect") {
        this.closed = true;
        this.events.onOverflow();
      }
      return false;
    }
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.stats.messages++;
    this.stats.bytes += data.length;
    if (!this.flushScheduled && !this.held) {
      this.flushScheduled = true;
      if (this.afterTurn) setImmediate(this.flushBound);
      else process.nextTick(this.flushBound);
    }
    return true;
  }

  /** Holds what is pushed until release(): the owner writes the answers to one slice of input
   * as it ends. */
  hold(): void {
    this.held = true;
  }

  /** Writes what was held: now, or with `afterPoll` in the check phase of this event-loop turn
   * (setImmediate), once the I/O poll has handled every socket that was ready. Deferring a
   * slice handled inside the poll costs no timer and no extra turn: its answers wait only for
   * the reads of the other ready sockets. In cbench's latency mode (16 switches, each with one
   * packet-in outstanding) that took the controller's CPU per response from 7.4 to 7.2 µs: the
   * reads of one poll are no longer interleaved with writes, each of which wakes the peer, and
   * Node runs its after-write ticks once per turn instead of once per read. The queues
   * released this way in one poll share one immediate (flushAfterPoll). */
  release(afterPoll = false): void {
    this.held = false;
    if (this.flushScheduled || this.pending.length === 0) return;
    if (afterPoll) {
      this.flushScheduled = true;
      releasedForPoll.push(this);
      if (!afterPollScheduled) {
        afterPollScheduled = true;
        setImmediate(flushAfterPoll);
      }
    } else {
      this.flush();
    }
  }

  /**
   * Calls `resume` once fewer than `below` bytes are unsent: at once if that is so now,
   * otherwise after one of our writes has reached the kernel.
   */
  onWritable(below: number, resume: () => void): void {
    if (this.closed) return;
    if (this.unsentBytes < below) resume();
    else this.waiters.push({ below, resume });
  }

  /** Writes everything queued now (normally called at the end of the batch). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    if (this.socket.destroyed || !this.socket.writable) {
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    const out =
      this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.stats.writes++;
    this.socket.write(out, this.writtenBound);
    if (!this.paused && this.socket.writableLength >= this.pauseBytes) {
      this.paused = true;
      this.events.onPressure(true);
    }
  }

  /** A write reached the kernel: wake the waiters and the paused owner whose level is reached. */
  private written(): void {
    if (this.closed) return;
    if (this.waiters.length > 0) this.notify();
    if (this.paused && this.unsentBytes <= this.pauseBytes / 2) {
      this.paused = false;
      this.events.onPressure(false);
    }
  }

  private notify(): void {
    const unsent = this.unsentBytes;
    const ready = this.waiters.filter((w) => unsent < w.below);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => unsent >= w.below);
    for (const w of ready) w.resume();
  }

  /** Writes what is queued (e.g. an error sent just before closing); later pushes are refused. */
  close(): void {
    this.flush();
    this.closed = true;
    this.waiters = [];
  }
}
