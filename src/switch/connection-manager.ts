// All controller sessions of one switch (Open vSwitch's connmgr): active targets (reconnecting;
// primary controllers), passive listeners (service sessions unless a target says primary), and
// the set of sessions past HELLO. Each session is an OpenFlowChannel with the switch's send
// policy; which session gets which asynchronous message is the switch's business.
//
// Logs: a primary session's start and end at info level. Service sessions (ovs-ofctl through a
// listener: a connection per command) at debug, as Open vSwitch logs its unreliable
// connections; one that lasted LONG_SERVICE_SESSION_MS or more (e.g. ovs-ofctl monitor) is
// noted at info when it ends. What a peer can repeat at will (refused TLS handshakes,
// malformed input) is rate-limited.
import type { Logger } from "pino";
import { RateLimitedLog } from "../logging/rate-limit.js";
import { ActiveConnector, type BackoffOptions, type SessionEvents } from "../ofchannel/active.js";
import { OpenFlowChannel } from "../ofchannel/channel.js";
import { InputScheduler } from "../ofchannel/input-scheduler.js";
import { SWITCH_SEND_POLICY, type SendQueueOptions } from "../ofchannel/send-queue.js";
import type { ActiveTarget, PassiveTarget, SessionRole } from "../ofchannel/targets.js";
import { versionName } from "../ofchannel/hello.js";
import type { OfpMessage } from "../openflow/of10/messages.js";
import {
  listenPassive,
  peerName,
  type PassiveListener,
  type Transported,
} from "../ofchannel/transport.js";
import type { TlsCredentials } from "../ofchannel/tls.js";

export const DEFAULT_PROBE_INTERVAL_MS = 5000;
/** A service session that lasted this long is noted at info level when it ends. */
export const LONG_SERVICE_SESSION_MS = 60_000;

export interface ConnectionManagerOptions {
  controllers?: ActiveTarget[];
  listeners?: PassiveTarget[];
  /** Idle time before an echo probe, and how long the probe has to be answered. */
  probeIntervalMs?: number;
  backoff?: BackoffOptions;
  /** Overrides of the switch's send policy (SWITCH_SEND_POLICY). */
  sendQueue?: Partial<SendQueueOptions>;
  /** Messages handled per session per event-loop turn (default 50, as Open vSwitch). */
  inputBudget?: number;
  /** Read sockets into slabs of our own (default true; see ofchannel/socket-reads.ts). */
  directReads?: boolean;
  /** Key, certificate and CA for ssl: and pssl: targets. */
  tls?: TlsCredentials;
  log: Logger;
  /** Limits for lines peers can repeat at will (default: limits of its own). */
  limited?: RateLimitedLog;
}

export interface SessionHandlers {
  /** A session got past HELLO; `role` says what it is to the switch. */
  onReady(channel: OpenFlowChannel, role: SessionRole): void;
  onMessage(channel: OpenFlowChannel, msg: OfpMessage, raw: Buffer): void;
  /** A session that had got past HELLO closed. */
  onClose(channel: OpenFlowChannel, reason: string): void;
}

export class ConnectionManager {
  /** Sessions past the HELLO exchange, in the order they came up. */
  readonly ready = new Set<OpenFlowChannel>();
  /** Every open session, ready or not. */
  readonly sessions = new Set<OpenFlowChannel>();
  readonly active: ActiveConnector[];
  private readonly listeners: PassiveListener[] = [];
  /** The configured target (active or listener label) each session came from. */
  private readonly targets = new WeakMap<OpenFlowChannel, string>();
  private readonly log: Logger;
  private readonly limited: RateLimitedLog;
  private readonly scheduler: InputScheduler;
  private readonly sendQueue: SendQueueOptions;
  private readonly probeMs: number;

  constructor(
    private readonly opts: ConnectionManagerOptions,
    private readonly handlers: SessionHandlers,
  ) {
    this.log = opts.log;
    this.limited = opts.limited ?? new RateLimitedLog(opts.log);
    this.scheduler = new InputScheduler(opts.inputBudget);
    this.sendQueue = { ...SWITCH_SEND_POLICY, ...opts.sendQueue };
    this.probeMs = opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.active = (opts.controllers ?? []).map(
      (t) =>
        new ActiveConnector(
          t,
          (conn, session) => this.open(conn, t.label, t.label, "primary", session),
          opts.log,
          {
            ...opts.backoff,
            directReads: opts.directReads,
            tls: opts.tls,
          },
        ),
    );
  }

  /** True when a primary controller is configured (an active target or a primary listener):
   * only then can fail mode start and end (OVS's connmgr_has_controllers). */
  get primaryConfigured(): boolean {
    const primaryListener = (this.opts.listeners ?? []).some((t) => t.role === "primary");
    return (this.opts.controllers?.length ?? 0) > 0 || primaryListener;
  }

  /** Starts listening (rejects if a listener cannot bind) and connecting. */
  async start(): Promise<void> {
    for (const t of this.opts.listeners ?? []) {
      const listener = await listenPassive(
        t,
        (conn) => this.open(conn, `${t.label} from ${peerName(conn.socket)}`, t.label, t.role),
        {
          directReads: this.opts.directReads,
          tls: this.opts.tls,
          onError: (err) => this.log.error({ listener: t.label, err }, "listener error"),
          onRefused: (peer, reason) =>
            this.limited.warn({ listener: t.label, peer, reason }, "TLS handshake refused"),
          onStale: (path) =>
            this.log.info(
              { listener: t.label, path },
              "removed a stale socket left by an earlier run",
            ),
        },
      );
      this.listeners.push(listener);
      const where = t.kind === "punix" ? { path: t.path } : { port: listener.port };
      this.log.info({ listener: t.label, ...where }, "listening for controllers");
    }
    for (const a of this.active) a.start();
  }

  /** The configured targets: active controllers, then listeners. */
  configuredTargets(): { label: string; kind: "active" | "listener"; role: SessionRole }[] {
    return [
      ...this.active.map((a) => ({
        label: a.target.label,
        kind: "active" as const,
        role: "primary" as const,
      })),
      ...(this.opts.listeners ?? []).map((t) => ({
        label: t.label,
        kind: "listener" as const,
        role: t.role,
      })),
    ];
  }

  /** The configured target `channel` came from (its label). */
  targetOf(channel: OpenFlowChannel): string {
    return this.targets.get(channel) ?? channel.label;
  }

  /** The bound ports of the listeners, in the order given (useful with port 0). */
  listenPorts(): number[] {
    return this.listeners.map((l) => l.port);
  }

  async stop(): Promise<void> {
    for (const a of this.active) a.stop();
    for (const c of [...this.sessions]) c.close("switch shutting down", 100);
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners.length = 0;
    this.limited.flush();
  }

  private open(
    conn: Transported,
    label: string,
    target: string,
    role: SessionRole,
    session?: SessionEvents,
  ): void {
    const opened = performance.now();
    const level = (long: boolean) => (role === "primary" || long ? "info" : "debug");
    const channel = new OpenFlowChannel(
      conn.socket,
      conn.source,
      {
        label,
        log: this.log.child({ controller: label }),
        limited: this.limited,
        keepalive: { idleMs: this.probeMs, timeoutMs: this.probeMs },
        helloTimeoutMs: this.probeMs,
        sendQueue: this.sendQueue,
        scheduler: this.scheduler,
        answerMalformed: true,
      },
      {
        onReady: (c) => {
          this.ready.add(c);
          this.log[level(false)](
            { controller: label, peer: c.remote, role },
            `session established (OpenFlow ${versionName(c.version)})`,
          );
          session?.up();
          this.handlers.onReady(c, role);
        },
        onMessage: (c, msg, raw) => this.handlers.onMessage(c, msg, raw),
        onClose: (c, reason) => {
          const wasReady = this.ready.delete(c);
          this.sessions.delete(c);
          const lastedMs = performance.now() - opened;
          this.log[wasReady ? level(lastedMs >= LONG_SERVICE_SESSION_MS) : "debug"](
            { controller: label, reason, lastedS: Math.round(lastedMs / 100) / 10 },
            "session closed",
          );
          if (wasReady) this.handlers.onClose(c, reason);
          session?.ended(c.wasReady, reason);
        },
      },
    );
    this.targets.set(channel, target);
    this.sessions.add(channel);
  }
}
