// Small builders of valid messages for tests that then corrupt or inspect their bytes.
import { OFPAT, OFPFW, OFPT, OFP_NO_BUFFER, OFPP } from "../../src/ofchannel/constants.js";
import type { MessageOf } from "../../src/ofchannel/messages.js";
import type { Action, Match } from "../../src/ofchannel/types.js";

export const MATCH_ALL: Match = {
  wildcards: OFPFW.ALL,
  inPort: 0,
  dlSrc: "00:00:00:00:00:00",
  dlDst: "00:00:00:00:00:00",
  dlVlan: 0,
  dlVlanPcp: 0,
  dlType: 0,
  nwTos: 0,
  nwProto: 0,
  nwSrc: 0,
  nwDst: 0,
  tpSrc: 0,
  tpDst: 0,
};

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
