// Small builders of valid messages for tests that then corrupt or inspect their bytes.
import { OFPAT, OFPT, OFP_NO_BUFFER, OFPP } from "../../src/openflow/of10/constants.js";
import type { MessageOf } from "../../src/openflow/of10/messages.js";
import { matchAll } from "../../src/openflow/of10/match.js";
import type { Action, Match } from "../../src/openflow/of10/types.js";

export const MATCH_ALL: Match = matchAll();

export function flowMod(
  actions: Action[] = [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
  xid = 0x1234,
): MessageOf<typeof OFPT.FLOW_MOD> {
  return {
    type: OFPT.FLOW_MOD,
    xid,
    match: MATCH_ALL,
    cookie: 0n,
    command: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0x8000,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: 0,
    actions,
  };
}

/** Rewrites the header length field to the buffer's length (after a test edited the body). */
export function fixLength(b: Buffer): Buffer {
  b.writeUInt16BE(b.length, 2);
  return b;
}
