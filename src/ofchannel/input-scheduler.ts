// Fair input: each channel handles at most `budget` messages per event-loop turn, round-robin, as
// Open vSwitch's learning switch and ofconn handle at most 50 messages per connection per run of
// their poll loop. One scheduler serves the channels of a controller, or the sessions of a switch.
//
// Why it is needed: libuv reads a readable socket up to 32 times in a row per turn (64 KiB each)
// before it looks at the next one, and Node hands every read to 'data' at once. A switch that
// floods packet-ins thus had up to 2 MiB (~25,000 packet-ins) handled per turn, and with a few of
// them the turn lasted seconds: a new connection was neither accepted nor read meanwhile (its
// HELLO sat in the kernel), handshakes timed out, and the early switches got all the service.
//
// How: a connection handles what a read brought up to its budget at once (the common case, and
// the latency path: no extra turn). If more is left, it stops reading (ReadGate "backlog") and
// joins this queue; every turn (setImmediate: after the I/O poll, so new connections and quiet
// sockets are served in between) each queued connection handles `budget` more messages. When
// its backlog is gone it leaves the queue and reads again.

/** A connection with received messages not yet handled. */
export interface BacklogOwner {
  /** Handles up to `budget` messages; true if some may be left. */
  runInput(budget: number): boolean;
  /** Its backlog is gone: it may read from its socket again. */
  backlogCleared(): void;
}

export const DEFAULT_INPUT_BUDGET = 50;

export class InputScheduler {
  private queue: BacklogOwner[] = [];
  private scheduled = false;
  private readonly runBound = () => this.run();

  constructor(readonly budget = DEFAULT_INPUT_BUDGET) {
    if (!Number.isInteger(budget) || budget < 1) {
      throw new RangeError(`input budget must be a positive integer, not ${budget}`);
    }
  }

  /** Connections waiting for their next turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Queues `owner` for the next turn (it must not be queued already). */
  add(owner: BacklogOwner): void {
    this.queue.push(owner);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.runBound);
    }
  }

  private run(): void {
    this.scheduled = false;
    const turn = this.queue;
    this.queue = [];
    let i = 0;
    try {
      for (; i < turn.length; i++) {
        const owner = turn[i];
        if (owner.runInput(this.budget)) this.queue.push(owner);
        else owner.backlogCleared();
      }
    } finally {
      // If a handler threw, the owners not yet served keep their place for the next turn.
      for (; i < turn.length; i++) this.queue.push(turn[i]);
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(this.runBound);
      }
    }
  }
}
