// All controller sessions of one switch (Open vSwitch's connmgr): active targets (reconnecting;
// primary controllers), passive listeners (service sessions unless a target says primary), and
// the set of sessions past HELLO. Each session is an OpenFlowChannel with the switch's send
// policy; which session gets which asynchronous message is the switch's business.
import type { Logger } from "pino";
import { ActiveConnector, type BackoffOptions } from "../ofchannel/active.js";
import { OpenFlowChannel } from "../ofchannel/channel.js";
import { InputScheduler } from "../ofchannel/input-scheduler.js";
import { SWITCH_SEND_POLICY, type SendQueueOptions } from "../ofchannel/send-queue.js";
import type { ActiveTarget, PassiveTarget, SessionRole } from "../ofchannel/targets.js";
import { versionName } from "../ofchannel/hello.js";
import type { OfpMessage } from "../openflow/of10/messages.js";
import { listenPassive, type PassiveListener, type Transported } from "../ofchannel/transport.js";

export const DEFAULT_PROBE_INTERVAL_MS = 5000;

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
  log: Logger;
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
  private readonly log: Logger;
  private readonly scheduler: InputScheduler;
  private readonly sendQueue: SendQueueOptions;
  private readonly probeMs: number;

  constructor(
    private readonly opts: ConnectionManagerOptions,
    private readonly handlers: SessionHandlers,
  ) {
    this.log = opts.log;
    this.scheduler = new InputScheduler(opts.inputBudget);
    this.sendQueue = { ...SWITCH_SEND_POLICY, ...opts.sendQueue };
    this.probeMs = opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.active = (opts.controllers ?? []).map(
      (t) =>
        new ActiveConnector(
          t,
          (conn, ended) => this.open(conn, t.label, "primary", ended),
          opts.log,
          {
            ...opts.backoff,
            directReads: opts.directReads,
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
        (conn) => {
          const { remoteAddress, remotePort } = conn.socket;
          this.open(conn, `${t.label} from ${remoteAddress}:${remotePort}`, t.role);
        },
        {
          directReads: this.opts.directReads,
          onError: (err) => this.log.error({ listener: t.label, err }, "listener error"),
        },
      );
      this.listeners.push(listener);
      this.log.info({ listener: t.label, port: listener.port }, "listening for controllers");
    }
    for (const a of this.active) a.start();
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
  }

  private open(
    conn: Transported,
    label: string,
    role: SessionRole,
    ended?: (wasUp: boolean) => void,
  ): void {
    const channel = new OpenFlowChannel(
      conn.socket,
      conn.source,
      {
        label,
        log: this.log.child({ controller: label }),
        keepalive: { idleMs: this.probeMs, timeoutMs: this.probeMs },
        helloTimeoutMs: this.probeMs,
        sendQueue: this.sendQueue,
        scheduler: this.scheduler,
        answerMalformed: true,
      },
      {
        onReady: (c) => {
          this.ready.add(c);
          this.log.info(
            { controller: label, peer: c.remote, role },
            `session established (OpenFlow ${versionName(c.version)})`,
          );
          this.handlers.onReady(c, role);
        },
        onMessage: (c, msg, raw) => this.handlers.onMessage(c, msg, raw),
        onClose: (c, reason) => {
          const wasReady = this.ready.delete(c);
          this.sessions.delete(c);
          this.log[wasReady ? "info" : "debug"]({ controller: label, reason }, "session closed");
          if (wasReady) this.handlers.onClose(c, reason);
          ended?.(c.wasReady);
        },
      },
    );
    this.sessions.add(channel);
  }
}
