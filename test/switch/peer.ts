// An in-process OpenFlow controller built from the codec, for switch tests: it connects to a
// switch's listener (or accepts the switch's connection), does the HELLO exchange and lets a
// test send messages or raw bytes and wait (bounded) for what comes back.
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import { OFPT } from "../../src/openflow/of10/constants.js";
import { MessageFramer } from "../../src/ofchannel/framer.js";
import type { MessageOf, OfpMessage } from "../../src/openflow/of10/messages.js";
import type { OfpType } from "../../src/openflow/of10/constants.js";

export class ControllerPeer {
  readonly inbox: OfpMessage[] = [];
  closed = false;
  private readonly framer = new MessageFramer();
  private waiters: (() => void)[] = [];
  private nextXid = 0x1000;
  /** Answer the switch's echo probes (turn off to test the inactivity probe). */
  answerEchoes = true;

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.framer.feed(chunk, (out) => {
        if (out.kind !== "message") return;
        const msg = decodeMessage(out.data);
        if (msg.type === OFPT.ECHO_REQUEST && this.answerEchoes) {
          this.send({ type: OFPT.ECHO_REPLY, xid: msg.xid, data: msg.data });
        }
        this.inbox.push(msg);
      });
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  /** Connects to a switch listening on `port`, exchanges HELLOs and waits until the switch
   * has processed ours (a BARRIER round trip). */
  static async connect(port: number, hello = true, host = "127.0.0.1"): Promise<ControllerPeer> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const peer = new ControllerPeer(socket);
    if (hello) await peer.handshake();
    return peer;
  }

  async handshake(): Promise<void> {
    this.send({ type: OFPT.HELLO, xid: 1, version: 1, body: Buffer.alloc(0) });
    await this.expect(OFPT.HELLO);
    await this.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
  }

  xid(): number {
    return this.nextXid++;
  }

  send(msg: OfpMessage): void {
    this.socket.write(encodeMessage(msg));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends `msg` with a fresh xid (when 0) and returns the first reply or error with that
   * xid; multipart replies are gathered with `all`. */
  async request(msg: OfpMessage, timeoutMs = 2000): Promise<OfpMessage> {
    const xid = msg.xid || this.xid();
    this.send({ ...msg, xid });
    return this.take((m) => m.xid === xid && m.type !== OFPT.ECHO_REQUEST, timeoutMs);
  }

  /** Every STATS_REPLY part for one request (until one without REPLY_MORE). */
  async stats(msg: MessageOf<typeof OFPT.STATS_REQUEST>): Promise<OfpMessage[]> {
    const xid = msg.xid || this.xid();
    this.send({ ...msg, xid });
    const parts: OfpMessage[] = [];
    for (;;) {
      const m = await this.take((x) => x.xid === xid);
      parts.push(m);
      if (m.type !== OFPT.STATS_REPLY || (m.flags & 1) === 0) return parts;
    }
  }

  /** The next message of `type` (others stay in the inbox). */
  async expect<T extends OfpType>(type: T, timeoutMs = 2000): Promise<MessageOf<T>> {
    return (await this.take((m) => m.type === type, timeoutMs)) as MessageOf<T>;
  }

  /** Removes and returns the first message satisfying `pred`, waiting up to `timeoutMs`. */
  async take(pred: (m: OfpMessage) => boolean, timeoutMs = 2000): Promise<OfpMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) {
        const seen = this.inbox.map((m) => m.type).join(",");
        throw new Error(
          `no matching message within ${timeoutMs} ms (closed=${this.closed}; inbox types: ${seen})`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Messages of `type` received so far (removed from the inbox). */
  drain<T extends OfpType>(type: T): MessageOf<T>[] {
    const out = this.inbox.filter((m) => m.type === type) as MessageOf<T>[];
    for (const m of out) this.inbox.splice(this.inbox.indexOf(m), 1);
    return out;
  }

  /** Resolves when the switch closes the connection (bounded). */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("connection still open");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A listening controller for switches that connect actively. */
export class ControllerListener {
  readonly accepted: ControllerPeer[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly server: Server) {
    server.on("connection", (socket) => {
      this.accepted.push(new ControllerPeer(socket));
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  static async listen(port = 0): Promise<ControllerListener> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    return new ControllerListener(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The n-th accepted connection (0-based), waiting up to `timeoutMs` for it. */
  async accept(n = this.accepted.length, timeoutMs = 3000): Promise<ControllerPeer> {
    const deadline = Date.now() + timeoutMs;
    while (this.accepted.length <= n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no connection #${n} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.accepted[n];
  }

  async close(): Promise<void> {
    for (const p of this.accepted) p.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
