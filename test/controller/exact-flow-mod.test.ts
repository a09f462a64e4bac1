// ExactFlowModWriter writes the same bytes as the generic encoder for the same FLOW_MOD.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OFPAT, OFP_NO_BUFFER, OFPT } from "../../src/openflow/of10/constants.js";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import { FlowKey, FLOW_KEY_WORDS } from "../../src/packet/flow-key.js";
import { ExactFlowModWriter } from "../../src/controller/exact-flow-mod.js";
import { matchFromKey } from "../../src/controller/match.js";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });

describe("ExactFlowModWriter", () => {
  it("equals encodeMessage(flowMod of matchFromKey) for any key, xid, buffer and port, with and without its action", () => {
    fc.assert(
      fc.property(
        fc.array(u32, { minLength: FLOW_KEY_WORDS, maxLength: FLOW_KEY_WORDS }),
        u32,
        fc.oneof(u32, fc.constant(OFP_NO_BUFFER)),
        u16,
        u16,
        u16,
        fc.option(u16, { nil: undefined }),
        (words, xid, bufferId, outPort, idleTimeout, hardTimeout, priority) => {
          const key = new FlowKey();
          key.words.set(words);
          key.nwProto = words[5]; // word 5 holds only nw_proto: the parser leaves the rest 0
          const writer = new ExactFlowModWriter({ idleTimeout, hardTimeout, priority });
          const expected = encodeMessage({
            type: OFPT.FLOW_MOD,
            xid,
            match: matchFromKey(key),
            cookie: 0n,
            command: 0,
            idleTimeout,
            hardTimeout,
            priority: priority ?? 0x8000,
            bufferId,
            outPort: 0xffff,
            flags: 0,
            actions: [{ type: OFPAT.OUTPUT, port: outPort, maxLen: 0 }],
          });
          expect(writer.write(key, xid, bufferId, outPort).equals(expected)).toBe(true);
          const drop = encodeMessage({ ...decodeMessage(expected), actions: [] } as OfpMessage);
          expect(writer.writeDrop(key, xid, bufferId).equals(drop)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
