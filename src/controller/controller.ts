// The controller: accepts switches (listen on ptcp:, pssl:, punix:) or reaches them (connect to
// tcp:, ssl:, unix:), runs the
// handshake that makes a channel a joined switch (FEATURES_REQUEST, once the channel's HELLO
// exchange is done), and turns what joined switches send into events for applications
// (events.ts). Framing, HELLO, keepalive, the bounded send queue and fair input are the
// channel's (src/ofchannel), with the controller's policy. One SwitchHandle per datapath id: a
// switch that connects again replaces its old connection, which is closed (as NOX and Open
// vSwitch do).
import { pino, type Logger } from "pino";
import { RateLimitedLog } from "../logging/rate-limit.js";
import { ActiveConnector } from "../ofchannel/active.js";
import {
  OpenFlowChannel,
  type ChannelHandlers,
  type ChannelOptions,
} from "../ofchannel/channel.js";
import { InputScheduler } from "../ofchannel/input-scheduler.js";
import { CONTROLLER_SEND_POLICY, type SendQueueOptions } from "../ofchannel/send-queue.js";
import { parseActiveTarget, parsePassiveTarget } from "../ofchannel/targets.js";
import type { TlsCredentials } from "../ofchannel/tls.js";
import {
  listenPassive,
  peerName,
  type PassiveListener,
  type Transported,
} from "../ofchannel/transport.js";
import { OFPT } from "../openflow/of10/constants.js";
import { errorPairName } from "../openflow/of10/errors.js";
import type { MessageOf, OfpMessage } from "../openflow/of10/messages.js";
import { EventChains, type EventName, type Handler } from "./events.js";
import { SwitchHandle } from "./switch-handle.js";

export interface ControllerOptions {
  /** pino logger; default: info level on stderr. */
  logger?: Logger;
  /** Send ECHO_REQUEST after this long without hearing from the switch (ms). */
  echoIntervalMs?: number;
  /** Disconnect when nothing arrives this long after an ECHO_REQUEST (ms). */
  echoTimeoutMs?: number;
  /** Time allowed for HELLO + FEATURES_REPLY (ms). */
  handshakeTimeoutMs?: number;
  /** Default time allowed for a request's reply (ms). */
  requestTimeoutMs?: number;
  /** Overrides of the send policy (CONTROLLER_SEND_POLICY: stop reading a switch above
   * pauseBytes, drop what goes past maxQueuedBytes). */
  output?: Partial<SendQueueOptions>;
  /** Messages handled per connection per event-loop turn before the next connection's turn
   * (default 50, as Open vSwitch). */
  inputBudget?: number;
  /** Read sockets straight into slabs of our own instead of through Node's 'data' events
   * (default true; see ofchannel/socket-reads.ts). */
  directReads?: boolean;
  /** Key, certificate and CA (PEM) for ssl: and pssl: targets; loadTlsCredentials() reads
   * them from files. */
  tls?: TlsCredentials;
}

export interface ConnectOptions {
  /** Connect again, with backoff, whenever the connection fails or ends, until close() (as
   * Open vSwitch's rconn); the promise then resolves at the first join and never rejects for a
   * failed attempt. Default false: one attempt, rejected if it fails before the switch joins. */
  reconnect?: boolean;
}

export const DEFAULT_CONTROLLER_OPTIONS = {
  echoIntervalMs: 5000,
  echoTimeoutMs: 5000,
  handshakeTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  output: CONTROLLER_SEND_POLICY,
} as const;

/** A connection that has not joined yet, and who waits for it. */
interface Joining {
  timer: NodeJS.Timeout;
  onJoin?: (sw: SwitchHandle) => void;
  /** The connection closed; `joined` says whether it had. */
  onEnd?: (joined: boolean, reason: string) => void;
}

export class Controller {
  readonly log: Logger;
  private readonly events: EventChains;
  private readonly scheduler: InputScheduler;
  private readonly directReads: boolean;
  private readonly tls: TlsCredentials | undefined;
  /** Lines switches can repeat at will (malformed input, refused TLS handshakes). */
  private readonly limited: RateLimitedLog;
  private readonly handshakeTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly channelOptions: Omit<ChannelOptions, "log">;
  private readonly listeners = new Set<PassiveListener>();
  private readonly connectors = new Map<ActiveConnector, () => void>();
  private readonly channels = new Set<OpenFlowChannel>();
  private readonly joining = new Map<OpenFlowChannel, Joining>();
  private readonly ends = new Map<OpenFlowChannel, (joined: boolean, reason: string) => void>();
  private readonly bySwitch = new Map<bigint, SwitchHandle>();
  private readonly byChannel = new Map<OpenFlowChannel, SwitchHandle>();
  /** Until it joins, a channel's messages come here. */
  private readonly handshake: ChannelHandlers = {
    onReady: (ch) => void ch.send({ type: OFPT.FEATURES_REQUEST, xid: ch.nextXid() }),
    onMessage: (ch, msg) => this.handshakeMessage(ch, msg),
    onClose: (ch, reason) => this.leave(ch, reason),
  };

  constructor(options: ControllerOptions = {}) {
    this.log = options.logger ?? pino({ name: "ofcontroller" }, pino.destination(2));
    this.events = new EventChains(this.log);
    this.scheduler = new InputScheduler(options.inputBudget);
    this.directReads = options.directReads ?? true;
    this.tls = options.tls;
    this.limited = new RateLimitedLog(this.log);
    const d = DEFAULT_CONTROLLER_OPTIONS;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? d.handshakeTimeoutMs;
    this.requestTimeoutMs = options.requestTimeoutMs ?? d.requestTimeoutMs;
    this.channelOptions = {
      label: "switch",
      keepalive: {
        idleMs: options.echoIntervalMs ?? d.echoIntervalMs,
        timeoutMs: options.echoTimeoutMs ?? d.echoTimeoutMs,
      },
      sendQueue: { ...d.output, ...options.output },
      scheduler: this.scheduler,
      // As NOX and Ryu: a malformed message from a switch is logged, the session goes on.
      answerMalformed: false,
      firstXid: 0x100, // lower xids are left to applications that pick their own
    };
  }

  /** Joined switches by datapath id. */
  get switches(): ReadonlyMap<bigint, SwitchHandle> {
    return this.bySwitch;
  }

  /** Open connections, joined or still in their handshake. */
  get connectionCount(): number {
    return this.channels.size;
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

  /** Listens for switches on "ptcp:[PORT][:IP]" (default ptcp:6653:127.0.0.1), "pssl:[PORT][:IP]"
   * (TLS: needs `tls`) or "punix:PATH". Resolves with the bound address (port 0 picks a free
   * port; for punix: the path as `host` and port 0). */
  async listen(target = "ptcp:"): Promise<{ host: string; port: number }> {
    const t = parsePassiveTarget(target);
    const listener = await listenPassive(t, (conn) => this.adopt(conn), {
      directReads: this.directReads,
      tls: this.tls,
      onError: (err) => this.log.error({ err }, "listener error"),
      onRefused: (peer, reason) =>
        this.limited.warn({ listener: t.label, remote: peer, reason }, "TLS handshake refused"),
      onStale: (path) => this.log.info({ path }, "removed a stale socket left by an earlier run"),
    });
    this.listeners.add(listener);
    const host = t.kind === "punix" ? t.path : t.host;
    this.log.info({ listener: t.label, host, port: listener.port }, "listening for switches");
    return { host, port: listener.port };
  }

  /** Connects to a switch listening on "tcp:HOST[:PORT]", "ssl:HOST[:PORT]" (TLS: needs `tls`)
   * or "unix:PATH"; resolves when it has joined. */
  connect(target: string, options: ConnectOptions = {}): Promise<SwitchHandle> {
    const t = parseActiveTarget(target);
    const reconnect = options.reconnect ?? false;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        f();
      };
      const forget = () => {
        connector.stop();
        this.connectors.delete(connector);
      };
      const connector = new ActiveConnector(
        t,
        (conn, session) => {
          this.adopt(conn, {
            onJoin: (sw) => {
              session.up();
              settle(() => resolve(sw));
            },
            onEnd: (joined, reason) => {
              session.ended(joined, reason);
              if (reconnect) return;
              forget();
              const why = `${target}: connection closed before the switch joined`;
              if (!joined) settle(() => reject(new Error(why)));
            },
          });
        },
        this.log,
        {
          reconnect,
          peer: "switch",
          directReads: this.directReads,
          tls: this.tls,
          onGiveUp: (why) => {
            forget();
            settle(() => reject(new Error(why)));
          },
        },
      );
      this.connectors.set(connector, () =>
        settle(() => reject(new Error(`${target}: controller closed before the switch joined`))),
      );
      connector.start();
    });
  }

  /** Stops listening and connecting, and closes every connection. */
  async close(): Promise<void> {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const [connector, cancel] of [...this.connectors]) {
      connector.stop();
      cancel();
    }
    this.connectors.clear();
    for (const ch of [...this.channels]) ch.close("controller shutting down");
    await Promise.all(listeners.map((l) => l.close()));
    this.limited.flush();
  }

  private adopt(conn: Transported, waiter: Omit<Joining, "timer"> = {}): OpenFlowChannel {
    const remote = peerName(conn.socket);
    const log = this.log.child({ remote });
    const ch = new OpenFlowChannel(
      conn.socket,
      conn.source,
      { ...this.channelOptions, label: remote, log, limited: this.limited },
      this.handshake,
    );
    const timer = setTimeout(
      () => ch.close(`no handshake within ${this.handshakeTimeoutMs} ms`),
      this.handshakeTimeoutMs,
    );
    this.channels.add(ch);
    this.joining.set(ch, { timer, ...waiter });
    if (waiter.onEnd) this.ends.set(ch, waiter.onEnd);
    log.debug("switch connected");
    return ch;
  }

  private handshakeMessage(ch: OpenFlowChannel, msg: OfpMessage): void {
    if (msg.type === OFPT.FEATURES_REPLY) {
      this.join(ch, msg);
    } else if (msg.type === OFPT.ERROR) {
      const pair = errorPairName(msg.errType, msg.code);
      this.limited.error({ remote: ch.remote, pair }, "switch sent an error during the handshake");
      ch.close(`handshake error ${pair}`);
    } else {
      this.log.debug({ remote: ch.remote, type: msg.type }, "message before features reply");
    }
  }

  private join(ch: OpenFlowChannel, features: MessageOf<typeof OFPT.FEATURES_REPLY>): void {
    const waiter = this.joining.get(ch);
    if (waiter !== undefined) clearTimeout(waiter.timer);
    this.joining.delete(ch);
    const sw = new SwitchHandle(ch, features, this.requestTimeoutMs);
    const old = this.bySwitch.get(sw.datapathId);
    if (old !== undefined) old.close("replaced by a new connection from the same datapath");
    this.bySwitch.set(sw.datapathId, sw);
    this.byChannel.set(ch, sw);
    // From now on its messages go straight to the switch's requests and the applications.
    ch.setHandlers({
      onReady: () => undefined,
      onMessage: (_, msg) => {
        if (!sw.settle(msg)) this.deliver(sw, msg);
      },
      onClose: (c, reason) => this.leave(c, reason),
    });
    this.log.info({ dpid: sw.dpid, remote: ch.remote, ports: sw.ports.size }, "switch joined");
    waiter?.onJoin?.(sw);
    this.events.dispatch("join", sw);
  }

  private leave(ch: OpenFlowChannel, reason: string): void {
    this.channels.delete(ch);
    const waiter = this.joining.get(ch);
    if (waiter !== undefined) clearTimeout(waiter.timer);
    this.joining.delete(ch);
    const onEnd = this.ends.get(ch);
    this.ends.delete(ch);
    const sw = this.byChannel.get(ch);
    if (sw === undefined) {
      this.limited.info({ remote: ch.remote, reason }, "connection closed before joining");
      onEnd?.(false, reason);
      return;
    }
    this.byChannel.delete(ch);
    sw.disconnected(reason);
    if (this.bySwitch.get(sw.datapathId) === sw) this.bySwitch.delete(sw.datapathId);
    this.log.info({ dpid: sw.dpid, reason }, "switch left");
    this.events.dispatch("leave", sw, reason);
    onEnd?.(true, reason);
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
          this.limited.warn({ dpid: sw.dpid, xid: msg.xid, pair }, "unhandled error from switch");
        }
        this.events.dispatch("error", sw, msg);
        return;
      default:
        this.events.dispatch("message", sw, msg);
    }
  }
}
