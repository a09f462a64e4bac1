// An active target (`tcp:HOST:PORT`): connects, and with `reconnect` connects again for as long
// as it runs. Backoff as Open vSwitch's rconn: after a failed attempt wait 1 s, then 2, 4, 8 s
// (the maximum); after a session that had been up ends, try again at once (within `afterUpMs`),
// so the backoff grows only across failed attempts. The switch reaches its controllers this way,
// and the controller the switches that listen.
import type { Logger } from "pino";
import type { ActiveTarget } from "./targets.js";
import { openActive, type Transported, type TransportOptions } from "./transport.js";

export interface BackoffOptions {
  /** First wait after a failed attempt (default 1000 ms). */
  minMs?: number;
  /** Largest wait (default 8000 ms, like OVS's max_backoff). */
  maxMs?: number;
  /** Wait before reconnecting after an established session ended (default 100 ms). */
  afterUpMs?: number;
  /** Give up on a TCP connect that has not completed after this long (default 5000 ms). */
  connectTimeoutMs?: number;
}

export interface ActiveOptions extends BackoffOptions, TransportOptions {
  /** Connect again after a failure or the end of a session (default true). */
  reconnect?: boolean;
  /** Without `reconnect`: the one attempt failed before a socket was connected. */
  onGiveUp?: (why: string) => void;
}

/** What the owner does with a connected socket; `ended` must be called when it closes,
 * saying whether the session got past the HELLO exchange. */
export type SessionOpener = (conn: Transported, ended: (wasUp: boolean) => void) => void;

export class ActiveConnector {
  /** Failed attempts since the last session that came up. */
  failures = 0;
  attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private socket: Transported["socket"] | undefined;
  private stopped = false;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly afterUpMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnect: boolean;

  constructor(
    readonly target: ActiveTarget,
    private readonly open: SessionOpener,
    private readonly log: Logger,
    private readonly opts: ActiveOptions = {},
  ) {
    this.minMs = opts.minMs ?? 1000;
    this.maxMs = Math.max(this.minMs, opts.maxMs ?? 8000);
    this.afterUpMs = opts.afterUpMs ?? 100;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.reconnect = opts.reconnect ?? true;
  }

  start(): void {
    this.stopped = false;
    this.attempt();
  }

  /** No more attempts; a socket still connecting is destroyed (an open session is its owner's). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** The wait before the next attempt after `failures` failed ones in a row. */
  backoffMs(failures: number): number {
    return Math.min(this.maxMs, this.minMs * 2 ** Math.max(0, failures - 1));
  }

  private attempt(): void {
    if (this.stopped) return;
    this.attempts++;
    const conn = openActive(this.target, this.opts);
    const socket = conn.socket;
    this.socket = socket;
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      this.socket = undefined;
      this.failures++;
      if (!this.reconnect) {
        this.stopped = true;
        this.opts.onGiveUp?.(why);
        return;
      }
      const wait = this.backoffMs(this.failures);
      this.log.debug({ target: this.target.label, why, retryMs: wait }, "connect failed");
      this.schedule(wait);
    };
    socket.setTimeout(this.connectTimeoutMs, () => fail("connect timed out"));
    socket.once("error", (err) => fail(err.message));
    socket.once("connect", () => {
      if (settled) return;
      settled = true;
      socket.setTimeout(0);
      this.socket = undefined; // the session's now: its owner closes it
      this.open(conn, (wasUp) => this.ended(wasUp));
    });
  }

  private ended(wasUp: boolean): void {
    if (this.stopped || !this.reconnect) return;
    if (wasUp) {
      this.failures = 0;
      this.schedule(this.afterUpMs);
    } else {
      this.failures++;
      this.schedule(this.backoffMs(this.failures));
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, ms);
  }
}
