import { describe, expect, it } from "vitest";
import { OFPBRC, OFPET, OFPT } from "../../src/openflow/of10/constants.js";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { errorFrom, MessageFramer, type FramerOutput } from "../../src/ofchannel/framer.js";
import { flowMod } from "../openflow/helpers.js";

function stream(n: number): Buffer[] {
  const msgs: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    msgs.push(
      i % 3 === 0
        ? encodeMessage(flowMod(undefined, i))
        : i % 3 === 1
          ? encodeMessage({ type: OFPT.ECHO_REQUEST, xid: i, data: Buffer.alloc(i % 50, i) })
          : encodeMessage({ type: OFPT.BARRIER_REQUEST, xid: i }),
    );
  }
  return msgs;
}

function drain(f: MessageFramer): FramerOutput[] {
  const out: FramerOutput[] = [];
  for (let o = f.next(); o !== null; o = f.next()) {
    out.push(o);
    if (o.kind === "error" && o.fatal) break;
  }
  return out;
}

function messagesOf(outs: FramerOutput[]): Buffer[] {
  return outs.map((o) => {
    if (o.kind !== "message") throw new Error(`unexpected ${o.detail}`);
    return o.data;
  });
}

describe("MessageFramer", () => {
  const msgs = stream(30);
  const all = Buffer.concat(msgs);

  it("cuts a stream fed one byte at a time", () => {
    const f = new MessageFramer();
    const got: FramerOutput[] = [];
    for (let i = 0; i < all.length; i++) {
      f.push(all.subarray(i, i + 1));
      got.push(...drain(f));
    }
    expect(messagesOf(got)).toEqual(msgs);
    expect(f.bufferedBytes).toBe(0);
  });

  it("cuts many messages out of one chunk, and any other chunking", () => {
    const f = new MessageFramer();
    f.push(all);
    expect(messagesOf(drain(f))).toEqual(msgs);
    for (const size of [3, 7, 8, 9, 13, 71, 72, 73, 500]) {
      const g = new MessageFramer();
      const got: FramerOutput[] = [];
      for (let i = 0; i < all.length; i += size)
        g.feed(all.subarray(i, i + size), (o) => got.push(o));
      expect(messagesOf(got)).toEqual(msgs);
    }
  });

  it("returns a message inside one chunk as a view, spanning ones as a copy", () => {
    const f = new MessageFramer();
    f.push(all);
    const first = f.next();
    expect(first?.kind === "message" && first.data.buffer).toBe(all.buffer);
    const g = new MessageFramer();
    g.push(msgs[0].subarray(0, 10));
    expect(g.next()).toBeNull();
    g.push(msgs[0].subarray(10));
    const whole = g.next();
    expect(whole?.kind === "message" && whole.data).toEqual(msgs[0]);
  });

  it("skips a message longer than the maximum and goes on with the next", () => {
    const f = new MessageFramer({ maxMessageLen: 40 });
    const big = encodeMessage({ type: OFPT.ECHO_REQUEST, xid: 7, data: Buffer.alloc(100, 0xab) });
    const small = encodeMessage({ type: OFPT.ECHO_REQUEST, xid: 8, data: Buffer.alloc(4) });
    const got: FramerOutput[] = [];
    // the big one arrives in pieces: its tail must be skipped without being buffered
    f.feed(big.subarray(0, 20), (o) => got.push(o));
    expect(f.bufferedBytes).toBe(0);
    f.feed(Buffer.concat([big.subarray(20), small]), (o) => got.push(o));
    expect(got).toHaveLength(2);
    const [err, next] = got;
    expect(err).toMatchObject({ kind: "error", reason: "too-long", fatal: false, length: 108 });
    expect(err.kind === "error" && err.header).toEqual(big.subarray(0, 8));
    expect(next).toEqual({ kind: "message", data: small });
  });

  it("reports a length field below 8 as fatal, and keeps reporting it", () => {
    const f = new MessageFramer();
    const ok = encodeMessage({ type: OFPT.BARRIER_REQUEST, xid: 1 });
    const bad = Buffer.from([1, 2, 0, 4, 0, 0, 0, 9]);
    f.push(Buffer.concat([ok, bad, ok]));
    const outs = drain(f);
    expect(outs[0]).toEqual({ kind: "message", data: ok });
    expect(outs[1]).toMatchObject({
      kind: "error",
      reason: "short-length",
      fatal: true,
      length: 4,
    });
    expect(f.failed).toBe(true);
    f.push(ok);
    expect(f.next()).toBe(outs[1]);
    const err = errorFrom(outs[1] as Extract<FramerOutput, { kind: "error" }>);
    expect([err.errType, err.code]).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_LEN]);
    expect(err.data).toEqual(bad);
    expect(err.message).toMatch(/shorter than the 8-byte header/);
  });

  it("rejects a maximum outside 8..65535", () => {
    expect(() => new MessageFramer({ maxMessageLen: 7 })).toThrow(RangeError);
    expect(() => new MessageFramer({ maxMessageLen: 65536 })).toThrow(RangeError);
  });

  it("keeps memory bounded over a long stream of small chunks", () => {
    const f = new MessageFramer();
    const one = encodeMessage({ type: OFPT.ECHO_REQUEST, xid: 1, data: Buffer.alloc(3) });
    let n = 0;
    for (let i = 0; i < 20_000; i++) {
      f.push(one.subarray(0, 5));
      f.push(one.subarray(5));
      n += drain(f).length;
    }
    expect(n).toBe(20_000);
    expect(f.bufferedBytes).toBe(0);
  });
});
