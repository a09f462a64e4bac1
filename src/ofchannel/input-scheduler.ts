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
//
// A turn serves at most `perTurn` connections (the rest keep their places and go first next
// turn), so a turn stays short however many switches flood. Node (libuv 1.46) accepts one
// connection per event-loop turn, so the length of a turn is what bounds how fast new switches
// are accepted: with 256 flooding switches and every one served per turn (12,800 messages, tens
// of ms), the 256th switch waited 2.3 s for its accept; with 16 per turn it waits a few ms per
// switch ahead of it in the accept queue.

/** A connection with received messages not yet handled. */
export interface BacklogOwner {
  /** Handles up to `budget` messages; true if some may be left. */
  runInput(budget: number): boolean;
  /** Its backlog is gone: it may read from its socket again. */
  backlogCleared(): void;
}

export const DEFAULT_INPUT_BUDGET = 50;
/** Connections served per turn: a cbench run's 16 switches all get a slice every turn. */
export const DEFAULT_CONNECTIONS_PER_TURN = 16;

export class InputScheduler {
  private queue: BacklogOwner[] = [];
  private scheduled = false;
  private readonly runBound = () => this.run();

  constructor(
    readonly budget = DEFAULT_INPUT_BUDGET,
    readonly perTurn = DEFAULT_CONNECTIONS_PER_TURN,
  ) {
    if (!Number.isInteger(budget) || budget < 1) {
      throw new RangeError(`input budget must be a positive integer, not ${budget}`);
    }
    if (!Number.isInteger(perTurn) || perTurn < 1) {
      throw new RangeError(`connections per turn must be a positive integer, not ${perTurn}`);
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
    const served = Math.min(turn.length, this.perTurn);
    // Those not served this turn go first next turn, then those served that still have input.
    this.queue = turn.slice(served);
    let i = 0;
    try {
      for (; i < served; i++) {
        const owner = turn[i];
        if (owner.runInput(this.budget)) this.queue.push(owner);
        else owner.backlogCleared();
      }
    } finally {
      // If a handler threw, the owners not yet served keep their place for the next turn.
      if (i < served) this.queue = [...turn.slice(i, served), ...this.queue];
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(this.runBound);
      }
    }
  }
}
