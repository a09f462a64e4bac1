// One OpenFlow 1.0 session over a TCP socket, from the switch's side: framing and decoding,
// the HELLO exchange, echo probes on an idle line (OVS's inactivity_probe), answers to
// ECHO_REQUEST, and protocol errors for malformed input. Everything else is handed to the
// owner (the switch) through SessionHandlers. The codec stays I/O-free; this is the I/O.
//
// Long replies (flow dumps) are streams: the owner hands sendStream() an iterator of messages
// and the connection pulls from it only while the peer reads (the send queue signals when it
// has room), so a million-entry dump never sits in memory. Until the stream ends, later requests
// wait here in order, as Open vSwitch stops reading a connection whose replies are backed up
// (ofconn_may_recv); ECHO_REQUEST is still answered at once, so the session stays alive. Held
// requests are bounded: past HELD_LIMIT bytes the socket is paused and TCP pushes back.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { decodeMessage, encodeMessage } from "../openflow/of10/codec.js";
import { OFP_VERSION, OFPHFC, OFPT } from "../openflow/of10/constants.js";
import { OfpError, errorToMessage } from "../openflow/of10/errors.js";
import { MessageFramer, errorFrom, type FramerOutput } from "./framer.js";
import type { MessageOf, OfpMessage } from "../openflow/of10/messages.js";
import { SendQueue, type SendQueueLimits } from "./send-queue.js";
import type { SessionRole } from "./targets.js";

export const DEFAULT_PROBE_INTERVAL_MS = 5000;
/** A stream produces while fewer bytes than this are unsent (at least the socket's 16 KiB
 * high-water mark; well under the 256 KiB past which packet-ins are dropped). */
export const STREAM_LOW_WATER = 64 * 1024;
/** Bytes of requests held behind a stream before the socket is paused. */
export const HELD_LIMIT = 1024 * 1024;
/** OF1.3+ hello element carrying the version bitmap. */
const HELLO_ELEM_VERSIONBITMAP = 1;

export interface ConnectionOptions {
  /** Idle time before an echo probe, and how long the probe has to be answered. */
  probeIntervalMs?: number;
  queueLimits?: SendQueueLimits;
  log: Logger;
  /** For logs, e.g. "tcp:127.0.0.1:6653". */
  label: string;
  /** Primary controller (an active target) or service session (accepted on a listener). */
  role: SessionRole;
}

export interface SessionHandlers {
  onReady(conn: ControllerConnection): void;
  /** A decoded message other than HELLO/ECHO; `raw` is its bytes (valid during the call). */
  onMessage(conn: ControllerConnection, msg: OfpMessage, raw: Buffer): void;
  onClose(conn: ControllerConnection, reason: string): void;
}

export type SessionState = "hello" | "ready" | "closed";

const heldSize = (out: FramerOutput): number =>
  out.kind === "message" ? out.data.length : out.header.length;

/** The peer's HELLO allows OpenFlow 1.0: its version is at least 1 and, when it lists its
 * versions in a bitmap (OF1.3.1+), version 1 is among them. */
export function helloAcceptsV1(hello: MessageOf<typeof OFPT.HELLO>): boolean {
  if (hello.version < OFP_VERSION) return false;
  const body = hello.body;
  for (let off = 0; off + 4 <= body.length;) {
    const type = body.readUInt16BE(off);
    const len = body.readUInt16BE(off + 2);
    if (len < 4 || off + len > body.length) break;
    if (type === HELLO_ELEM_VERSIONBITMAP && len >= 8)
      return (body.readUInt32BE(off + 4) & 2) !== 0;
    off += (len + 7) & ~7;
  }
  return true;
}

export class ControllerConnection {
  state: SessionState = "hello";
  /** True once the HELLO exchange succeeded (stays true after close). */
  wasReady = false;
  readonly queue: SendQueue;
  readonly label: string;
  readonly role: SessionRole;
  /** Protocol errors sent back for malformed messages. */
  errorsSent = 0;
  private readonly framer = new MessageFramer();
  private readonly probeMs: number;
  private readonly log: Logger;
  private lastRx = performance.now();
  private probeSentAt = -1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private nextXid = 1;
  /** The reply being streamed, and the requests that arrived since, in order. */
  private stream: Iterator<OfpMessage> | undefined;
  private held: FramerOutput[] = [];
  private heldBytes = 0;
  private pumping = false;

  constructor(
    private readonly socket: Socket,
    opts: ConnectionOptions,
    private readonly handlers: SessionHandlers,
  ) {
    this.label = opts.label;
    this.role = opts.role;
    this.log = opts.log;
    this.probeMs = opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    socket.setNoDelay(true);
    this.queue = new SendQueue(socket, () => this.close("send queue overflow"), opts.queueLimits);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (err) => this.close(`socket error: ${err.message}`));
    socket.on("close", () => this.close("connection closed by peer"));
    socket.on("end", () => this.close("connection closed by peer"));
    this.send({ type: OFPT.HELLO, xid: this.xid(), version: OFP_VERSION, body: Buffer.alloc(0) });
    this.armTimer(this.probeMs);
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** A fresh transaction id for messages the switch originates. */
  xid(): number {
    const x = this.nextXid;
    this.nextXid = (this.nextXid + 1) >>> 0 || 1;
    return x;
  }

  /** Encodes and queues `msg`; false when the session is closed. */
  send(msg: OfpMessage): boolean {
    if (this.state === "closed") return false;
    return this.queue.push(encodeMessage(msg));
  }

  /** Sends an OFPT_ERROR for `err` (xid from its data unless given). */
  sendError(err: OfpError, xid?: number): void {
    this.errorsSent++;
    this.send(errorToMessage(err, xid));
  }

  /** True while a streamed reply is being produced. */
  get streaming(): boolean {
    return this.stream !== undefined;
  }

  /**
   * Sends the messages of `source` as the peer reads them; requests that arrive meanwhile are
   * handed to the owner, in order, once the stream has ended.
   */
  sendStream(source: Iterator<OfpMessage>): void {
    if (this.state === "closed") return;
    if (this.stream !== undefined) throw new Error("a stream is already being sent");
    this.stream = source;
    this.pump();
  }

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
          this.releaseHeld();
          if (this.stream === undefined) return;
        } else if (!this.send(r.value)) return;
      }
    } catch (err) {
      this.log.error({ controller: this.label, err }, "reply stream failed");
      this.close("reply stream failed");
    } finally {
      this.pumping = false;
    }
  }

  /** Hands held requests to the owner until one of them starts another stream. */
  private releaseHeld(): void {
    while (this.stream === undefined && this.held.length > 0 && this.state !== "closed") {
      const out = this.held.shift()!;
      this.heldBytes -= heldSize(out);
      this.process(out);
    }
    if (this.heldBytes <= HELD_LIMIT / 2 && this.socket.isPaused()) this.socket.resume();
  }

  /** Sends a PACKET_IN unless the peer is behind; false when it was dropped. */
  sendPacketIn(msg: MessageOf<typeof OFPT.PACKET_IN>): boolean {
    if (this.state !== "ready" || !this.queue.admitsPacketIn(msg.data.length + 18)) return false;
    return this.send(msg);
  }

  /** Flushes what is queued and closes; the socket is destroyed after `graceMs` at most. */
  close(reason: string, graceMs = 1000): void {
    if (this.state === "closed") return;
    const wasReady = this.state === "ready";
    this.state = "closed";
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.close();
    this.stream = undefined;
    this.held = [];
    this.heldBytes = 0;
    this.socket.end();
    if (this.socket.readableEnded) this.socket.destroy();
    // A peer that never reads would keep a half-closed socket forever.
    else setTimeout(() => this.socket.destroy(), graceMs).unref();
    this.log[wasReady ? "info" : "debug"]({ controller: this.label, reason }, "session closed");
    this.handlers.onClose(this, reason);
  }

  private receive(chunk: Buffer): void {
    this.lastRx = performance.now();
    this.probeSentAt = -1;
    this.framer.feed(chunk, (out) => {
      if (this.state !== "closed") this.frame(out);
    });
  }

  /** A framed message or framing error, in arrival order; while a stream is being sent,
   * everything but ECHO_REQUEST and a fatal framing error waits (errors included, so that no
   * answer overtakes a held BARRIER_REQUEST's). */
  private frame(out: FramerOutput): void {
    const urgent =
      out.kind === "error" ? out.fatal : out.data.length >= 2 && out.data[1] === OFPT.ECHO_REQUEST;
    if (this.stream !== undefined && !urgent) this.hold(out);
    else this.process(out);
  }

  private process(out: FramerOutput): void {
    if (out.kind === "error") {
      this.log.warn({ controller: this.label, detail: out.detail }, "bad message length");
      this.sendError(errorFrom(out));
      if (out.fatal) this.close("unrecoverable framing error");
      return;
    }
    const raw = out.data;
    let msg: OfpMessage;
    try {
      msg = decodeMessage(raw);
    } catch (e) {
      if (!(e instanceof OfpError)) throw e;
      this.log.warn({ controller: this.label, error: e.message }, "malformed message");
      if (this.state === "hello") this.helloFailed(`malformed message before HELLO: ${e.pair}`);
      else this.sendError(e);
      return;
    }
    if (this.state === "hello") this.hello(msg);
    else if (msg.type === OFPT.ECHO_REQUEST)
      this.send({ type: OFPT.ECHO_REPLY, xid: msg.xid, data: msg.data });
    else if (msg.type !== OFPT.ECHO_REPLY && msg.type !== OFPT.HELLO)
      this.handlers.onMessage(this, msg, raw);
  }

  private hold(out: FramerOutput): void {
    this.held.push(out);
    this.heldBytes += heldSize(out);
    if (this.heldBytes > HELD_LIMIT) this.socket.pause();
  }

  private hello(msg: OfpMessage): void {
    if (msg.type !== OFPT.HELLO) {
      this.helloFailed(`expected HELLO, received message type ${msg.type}`);
      return;
    }
    if (!helloAcceptsV1(msg)) {
      this.helloFailed(
        `peer speaks OpenFlow version 0x${msg.version.toString(16)}, not 0x01`,
        msg.xid,
      );
      return;
    }
    this.state = "ready";
    this.wasReady = true;
    this.log.info(
      { controller: this.label, peer: this.remote, role: this.role },
      "session established (OpenFlow 1.0)",
    );
    this.handlers.onReady(this);
  }

  private helloFailed(text: string, xid = 0): void {
    this.log.warn({ controller: this.label, reason: text }, "version negotiation failed");
    this.sendError(OfpError.helloFailed(OFPHFC.INCOMPATIBLE, text), xid);
    this.close(text);
  }

  private armTimer(ms: number): void {
    this.timer = setTimeout(() => this.probe(), Math.max(1, ms));
    this.timer.unref();
  }

  /** Runs when the line may have been idle for a probe interval. */
  private probe(): void {
    if (this.state === "closed") return;
    const now = performance.now();
    if (this.state === "hello" && now - this.lastRx >= this.probeMs) {
      this.helloFailed("no HELLO within the probe interval");
      return;
    }
    if (this.socket.isPaused()) {
      // We stopped reading (requests held behind a stream): the peer is not the idle one.
      this.lastRx = now;
      this.probeSentAt = -1;
      this.armTimer(this.probeMs);
      return;
    }
    if (this.probeSentAt >= 0) {
      if (now - this.probeSentAt >= this.probeMs) {
        this.close(`no answer to the echo probe within ${this.probeMs} ms`);
        return;
      }
      this.armTimer(this.probeSentAt + this.probeMs - now);
      return;
    }
    const idle = now - this.lastRx;
    if (idle >= this.probeMs && this.state === "ready") {
      this.probeSentAt = now;
      this.send({ type: OFPT.ECHO_REQUEST, xid: this.xid(), data: Buffer.alloc(0) });
      this.armTimer(this.probeMs);
      return;
    }
    this.armTimer(this.probeMs - idle);
  }
}
