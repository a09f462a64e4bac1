// ofp_match values an application builds: match-everything, and the exact 12-field match of a
// packet (what a learning switch installs), made with the datapath's frame parser so controller
// and switch agree on every field.
import type { Match } from "../openflow/of10/types.js";
import { macToString } from "../openflow/wire.js";
import { FlowKey } from "../packet/flow-key.js";
import { PacketLayout, parseFrame } from "../packet/parse.js";

/** A match with every field wildcarded (flow stats of a whole table, delete-all). */
export { matchAll } from "../openflow/of10/match.js";

const macScratch = Buffer.alloc(6);

/** The exact match (no wildcards) of a parsed packet. */
export function matchFromKey(key: FlowKey): Match {
  key.dlSrcInto(macScratch, 0);
  const dlSrc = macToString(macScratch);
  key.dlDstInto(macScratch, 0);
  const dlDst = macToString(macScratch);
  return {
    wildcards: 0,
    inPort: key.inPort,
    dlSrc,
    dlDst,
    dlVlan: key.dlVlan,
    dlVlanPcp: key.dlVlanPcp,
    dlType: key.dlType,
    nwTos: key.nwTos,
    nwProto: key.nwProto,
    nwSrc: key.nwSrc,
    nwDst: key.nwDst,
    tpSrc: key.tpSrc,
    tpDst: key.tpDst,
  };
}

const scratchKey = new FlowKey();
const scratchLayout = new PacketLayout();

/** The exact match of `frame` (a PACKET_IN's data) received on `inPort`. */
export function exactMatch(frame: Buffer, inPort: number): Match {
  parseFrame(frame, frame.length, inPort, scratchKey, scratchLayout);
  return matchFromKey(scratchKey);
}
