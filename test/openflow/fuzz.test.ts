// Fuzzing: 100,000+ random and mutated inputs (bit flips, truncation, length-field edits,
// splicing, random bodies) through the decoder and the framer. Whatever the bytes, the only
// exception is OfpError, every call returns, and whatever decodes re-encodes to a message that
// decodes the same. A seeded PRNG keeps it deterministic and fast.
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import { OfpError } from "../../src/openflow/of10/errors.js";
import { MessageFramer } from "../../src/ofchannel/framer.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import { corpus, mutate, prng } from "./mutations.js";

const DECODER_INPUTS = 100_000;
const FRAMER_STREAMS = 5_000;

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
