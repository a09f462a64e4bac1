// All controller sessions of one switch: active targets (reconnecting; primary controllers),
// passive listeners (service sessions unless a target says primary), and the set of sessions
// past HELLO. Which session gets which asynchronous message is the switch's business.
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { ActiveController, type BackoffOptions } from "../ofchannel/active.js";
import { ControllerConnection, type SessionHandlers } from "../ofchannel/connection.js";
import type { SendQueueLimits } from "../ofchannel/send-queue.js";
import type { ActiveTarget, PassiveTarget, SessionRole } from "../ofchannel/targets.js";

export interface ConnectionManagerOptions {
  controllers?: ActiveTarget[];
  listeners?: PassiveTarget[];
  probeIntervalMs?: number;
  backoff?: BackoffOptions;
  queueLimits?: SendQueueLimits;
  log: Logger;
}

export class ConnectionManager {
  /** Sessions past the HELLO exchange, in the order they came up. */
  readonly ready = new Set<ControllerConnection>();
  /** Every open session, ready or not. */
  readonly sessions = new Set<ControllerConnection>();
  readonly active: ActiveController[];
  private readonly servers: Server[] = [];
  /** The configured target (active or listener label) each session came from. */
  private readonly targets = new WeakMap<ControllerConnection, string>();
  private readonly log: Logger;

  constructor(
    private readonly opts: ConnectionManagerOptions,
    private readonly handlers: SessionHandlers,
  ) {
    this.log = opts.log;
    this.active = (opts.controllers ?? []).map(
      (t) =>
        new ActiveController(
          t,
          (socket, ended) => this.open(socket, t.label, t.label, "primary", ended),
          opts.log,
          opts.backoff,
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
      const server = createServer((socket) =>
        this.open(
          socket,
          `${t.label} from ${socket.remoteAddress}:${socket.remotePort}`,
          t.label,
          t.role,
        ),
      );
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(t.port, t.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      server.on("error", (err) => this.log.error({ listener: t.label, err }, "listener error"));
      this.servers.push(server);
      this.log.info({ listener: t.label, port: this.portOf(server) }, "listening for controllers");
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

  /** The configured target `conn` came from (its label). */
  targetOf(conn: ControllerConnection): string {
    return this.targets.get(conn) ?? conn.label;
  }

  /** The bound ports of the listeners, in the order given (useful with port 0). */
  listenPorts(): number[] {
    return this.servers.map((s) => this.portOf(s));
  }

  private portOf(server: Server): number {
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const a of this.active) a.stop();
    for (const c of [...this.sessions]) c.close("switch shutting down", 100);
    await Promise.all(
      this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    this.servers.length = 0;
  }

  private open(
    socket: Socket,
    label: string,
    target: string,
    role: SessionRole,
    ended?: (wasUp: boolean) => void,
  ): void {
    const conn = new ControllerConnection(
      socket,
      {
        label,
        role,
        log: this.log,
        probeIntervalMs: this.opts.probeIntervalMs,
        queueLimits: this.opts.queueLimits,
      },
      {
        onReady: (c) => {
          this.ready.add(c);
          this.handlers.onReady(c);
        },
        onMessage: (c, msg, raw) => this.handlers.onMessage(c, msg, raw),
        onClose: (c, reason) => {
          const wasReady = this.ready.delete(c);
          this.sessions.delete(c);
          if (wasReady) this.handlers.onClose(c, reason);
          ended?.(c.wasReady);
        },
      },
    );
    this.targets.set(conn, target);
    this.sessions.add(conn);
  }
}
