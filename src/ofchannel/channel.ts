// One OpenFlow channel over a byte stream, the same for both ends (the switch's sessions with its
// controllers, the controller's with its switches): framing and decoding, the HELLO exchange
// (the negotiated version is a property of the channel), echo probes on an idle line (Open
// vSwitch's inactivity probe), answers to ECHO_REQUEST, protocol errors for malformed input, a
// bounded send queue with a drain signal (send-queue.ts), and input handled in budgeted slices,
// round-robin with the other channels of the process (InputScheduler), so that no peer can starve
// another. Everything else goes to the owner through ChannelHandlers; the codec stays I/O-free.
//
// Long replies (flow dumps) are streams: the owner hands sendStream() an iterator of messages
// and the channel pulls from it only while the peer reads (the send queue says when it has
// room), so a million-entry dump never sits in memory. Until the stream ends, later input waits
// here in order, as Open vSwitch stops reading a connection whose replies are backed up
// (ofconn_may_recv); ECHO_REQUEST is still answered at once, so the session stays alive. Held
// input is bounded: past HELD_LIMIT bytes reading stops and TCP pushes back.
//
// What differs between the switch and the controller is given as options: the send queue's
// policy (what to do when the peer stops reading), whether malformed input is answered, the
// first xid, a deadline for the peer's HELLO.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { RateLimitedLog } from "../logging/rate-limit.js";
import { decodeMessage, encodeMessage } from "../openflow/of10/codec.js";
import { OFPHFC, OFPT } from "../openflow/of10/constants.js";
import { OfpError, errorPairName, errorToMessage } from "../openflow/of10/errors.js";
import type { OfpMessage } from "../openflow/of10/messages.js";
import { MessageFramer, errorFrom, type FramerOutput } from "./framer.js";
import { SUPPORTED_VERSIONS, helloFor, negotiateVersion } from "./hello.js";
import type { BacklogOwner, InputScheduler } from "./input-scheduler.js";
import { ReadGate } from "./read-gate.js";
import { SendQueue, type SendQueueOptions } from "./send-queue.js";
import type { ByteSource } from "./socket-reads.js";
import { peerName } from "./transport.js";

/** A stream produces while fewer bytes than this are unsent (at least the socket's 16 KiB
 * high-water mark; well under the switch's 256 KiB past which packet-ins are dropped). */
export const STREAM_LOW_WATER = 64 * 1024;
/** Bytes of input held behind a stream before reading stops. */
export const HELD_LIMIT = 1024 * 1024;

export interface KeepaliveOptions {
  /** Idle time before an ECHO_REQUEST probe (ms). */
  idleMs: number;
  /** Time the probe has to be answered, by anything the peer sends (ms). */
  timeoutMs: number;
}

export interface ChannelOptions {
  /** Messages of this channel are logged here (bind the peer's name to it). */
  log: Logger;
  /** What the channel is, for its owner's logs, e.g. "tcp:127.0.0.1:6653". */
  label: string;
  /** Lines a peer can cause at will (malformed input, failed HELLOs) go through these limits,
   * shared by the owner's channels, so that no peer floods the log (default: limits of the
   * channel's own). */
  limited?: RateLimitedLog;
  keepalive: KeepaliveOptions;
  /** Refuse (HELLO_FAILED) a peer whose HELLO has not come after this long without input
   * (default: no limit; the owner may have a handshake deadline of its own). */
  helloTimeoutMs?: number;
  sendQueue: SendQueueOptions;
  /** The budgeted, round-robin input of the process's channels. */
  scheduler: InputScheduler;
  /** Answer malformed input with its OFPT_ERROR and log a warning (the switch: the peer learns
   * what it got wrong), or only log it as an error (the controller, as NOX and Ryu do). The
   * session stays up either way, unless the stream cannot be resynchronised. */
  answerMalformed: boolean;
  /** The first xid of the messages we originate (default 1; lower ones are left to others). */
  firstXid?: number;
  /** The OpenFlow versions offered in HELLO (default: all this build speaks). */
  versions?: readonly number[];
}

export interface ChannelHandlers {
  /** The HELLO exchange succeeded: `channel.version` is set. */
  onReady(channel: OpenFlowChannel): void;
  /** A decoded message other than HELLO and ECHO; `raw` is its bytes (valid during the call). */
  onMessage(channel: OpenFlowChannel, msg: OfpMessage, raw: Buffer): void;
  /** Called once, whoever closed it. */
  onClose(channel: OpenFlowChannel, reason: string): void;
}

export type ChannelState = "hello" | "ready" | "closed";

const heldSize = (out: FramerOutput): number =>
  out.kind === "message" ? out.data.length : out.header.length;

/** Input that is handled at once even while a stream is sent: echo (so the session stays up)
 * and a framing error that ends the stream of input anyway. */
const urgent = (out: FramerOutput): boolean =>
  out.kind === "error" ? out.fatal : out.data.length >= 2 && out.data[1] === OFPT.ECHO_REQUEST;

const hex = (v: number): string => `0x${v.toString(16).padStart(2, "0")}`;

export class OpenFlowChannel implements BacklogOwner {
  state: ChannelState = "hello";
  /** True once the HELLO exchange succeeded (stays true after close). */
  wasReady = false;
  /** The negotiated OpenFlow version; 0 until the HELLO exchange succeeded. */
  version = 0;
  readonly queue: SendQueue;
  readonly label: string;
  /** The peer's address, as it was when the channel opened. */
  readonly remote: string;
  /** Whether the socket reads straight into our slabs (socket-reads.ts) or through 'data'. */
  readonly readsDirect: boolean;
  /** Protocol errors sent back for malformed messages. */
  errorsSent = 0;
  private handlers: ChannelHandlers;
  private readonly log: Logger;
  private readonly limited: RateLimitedLog;
  private readonly framer = new MessageFramer();
  private readonly gate: ReadGate;
  private readonly scheduler: InputScheduler;
  private readonly keepalive: KeepaliveOptions;
  private readonly helloTimeoutMs: number | undefined;
  private readonly answerMalformed: boolean;
  private readonly versions: readonly number[];
  private readonly firstXid: number;
  private xid: number;
  /** Queued in the InputScheduler: received input waits for a turn. */
  private backlogged = false;
  /** Inside runInput (which may start or end a stream). */
  private running = false;
  private lastRx = performance.now();
  private probeSentAt = -1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The reply being streamed, and the input that arrived since, in order. */
  private stream: Iterator<OfpMessage> | undefined;
  private held: FramerOutput[] = [];
  private heldHead = 0;
  private heldBytes = 0;
  private pumping = false;

  constructor(
    private readonly socket: Socket,
    source: ByteSource,
    opts: ChannelOptions,
    handlers: ChannelHandlers,
  ) {
    this.handlers = handlers;
    this.label = opts.label;
    this.log = opts.log;
    this.limited = opts.limited?.through(opts.log) ?? new RateLimitedLog(opts.log);
    this.scheduler = opts.scheduler;
    this.keepalive = opts.keepalive;
    this.helloTimeoutMs = opts.helloTimeoutMs;
    this.answerMalformed = opts.answerMalformed;
    this.versions = opts.versions ?? SUPPORTED_VERSIONS;
    this.firstXid = opts.firstXid ?? 1;
    this.xid = this.firstXid;
    this.readsDirect = source.direct;
    this.remote = peerName(socket);
    socket.setNoDelay(true);
    this.gate = new ReadGate(socket);
    this.queue = new SendQueue(socket, opts.sendQueue, {
      onPressure: (paused) => {
        if (!paused) this.heard(); // the peer is reading what we send: it is alive
        this.gate.set("output", paused);
      },
      onOverflow: () => this.close("send queue overflow"),
    });
    source.start((chunk) => this.received(chunk));
    socket.on("error", (err) => this.close(`socket error: ${err.message}`));
    socket.on("close", () => this.peerClosed());
    socket.on("end", () => this.peerClosed());
    this.send(helloFor(this.nextXid(), this.versions));
    this.armTimer(this.helloTimeoutMs ?? this.keepalive.idleMs);
  }

  get ready(): boolean {
    return this.state === "ready";
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  /** True while a streamed reply is being produced. */
  get streaming(): boolean {
    return this.stream !== undefined;
  }

  /** Where messages go from now on (e.g. once the controller's handshake has ended). */
  setHandlers(handlers: ChannelHandlers): void {
    this.handlers = handlers;
  }

  /** A fresh transaction id for a message we originate. */
  nextXid(): number {
    const x = this.xid;
    this.xid = this.xid >= 0xffffffff ? this.firstXid : this.xid + 1;
    return x;
  }

  /** Encodes and queues `msg`; false when the queue refused it or the channel is closed.
   * A `droppable` message (packet-in) is refused first when the peer falls behind, and only
   * goes out once the channel is ready. */
  send(msg: OfpMessage, droppable = false): boolean {
    if (this.state === "closed") return false;
    if (droppable && (this.state !== "ready" || !this.queue.admitsDroppable())) return false;
    return this.queue.push(encodeMessage(msg), droppable);
  }

  /** Queues whole messages already encoded; false when refused. */
  sendEncoded(bytes: Buffer): boolean {
    return this.state !== "closed" && this.queue.push(bytes);
  }

  /** Sends an OFPT_ERROR for `err` (xid from its data unless given). */
  sendError(err: OfpError, xid?: number): void {
    this.errorsSent++;
    this.send(errorToMessage(err, xid));
  }

  /**
   * Sends the messages of `source` as the peer reads them; input that arrives meanwhile is
   * handed to the owner, in order, once the stream has ended.
   */
  sendStream(source: Iterator<OfpMessage>): void {
    if (this.state === "closed") return;
    if (this.stream !== undefined) throw new Error("a stream is already being sent");
    this.stream = source;
    this.pump();
  }

  /** Flushes what is queued and closes; the socket is destroyed after `graceMs` at most. */
  close(reason: string, graceMs = 1000): void {
    if (this.state === "closed") return;
    this.state = "closed";
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.close();
    this.stream = undefined;
    this.held = [];
    this.heldHead = 0;
    this.heldBytes = 0;
    // Input is no longer handled: stop reading, so that a peer that keeps sending during the
    // grace period fills its own buffers, not ours (it used to be read and framed at full speed,
    // hundreds of MB a second of garbage or packet-ins).
    this.gate.set("closed", true);
    this.socket.end();
    if (this.socket.readableEnded) this.socket.destroy();
    // A peer that never reads would keep a half-closed socket forever.
    else setTimeout(() => this.socket.destroy(), graceMs).unref();
    this.handlers.onClose(this, reason);
  }

  // ---- input ----

  private received(chunk: Buffer): void {
    if (this.state === "closed") return; // what a read brought as the channel closed
    this.heard();
    this.framer.push(chunk);
    // A queued channel waits for its turn; otherwise this read is handled now, up to the budget,
    // and whatever is left waits for the next turn with reading paused. Its answers are written
    // once the I/O poll has read the other sockets that were ready with this one
    // (SendQueue.release(true)): reads and writes of one poll do not interleave.
    if (this.backlogged || this.running) return;
    if (this.runInput(this.scheduler.budget, true)) this.enqueue();
  }

  /** Handles up to `budget` pieces of input; true if more may be waiting. The answers leave in
   * one write as the slice ends, or with `afterPoll` once the current I/O poll is over. */
  runInput(budget: number, afterPoll = false): boolean {
    this.running = true;
    this.queue.hold(); // one write for the answers to this slice
    try {
      for (let n = 0; n < budget; n++) {
        if (this.state === "closed") return false;
        const out = this.nextInput();
        if (out === null) return false;
        if (this.stream !== undefined && !urgent(out)) this.hold(out);
        else this.process(out);
      }
      return this.state !== "closed";
    } finally {
      this.running = false;
      this.queue.release(afterPoll);
    }
  }

  backlogCleared(): void {
    this.backlogged = false;
    if (this.state !== "closed") this.gate.set("backlog", false);
  }

  /** Input left for a later turn: stop reading until the scheduler has handled it. */
  private enqueue(): void {
    this.backlogged = true;
    this.gate.set("backlog", true);
    this.scheduler.add(this);
  }

  /** Held input first once no stream is sent, then what the framer has. */
  private nextInput(): FramerOutput | null {
    if (this.stream === undefined && this.heldHead < this.held.length) {
      const out = this.held[this.heldHead++];
      if (this.heldHead === this.held.length) {
        this.held = [];
        this.heldHead = 0;
      }
      this.heldBytes -= heldSize(out);
      if (this.heldBytes <= HELD_LIMIT / 2) this.gate.set("stream", false);
      return out;
    }
    return this.framer.next();
  }

  private hold(out: FramerOutput): void {
    this.held.push(out);
    this.heldBytes += heldSize(out);
    if (this.heldBytes > HELD_LIMIT) this.gate.set("stream", true);
  }

  /** What the peer sent before it closed still reaches the owner (e.g. FLOW_REMOVED). */
  private peerClosed(): void {
    if (this.state === "closed") return;
    if (!this.running) this.runInput(Number.MAX_SAFE_INTEGER);
    this.close("connection closed by peer");
  }

  private process(out: FramerOutput): void {
    if (out.kind === "error") {
      this.malformed(
        { header: out.header.toString("hex"), reason: out.reason },
        `malformed OpenFlow stream: ${out.detail}`,
        "malformed OpenFlow stream",
      );
      if (this.answerMalformed) this.sendError(errorFrom(out));
      if (out.fatal) this.close(`malformed stream: ${out.detail}`);
      return;
    }
    const raw = out.data;
    let msg: OfpMessage;
    try {
      msg = decodeMessage(raw);
    } catch (e) {
      if (!(e instanceof OfpError)) throw e;
      this.malformed(
        { pair: e.pair, bytes: raw.subarray(0, 64).toString("hex") },
        `malformed message: ${e.message}`,
        "malformed message",
      );
      if (this.state === "hello") this.helloFailed(`malformed message before HELLO: ${e.pair}`);
      else if (this.answerMalformed) this.sendError(e);
      return;
    }
    if (this.state === "hello") this.hello(msg);
    else if (msg.type === OFPT.ECHO_REQUEST)
      this.send({ type: OFPT.ECHO_REPLY, xid: msg.xid, data: msg.data });
    else if (msg.type === OFPT.HELLO) this.log.debug("duplicate HELLO ignored");
    else if (msg.type !== OFPT.ECHO_REPLY) this.handlers.onMessage(this, msg, raw);
  }

  private malformed(fields: Record<string, unknown>, text: string, kind: string): void {
    // Answered, the peer learns of it; unanswered, this log line is all there is.
    if (this.answerMalformed) this.limited.warn(fields, text, kind);
    else this.limited.error(fields, text, kind);
  }

  private hello(msg: OfpMessage): void {
    if (msg.type === OFPT.ERROR) {
      // Never answer an error with an error: the peer refused us (e.g. HELLO_FAILED).
      const pair = errorPairName(msg.errType, msg.code);
      this.limited.warn({ pair }, "peer sent an error instead of HELLO");
      this.close(`error during the HELLO exchange: ${pair}`);
      return;
    }
    if (msg.type !== OFPT.HELLO) {
      this.helloFailed(`expected HELLO, received message type ${msg.type}`);
      return;
    }
    const version = negotiateVersion(msg, this.versions);
    if (version === null) {
      const ours = this.versions.map(hex).join(", ");
      this.helloFailed(
        `peer offers OpenFlow version ${hex(msg.version)}; only ${ours} ${
          this.versions.length > 1 ? "are" : "is"
        } supported`,
        msg.xid,
      );
      return;
    }
    this.version = version;
    this.state = "ready";
    this.wasReady = true;
    this.handlers.onReady(this);
  }

  /** HELLO_FAILED/INCOMPATIBLE, then close, as OpenFlow prescribes for failed negotiation. */
  private helloFailed(text: string, xid = 0): void {
    this.limited.warn({ reason: text }, "version negotiation failed");
    this.sendError(OfpError.helloFailed(OFPHFC.INCOMPATIBLE, text), xid);
    this.close(text);
  }

  // ---- streams ----

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const src = this.stream;
        if (src === undefined || this.state === "closed") return;
        if (this.queue.unsentBytes >= STREAM_LOW_WATER) {
          this.queue.onWritable(STREAM_LOW_WATER, () => this.pump());
          return;
        }
        const r = src.next();
        if (r.done === true) {
          this.stream = undefined;
          this.resumeHeld();
          return;
        }
        if (!this.send(r.value)) return;
      }
    } catch (err) {
      this.log.error({ err }, "reply stream failed");
      this.close("reply stream failed");
    } finally {
      this.pumping = false;
    }
  }

  /** The stream ended: input held behind it gets its turn (at once inside runInput, which goes
   * on with it; otherwise from the scheduler). */
  private resumeHeld(): void {
    if (this.running || this.backlogged || this.state === "closed") return;
    if (this.heldHead === this.held.length && this.framer.bufferedBytes === 0) return;
    this.enqueue();
  }

  // ---- keepalive ----

  /** Any sign of life: input, or the peer reading what we send. */
  private heard(): void {
    this.lastRx = performance.now();
    this.probeSentAt = -1;
  }

  private armTimer(ms: number): void {
    this.timer = setTimeout(() => this.probe(), Math.max(1, ms));
    this.timer.unref();
  }

  /** Runs when the line may have been idle for a probe interval. */
  private probe(): void {
    this.timer = undefined;
    if (this.state === "closed") return;
    const now = performance.now();
    const { idleMs, timeoutMs } = this.keepalive;
    if (this.state === "hello") {
      const limit = this.helloTimeoutMs;
      if (limit === undefined) this.armTimer(idleMs);
      else if (now - this.lastRx >= limit) this.helloFailed(`no HELLO within ${limit} ms`);
      else this.armTimer(this.lastRx + limit - now);
      return;
    }
    // Not reading because of our own backlog (or a stream): the peer is not the idle one.
    if (this.gate.holds("backlog") || this.gate.holds("stream")) this.heard();
    if (this.probeSentAt >= 0) {
      if (now - this.probeSentAt >= timeoutMs) {
        this.close(`no reply to echo request within ${timeoutMs} ms`);
        return;
      }
      this.armTimer(this.probeSentAt + timeoutMs - now);
      return;
    }
    const idle = now - this.lastRx;
    if (idle >= idleMs) {
      this.probeSentAt = now;
      this.send({ type: OFPT.ECHO_REQUEST, xid: this.nextXid(), data: Buffer.alloc(0) });
      this.armTimer(timeoutMs);
      return;
    }
    this.armTimer(idleMs - idle);
  }
}
