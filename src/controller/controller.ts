// The controller: accepts switches (listen on ptcp:) or reaches them (connect to tcp:), runs each
// connection's handshake and keepalive (connection.ts), and turns what joined switches send into
// events for applications (events.ts). One SwitchHandle per datapath id: a switch that connects
// again replaces its old connection, which is closed (as NOX and Open vSwitch do).
import { createServer, type Server, type Socket } from "node:net";
import { pino, type Logger } from "pino";
import { OFPT } from "../openflow/of10/constants.js";
import { errorPairName } from "../openflow/of10/errors.js";
import type { MessageOf, OfpMessage } from "../openflow/of10/messages.js";
import { OfConnection, type ConnectionHooks, type ConnectionOptions } from "./connection.js";
import { parseActiveTarget, parsePassiveTarget } from "../ofchannel/targets.js";
import { EventChains, type EventName, type Handler } from "./events.js";
import { DEFAULT_INPUT_BUDGET, InputScheduler } from "./input-scheduler.js";
import { DEFAULT_OUTPUT_OPTIONS, type OutputQueueOptions } from "./output-queue.js";
import { SwitchHandle } from "./switch-handle.js";
import { adoptAccepted, connectReading, type ByteSource } from "./socket-reads.js";

export interface ControllerOptions {
  /** pino logger; default: info level on stderr. */
  logger?: Logger;
  echoIntervalMs?: number;
  echoTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  requestTimeoutMs?: number;
  output?: Partial<OutputQueueOptions>;
  /** Messages handled per connection per event-loop turn before the next connection's turn
   * (default 50, as Open vSwitch). */
  inputBudget?: number;
  /** Read sockets straight into slabs of our own instead of through Node's 'data' events
   * (default true; see socket-reads.ts). */
  directReads?: boolean;
}

export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = {
  echoIntervalMs: 5000,
  echoTimeoutMs: 5000,
  handshakeTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  output: DEFAULT_OUTPUT_OPTIONS,
};

export class Controller {
  readonly log: Logger;
  private readonly options: ConnectionOptions;
  private readonly events: EventChains;
  private readonly scheduler: InputScheduler;
  private readonly directReads: boolean;
  private readonly servers = new Set<Server>();
  private readonly connections = new Set<OfConnection>();
  private readonly bySwitch = new Map<bigint, SwitchHandle>();
  private readonly byConnection = new Map<OfConnection, SwitchHandle>();
  private readonly hooks: ConnectionHooks = {
    onReady: (conn, features) => this.join(conn, features),
    onClose: (conn, reason) => this.leave(conn, reason),
  };

  constructor(options: ControllerOptions = {}) {
    this.log = options.logger ?? pino({ name: "ofcontroller" }, pino.destination(2));
    this.events = new EventChains(this.log);
    this.scheduler = new InputScheduler(options.inputBudget ?? DEFAULT_INPUT_BUDGET);
    this.directReads = options.directReads ?? true;
    const d = DEFAULT_CONNECTION_OPTIONS;
    this.options = {
      echoIntervalMs: options.echoIntervalMs ?? d.echoIntervalMs,
      echoTimeoutMs: options.echoTimeoutMs ?? d.echoTimeoutMs,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? d.handshakeTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? d.requestTimeoutMs,
      output: { ...d.output, ...options.output },
    };
  }

  /** Joined switches by datapath id. */
  get switches(): ReadonlyMap<bigint, SwitchHandle> {
    return this.bySwitch;
  }

  /** Open connections, joined or still in their handshake. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** NOX style: adds `handler` to the event's chain (lower order first; return STOP to end the
   * chain). Returns a function that removes it. */
  register<E extends EventName>(event: E, handler: Handler<E>, order?: number): () => void {
    return this.events.register(event, handler, order);
  }

  /** EventEmitter style: the same chain at the default order. */
  on<E extends EventName>(event: E, handler: Handler<E>): this {
    this.events.register(event, handler);
    return this;
  }

  /** Listens for switches on "ptcp:PORT[:IP]" (default ptcp:6653:127.0.0.1). Resolves with
   * the bound address (port 0 picks a free port). */
  listen(target = "ptcp:"): Promise<{ host: string; port: number }> {
    const { host, port } = parsePassiveTarget(target);
    // Paused on accept: adoptAccepted may hand the socket's handle to one that reads directly.
    const server = createServer({ pauseOnConnect: true }, (accepted) => {
      const { socket, source } = adoptAccepted(accepted, this.directReads);
      this.adopt(socket, source);
    });
    server.on("error", (err) => this.log.error({ err }, "listener error"));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, backlog: 511 }, () => {
        server.off("error", reject);
        this.servers.add(server);
        const addr = server.address();
        const bound = typeof addr === "object" && addr !== null ? addr.port : port;
        this.log.info({ host, port: bound }, "listening for switches");
        resolve({ host, port: bound });
      });
    });
  }

  /** Connects to a switch listening on "tcp:HOST[:PORT]"; resolves when it has joined. */
  connect(target: string): Promise<SwitchHandle> {
    const { host, port } = parseActiveTarget(target);
    return new Promise((resolve, reject) => {
      const { socket, source } = connectReading({ host, port }, this.directReads);
      const fail = (err: Error) => reject(err);
      socket.once("error", fail);
      socket.once("connect", () => {
        socket.off("error", fail);
        const conn = this.adopt(socket, source);
        const offJoin = this.register(
          "join",
          (sw) => {
            if (this.byConnection.get(conn) !== sw) return;
            offJoin();
            resolve(sw);
          },
          -Infinity,
        );
        socket.once("close", () => {
          offJoin();
          reject(new Error(`${target}: connection closed before the switch joined`));
        });
      });
    });
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    const servers = [...this.servers];
    this.servers.clear();
    for (const conn of [...this.connections]) conn.close("controller shutting down");
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private adopt(socket: Socket, source: ByteSource): OfConnection {
    const log = this.log.child({ remote: `${socket.remoteAddress}:${socket.remotePort}` });
    const conn = new OfConnection(socket, this.options, this.hooks, log, this.scheduler, source);
    this.connections.add(conn);
    log.debug("switch connected");
    return conn;
  }

  private join(
    conn: OfConnection,
    features: MessageOf<typeof OFPT.FEATURES_REPLY>,
  ): (msg: OfpMessage) => void {
    const sw = new SwitchHandle(conn, features);
    const old = this.bySwitch.get(sw.datapathId);
    if (old !== undefined) old.close("replaced by a new connection from the same datapath");
    this.bySwitch.set(sw.datapathId, sw);
    this.byConnection.set(conn, sw);
    this.log.info({ dpid: sw.dpid, remote: conn.remote, ports: sw.ports.size }, "switch joined");
    this.events.dispatch("join", sw);
    return (msg) => this.deliver(sw, msg);
  }

  private leave(conn: OfConnection, reason: string): void {
    this.connections.delete(conn);
    const sw = this.byConnection.get(conn);
    if (sw === undefined) {
      this.log.info({ remote: conn.remote, reason }, "connection closed before joining");
      return;
    }
    this.byConnection.delete(conn);
    if (this.bySwitch.get(sw.datapathId) === sw) this.bySwitch.delete(sw.datapathId);
    this.log.info({ dpid: sw.dpid, reason }, "switch left");
    this.events.dispatch("leave", sw, reason);
  }

  private deliver(sw: SwitchHandle, msg: OfpMessage): void {
    switch (msg.type) {
      case OFPT.PACKET_IN:
        this.events.dispatch("packet-in", sw, msg);
        return;
      case OFPT.FLOW_REMOVED:
        this.events.dispatch("flow-removed", sw, msg);
        return;
      case OFPT.PORT_STATUS:
        sw.updatePort(msg);
        this.events.dispatch("port-status", sw, msg);
        return;
      case OFPT.ERROR:
        if (!this.events.has("error")) {
          const pair = errorPairName(msg.errType, msg.code);
          this.log.warn({ dpid: sw.dpid, xid: msg.xid, pair }, "unhandled error from switch");
        }
        this.events.dispatch("error", sw, msg);
        return;
      default:
        this.events.dispatch("message", sw, msg);
    }
  }
}
