// ofp_match: the 40-byte match every FLOW_MOD, flow-stats request and FLOW_REMOVED carries.
import { OFPBRC, OFPFW } from "./constants.js";
import { OfpError } from "./errors.js";
import { readStruct, writeStruct } from "../layout.js";
import { MATCH } from "./structs.js";
import type { Match } from "./types.js";

/** The ofp_match at buf[off]; BAD_REQUEST/BAD_LEN if fewer than 40 bytes are there. */
export function decodeMatch(buf: Buffer, off = 0): Match {
  if (off < 0 || off + MATCH.size > buf.length) {
    throw OfpError.badRequest(OFPBRC.BAD_LEN, "ofp_match truncated");
  }
  return readStruct(MATCH, buf, off);
}

export function encodeMatchInto(match: Match, buf: Buffer, off: number): number {
  writeStruct(MATCH, match, buf, off);
  return off + MATCH.size;
}

export function encodeMatch(match: Match): Buffer {
  const b = Buffer.allocUnsafe(MATCH.size);
  encodeMatchInto(match, b, 0);
  return b;
}

/** A match with every field wildcarded (as ovs-ofctl sends for "dump-flows" with no filter). */
export function matchAll(): Match {
  return {
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
}
