// One OpenFlow 1.0 channel to a switch, from the controller's side: framing and decoding,
// HELLO and version negotiation, FEATURES_REQUEST, ECHO keepalive, requests by xid, a bounded,
// batched output queue, and input handled in budgeted slices (InputScheduler) so that no switch
// can starve another. It knows nothing of applications: once the switch has answered
// FEATURES_REQUEST it hands over (onReady) and from then on passes every message that is not
// its own business (echo, replies to pending requests) to the receiver onReady returned.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { OFP_VERSION, OFPHFC, OFPT, type OfpType } from "../openflow/of10/constants.js";
import { decodeMessage, encodeMessage } from "../openflow/of10/codec.js";
import { OfpError, errorPairName, errorToMessage } from "../openflow/of10/errors.js";
import { MessageFramer, type FramerOutput } from "../ofchannel/framer.js";
import type { MessageOf, OfpMessage } from "../openflow/of10/messages.js";
// The switch side negotiates the same way: min(ours, theirs) must be 1.0.
import { helloAcceptsV1 } from "../ofchannel/connection.js";
import type { BacklogOwner, InputScheduler } from "./input-scheduler.js";
import { OutputQueue, type OutputQueueOptions } from "./output-queue.js";
import { ReadGate } from "./read-gate.js";
import { streamReads, type ByteSource } from "./socket-reads.js";
import { PendingRequests, RequestFailed } from "./requests.js";

export interface ConnectionOptions {
  /** Send ECHO_REQUEST after this long without hearing from the switch (ms). */
  echoIntervalMs: number;
  /** Disconnect when nothing arrives this long after an ECHO_REQUEST (ms). */
  echoTimeoutMs: number;
  /** Time allowed for HELLO + FEATURES_REPLY (ms). */
  handshakeTimeoutMs: number;
  /** Default time allowed for a request's reply (ms). */
  requestTimeoutMs: number;
  output: OutputQueueOptions;
}

export interface ConnectionHooks {
  /** The switch joined; returns where its messages go from now on. */
  onReady(
    conn: OfConnection,
    features: MessageOf<typeof OFPT.FEATURES_REPLY>,
  ): (msg: OfpMessage) => void;
  onClose(conn: OfConnection, reason: string): void;
}

type State = "hello" | "features" | "ready" | "closed";

const FIRST_XID = 0x100; // below are left to applications that pick their own xids

export class OfConnection implements BacklogOwner {
  readonly remote: string;
  readonly pending = new PendingRequests();
  readonly output: OutputQueue;
  /** Whether the socket reads straight into our slabs (socket-reads.ts) or through 'data'. */
  readonly readsDirect: boolean;
  private state: State = "hello";
  /** Set by onReady: the receiver of a joined switch's messages. */
  private receiver: ((msg: OfpMessage) => void) | null = null;
  private readonly framer = new MessageFramer();
  private readonly gate: ReadGate;
  /** Queued in the InputScheduler: received messages wait for a turn. */
  private backlogged = false;
  private xid = FIRST_XID;
  private lastRx = Date.now();
  private probeSentAt = -1;
  private readonly keepalive: NodeJS.Timeout;
  private handshakeTimer: NodeJS.Timeout | null;

  constructor(
    readonly socket: Socket,
    private readonly options: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
    readonly log: Logger,
    private readonly scheduler: InputScheduler,
    source: ByteSource = streamReads(socket),
  ) {
    this.readsDirect = source.direct;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    this.gate = new ReadGate(socket);
    this.output = new OutputQueue(socket, options.output, {
      onPressure: (paused) => {
        if (!paused) this.heard(); // the switch is reading what we send: it is alive
        this.gate.set("output", paused);
      },
      onOverflow: () => this.close("output queue overflow"),
    });
    source.start((chunk) => this.received(chunk));
    socket.on("error", (err) => this.close(`socket error: ${err.message}`));
    socket.on("close", () => this.peerClosed());
    socket.on("end", () => this.peerClosed());
    const tick = Math.max(10, Math.min(options.echoIntervalMs, options.echoTimeoutMs) / 2);
    this.keepalive = setInterval(() => this.checkAlive(), tick);
    this.handshakeTimer = setTimeout(
      () => this.close(`no handshake within ${options.handshakeTimeoutMs} ms`),
      options.handshakeTimeoutMs,
    );
    this.send({
      type: OFPT.HELLO,
      xid: this.nextXid(),
      version: OFP_VERSION,
      body: Buffer.alloc(0),
    });
  }

  get ready(): boolean {
    return this.state === "ready";
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  private received(chunk: Buffer): void {
    this.heard();
    this.framer.push(chunk);
    // A queued connection waits for its turn; otherwise this read is handled now, up to the
    // budget, and whatever is left waits for the next turn with reading paused. Its answers are
    // written once the I/O poll has read the other sockets that were ready with this one
    // (OutputQueue.release(true)): reads and writes of one poll do not interleave.
    if (this.backlogged || !this.runInput(this.scheduler.budget, true)) return;
    this.backlogged = true;
    this.gate.set("backlog", true);
    this.scheduler.add(this);
  }

  /** Handles up to `budget` received messages; true if more may be waiting. The answers leave
   * in one write as the slice ends, or with `afterPoll` once the current I/O poll is over. */
  runInput(budget: number, afterPoll = false): boolean {
    // Reading is paused for our own backlog, not for the switch's silence: it counts as heard.
    if (this.backlogged) this.heard();
    this.output.hold(); // one write for the answers to this slice
    try {
      for (let n = 0; n < budget; n++) {
        if (this.state === "closed") return false;
        const out = this.framer.next();
        if (out === null) return false;
        this.handleFramed(out);
      }
      return this.state !== "closed";
    } finally {
      this.output.release(afterPoll);
    }
  }

  /** What the switch sent before it closed still reaches the applications (e.g. FLOW_REMOVED). */
  private peerClosed(): void {
    if (this.backlogged) this.runInput(Number.MAX_SAFE_INTEGER);
    this.close("connection closed by peer");
  }

  backlogCleared(): void {
    this.backlogged = false;
    if (this.state !== "closed") this.gate.set("backlog", false);
  }

  nextXid(): number {
    const x = this.xid;
    this.xid = this.xid >= 0xffffffff ? FIRST_XID : this.xid + 1;
    return x;
  }

  /** Encodes and queues `msg`; false if the output queue refused it or the channel is closed. */
  send(msg: OfpMessage): boolean {
    return this.output.push(encodeMessage(msg));
  }

  /** Sends `msg` (its xid is replaced) and waits for its reply (all parts of a stats reply). */
  request(
    msg: OfpMessage,
    replyType: OfpType,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<OfpMessage[]> {
    if (this.state === "closed") {
      return Promise.reject(new RequestFailed("disconnected", `${this.remote} is disconnected`));
    }
    const xid = this.nextXid();
    const reply = this.pending.wait(xid, replyType, timeoutMs);
    if (!this.send({ ...msg, xid })) {
      this.pending.fail(
        xid,
        new RequestFailed("queue-full", `output queue to ${this.remote} full`),
      );
    }
    return reply;
  }

  close(reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    clearInterval(this.keepalive);
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.output.flush(); // e.g. a HELLO_FAILED error queued just before
    this.output.close();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.pending.failAll(new RequestFailed("disconnected", `${this.remote}: ${reason}`));
    this.hooks.onClose(this, reason);
  }

  /** Any sign of life: a message, or progress on what we send. */
  private heard(): void {
    this.lastRx = Date.now();
    this.probeSentAt = -1;
  }

  private checkAlive(): void {
    const now = Date.now();
    if (this.probeSentAt >= 0) {
      if (now - this.probeSentAt >= this.options.echoTimeoutMs) {
        this.close(`no reply to echo request within ${this.options.echoTimeoutMs} ms`);
      }
    } else if (now - this.lastRx >= this.options.echoIntervalMs) {
      this.probeSentAt = now;
      this.send({ type: OFPT.ECHO_REQUEST, xid: this.nextXid(), data: Buffer.alloc(0) });
    }
  }

  private handleFramed(out: FramerOutput): void {
    if (this.state === "closed") return;
    if (out.kind === "error") {
      this.log.error(
        { remote: this.remote, header: out.header.toString("hex"), reason: out.reason },
        `malformed OpenFlow stream: ${out.detail}`,
      );
      if (out.fatal) this.close(`malformed stream: ${out.detail}`);
      return;
    }
    let msg: OfpMessage;
    try {
      msg = decodeMessage(out.data);
    } catch (e) {
      // As NOX and Ryu do: log and carry on; the switch's next message is still well framed.
      const err = e as OfpError;
      this.log.error(
        { remote: this.remote, pair: err.pair, bytes: out.data.subarray(0, 64).toString("hex") },
        `malformed message from switch: ${err.message}`,
      );
      return;
    }
    this.handleMessage(msg);
  }

  private handleMessage(msg: OfpMessage): void {
    switch (msg.type) {
      case OFPT.ECHO_REQUEST:
        this.send({ type: OFPT.ECHO_REPLY, xid: msg.xid, data: msg.data });
        return;
      case OFPT.ECHO_REPLY:
        return; // any message proves liveness; the probe was cleared on receipt
      case OFPT.HELLO:
        this.handleHello(msg);
        return;
    }
    if (this.state !== "ready" && msg.type === OFPT.ERROR) {
      const pair = errorPairName(msg.errType, msg.code);
      this.log.error({ remote: this.remote, pair }, "switch sent an error during the handshake");
      this.close(`handshake error ${pair}`);
      return;
    }
    if (this.state === "hello") {
      this.fail(`expected HELLO, got message type ${msg.type}`);
      return;
    }
    if (this.pending.settle(msg)) return;
    if (this.state === "ready") {
      this.receiver!(msg);
    } else if (msg.type === OFPT.FEATURES_REPLY) {
      this.state = "ready";
      if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
      this.handshakeTimer = null;
      this.receiver = this.hooks.onReady(this, msg);
    } else {
      this.log.debug({ remote: this.remote, type: msg.type }, "message before features reply");
    }
  }

  private handleHello(msg: MessageOf<typeof OFPT.HELLO>): void {
    if (this.state !== "hello") {
      this.log.warn({ remote: this.remote }, "duplicate HELLO ignored");
      return;
    }
    if (!helloAcceptsV1(msg)) {
      this.fail(`switch offers version 0x${msg.version.toString(16)}; only 0x01 is supported`);
      return;
    }
    this.state = "features";
    this.send({ type: OFPT.FEATURES_REQUEST, xid: this.nextXid() });
  }

  /** HELLO_FAILED/INCOMPATIBLE, then close, as OpenFlow prescribes for failed negotiation. */
  private fail(text: string): void {
    this.log.error({ remote: this.remote }, text);
    this.send(errorToMessage(OfpError.helloFailed(OFPHFC.INCOMPATIBLE, text), 0));
    this.close(text);
  }
}
