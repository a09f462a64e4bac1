// Mutated OpenFlow messages for fuzzing: a seeded PRNG and a corpus of valid messages with bit
// flips, truncation, length-field edits, splicing, random bodies and insertions. Used by the
// codec's fuzz test and by the daemon's (malformed input over a real session).
import fc from "fast-check";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { anyMessage } from "./arbitraries.js";

/** mulberry32: a tiny seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const corpus: Buffer[] = fc
  .sample(anyMessage, { numRuns: 400, seed: 42 })
  .map(encodeMessage);

export function mutate(rand: () => number): Buffer {
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
