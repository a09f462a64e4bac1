// Fuzzing: 100,000+ random and mutated inputs (bit flips, truncation, length-field edits,
// splicing, random bodies) through the decoder and the framer. Whatever the bytes, the only
// exception is OfpError, every call returns, and whatever decodes re-encodes to a message that
// decodes the same. A seeded PRNG keeps it deterministic and fast.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import { OfpError } from "../../src/openflow/of10/errors.js";
import { MessageFramer } from "../../src/ofchannel/framer.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import { anyMessage } from "./arbitraries.js";

const DECODER_INPUTS = 100_000;
const FRAMER_STREAMS = 5_000;

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const corpus: Buffer[] = fc.sample(anyMessage, { numRuns: 400, seed: 42 }).map(encodeMessage);

function mutate(rand: () => number): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const base = corpus[int(corpus.length)];
  const b = Buffer.from(base);
  const fixLen = () =>
    b.length >= 4 && b.length <= 0xffff && rand() < 0.8 && b.writeUInt16BE(b.length, 2);
  switch (int(7)) {
    case 0: {
      // bit flips
      for (let k = 1 + int(4); k > 0; k--) b[int(b.length)] ^= 1 << int(8);
      return b;
    }
    case 1: {
      // truncation, header length fixed up most of the time
      const t = Buffer.from(b.subarray(0, int(b.length + 1)));
      if (t.length >= 4 && rand() < 0.8) t.writeUInt16BE(t.length, 2);
      return t;
    }
    case 2: {
      // a 16-bit length-like field anywhere set to a small or random value
      if (b.length >= 2) {
        const at = int(b.length - 1);
        b.writeUInt16BE([0, 1, 4, 7, 8, 9, 16, 88, b.length, int(0x10000)][int(10)], at);
      }
      return b;
    }
    case 3: {
      // splice the head of one message onto the tail of another
      const other = corpus[int(corpus.length)];
      const s = Buffer.concat([
        b.subarray(0, int(b.length + 1)),
        other.subarray(int(other.length + 1)),
      ]);
      if (s.length >= 4 && s.length <= 0xffff) s.writeUInt16BE(s.length, 2);
      return s;
    }
    case 4: {
      // random body behind a plausible header (version 1, any type)
      const r = Buffer.alloc(8 + int(200));
      for (let i = 0; i < r.length; i++) r[i] = int(256);
      r[0] = rand() < 0.9 ? 1 : int(256);
      r[1] = int(24);
      r.writeUInt16BE(r.length, 2);
      return r;
    }
    case 5: {
      // random bytes overwritten in place, then the header length fixed
      for (let k = 1 + int(8); k > 0; k--) b[int(b.length)] = int(256);
      fixLen();
      return b;
    }
    default: {
      // insert or delete a few bytes in the middle
      const at = int(b.length + 1);
      const out =
        rand() < 0.5
          ? Buffer.concat([b.subarray(0, at), Buffer.alloc(1 + int(8), int(256)), b.subarray(at)])
          : Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(8)))]);
      if (out.length >= 4 && rand() < 0.8) out.writeUInt16BE(Math.min(out.length, 0xffff), 2);
      return out;
    }
  }
}

/** Decodes; an accepted message must re-encode to the same bytes' meaning. */
function check(input: Buffer): "ok" | "error" {
  let m: OfpMessage;
  try {
    m = decodeMessage(input);
  } catch (e) {
    if (!(e instanceof OfpError))
      throw new Error(`non-OfpError for ${input.toString("hex")}: ${String(e)}`);
    if (e.data.length !== Math.min(64, input.length))
      throw new Error("error data is not the first 64 bytes");
    return "error";
  }
  expect(decodeMessage(encodeMessage(m))).toEqual(m);
  return "ok";
}

describe("fuzzing", () => {
  it(`decoder: ${DECODER_INPUTS} mutated and random inputs throw only OfpError`, () => {
    const rand = prng(0xc0ffee);
    const tally = { ok: 0, error: 0 };
    for (let i = 0; i < DECODER_INPUTS; i++) tally[check(mutate(rand))]++;
    // both outcomes must be well represented, or the mutations are not exercising anything
    expect(tally.ok).toBeGreaterThan(DECODER_INPUTS / 20);
    expect(tally.error).toBeGreaterThan(DECODER_INPUTS / 4);
  });

  it(`framer + decoder: ${FRAMER_STREAMS} streams of mutated messages in random chunks`, () => {
    const rand = prng(0xbadc0de);
    let messages = 0;
    for (let s = 0; s < FRAMER_STREAMS; s++) {
      const parts: Buffer[] = [];
      for (let k = 1 + Math.floor(rand() * 6); k > 0; k--) {
        parts.push(rand() < 0.5 ? corpus[Math.floor(rand() * corpus.length)] : mutate(rand));
      }
      const stream = Buffer.concat(parts);
      const f = new MessageFramer({
        maxMessageLen: rand() < 0.3 ? 64 + Math.floor(rand() * 2000) : 65535,
      });
      let steps = 0;
      for (let off = 0; off < stream.length && !f.failed;) {
        const n = 1 + Math.floor(rand() * 100);
        f.push(stream.subarray(off, off + n));
        off += n;
        for (let out = f.next(); out !== null; out = f.next()) {
          // every output consumes at least 8 bytes or fails the stream: bounded by the stream size
          if (++steps > stream.length) throw new Error("framer does not make progress");
          if (out.kind === "error") {
            if (out.fatal) break;
            continue;
          }
          messages++;
          check(out.data);
        }
      }
      expect(f.bufferedBytes).toBeLessThanOrEqual(stream.length);
    }
    expect(messages).toBeGreaterThan(FRAMER_STREAMS);
  });
});
