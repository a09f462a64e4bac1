// An in-process OpenFlow 1.0 switch built from the codec, over a real TCP socket, for testing
// the controller library: it sends what a test tells it and records what the controller sends.
import { connect, type Socket } from "node:net";
import { OFP_VERSION, OFPT, type OfpType } from "../../src/openflow/of10/constants.js";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import { MessageFramer } from "../../src/ofchannel/framer.js";
import type { MessageOf, OfpMessage } from "../../src/openflow/of10/messages.js";
import type { PhyPort } from "../../src/openflow/of10/types.js";

export function phyPort(portNo: number, name = `eth${portNo}`): PhyPort {
  const hex = portNo.toString(16).padStart(2, "0");
  return {
    portNo,
    hwAddr: `02:00:00:00:00:${hex}`,
    name,
    config: 0,
    state: 0,
    curr: 0,
    advertised: 0,
    supported: 0,
    peer: 0,
  };
}

export function featuresReply(
  xid: number,
  datapathId: bigint,
  ports: PhyPort[],
): MessageOf<typeof OFPT.FEATURES_REPLY> {
  return {
    type: OFPT.FEATURES_REPLY,
    xid,
    datapathId,
    nBuffers: 256,
    nTables: 1,
    capabilities: 0,
    actions: 0xfff,
    ports,
  };
}

/** The bytes of a buffered PACKET_IN (buffer 1, port 1) carrying `data`, to send raw. */
export function packetInBytes(data: Buffer = Buffer.alloc(60)): Buffer {
  return encodeMessage({
    type: OFPT.PACKET_IN,
    xid: 0,
    bufferId: 1,
    totalLen: data.length,
    inPort: 1,
    reason: 0,
    data,
  });
}

export class FakeSwitch {
  readonly received: OfpMessage[] = [];
  /** Socket 'data' events seen, to check batching. */
  chunks = 0;
  closed = false;
  private readonly framer = new MessageFramer();
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.chunks++;
      this.framer.feed(chunk, (out) => {
        if (out.kind === "message") this.received.push(decodeMessage(out.data));
      });
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => undefined);
  }

  static open(port: number): Promise<FakeSwitch> {
    return FakeSwitch.adopt(connect({ host: "127.0.0.1", port }));
  }

  /** Wraps a socket (connecting or accepted). */
  static adopt(socket: Socket): Promise<FakeSwitch> {
    const sw = new FakeSwitch(socket);
    if (!socket.connecting) return Promise.resolve(sw);
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(sw));
      socket.once("error", reject);
    });
  }

  /** Connects, exchanges HELLOs and answers FEATURES_REQUEST. */
  static async joined(port: number, datapathId = 1n, ports = [phyPort(1), phyPort(2)]) {
    const sw = await FakeSwitch.open(port);
    await sw.handshake(datapathId, ports);
    return sw;
  }

  async handshake(datapathId = 1n, ports = [phyPort(1), phyPort(2)]): Promise<void> {
    this.send({ type: OFPT.HELLO, xid: 1, version: OFP_VERSION, body: Buffer.alloc(0) });
    await this.expect(OFPT.HELLO);
    const req = await this.expect(OFPT.FEATURES_REQUEST);
    this.send(featuresReply(req.xid, datapathId, ports));
  }

  send(msg: OfpMessage): void {
    this.socket.write(encodeMessage(msg));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Removes and returns the first received message of `type`, waiting up to `timeoutMs`. */
  async expect<T extends OfpType>(type: T, timeoutMs = 2000): Promise<MessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((m) => m.type === type);
      if (i >= 0) return this.received.splice(i, 1)[0] as MessageOf<T>;
      if (this.closed) throw new Error(`closed while waiting for message type ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message of type ${type} within ${timeoutMs} ms`);
      await this.waitForActivity(left);
    }
  }

  /** Resolves when the controller has closed the connection. */
  async closedByPeer(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`connection still open after ${timeoutMs} ms`);
      await this.waitForActivity(left);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private waitForActivity(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Resolves with the arguments of the next call of a handler registered by `attach`. */
export function nextEvent<A extends unknown[]>(
  attach: (fn: (...args: A) => void) => () => void,
  timeoutMs = 2000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`no event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = attach((...args) => {
      clearTimeout(t);
      off();
      resolve(args);
    });
  });
}

/** A pino destination that keeps every log line as an object. */
export function logSink(): { lines: Array<Record<string, unknown>>; write(s: string): void } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (s: string) => void lines.push(JSON.parse(s)) };
}
