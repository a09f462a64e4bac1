// An active target (`tcp:`, `ssl:`, `unix:`): connects, and with `reconnect` connects again for
// as long as it runs. Backoff as Open vSwitch's rconn: after a failed attempt wait 1 s, then 2,
// 4, 8 s (the maximum); after a session that had been up ends, try again at once (within
// `afterUpMs`), so the backoff grows only across failed attempts. A peer that accepts and then
// drops every session at once (a crashing or hostile controller) would get a reconnect every
// `afterUpMs`: after the second such short session in a row the waits grow as after failures
// (Open vSwitch grows its backoff for sessions shorter than the backoff too). The switch
// reaches its controllers this way, and the controller the switches that listen.
//
// A peer that cannot be reached (refused, unknown host, a certificate that does not verify, a
// session that ends before its HELLO) is reported at warn level once with the error, again at a
// slow interval while it lasts, and at info level when a session comes up (OutageReport); each
// attempt is a debug line.
import type { Logger } from "pino";
import { OutageReport, type OutageOptions } from "../logging/outage.js";
import type { ActiveTarget } from "./targets.js";
import {
  connectionError,
  openActive,
  type Transported,
  type TransportOptions,
} from "./transport.js";

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
  /** What the target is, for the logs of a reconnecting connector: "controller" (the default)
   * or "switch"; its label goes in a field of that name. */
  peer?: string;
  /** How often an unreachable peer is reported again (default 60 s). */
  outage?: OutageOptions;
}

/** The owner's side of a session on a connected socket. */
export interface SessionEvents {
  /** The session got past its handshake: the peer is reachable. */
  up(): void;
  /** It closed (must be called once), saying whether it had come up, and why it ended. */
  ended(wasUp: boolean, reason?: string): void;
}

/** What the owner does with a connected socket. */
export type SessionOpener = (conn: Transported, session: SessionEvents) => void;

export class ActiveConnector {
  /** Failed attempts since the last session that came up. */
  failures = 0;
  /** Sessions in a row that came up and ended within `minMs`. */
  flaps = 0;
  attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private socket: Transported["socket"] | undefined;
  private stopped = false;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly afterUpMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnect: boolean;
  private readonly outage: OutageReport | undefined;

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
    const peer = opts.peer ?? "controller";
    this.outage = this.reconnect
      ? new OutageReport(log, peer, { [peer]: target.label }, opts.outage)
      : undefined;
  }

  /** True while the target is reported unreachable. */
  get unreachable(): boolean {
    return this.outage?.ongoing ?? false;
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
      this.outage?.failed(why);
      this.schedule(wait);
    };
    socket.setTimeout(this.connectTimeoutMs, () => fail("connect timed out"));
    socket.once("error", (err) => fail(connectionError(err)));
    socket.once(conn.readyEvent, () => {
      if (settled) return;
      settled = true;
      socket.setTimeout(0);
      this.socket = undefined; // the session's now: its owner closes it
      const connectedAt = performance.now();
      let ended = false;
      this.open(conn, {
        up: () => this.outage?.recovered(),
        ended: (wasUp, reason) => {
          if (ended) return;
          ended = true;
          this.ended(wasUp, performance.now() - connectedAt, reason);
        },
      });
    });
  }

  private ended(wasUp: boolean, lastedMs: number, reason = "session ended"): void {
    if (this.stopped || !this.reconnect) return;
    if (wasUp) {
      this.failures = 0;
      this.flaps = lastedMs < this.minMs ? this.flaps + 1 : 0;
      this.schedule(this.flaps <= 1 ? this.afterUpMs : this.backoffMs(this.flaps - 1));
    } else {
      this.failures++;
      this.outage?.failed(`${reason} before the OpenFlow handshake completed`);
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
