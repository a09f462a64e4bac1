// The FLOW_MODs the control-path benches push: ADDs matching one distinct source MAC each,
// output to port 2 (bench/switch.ts, bench/flow-mods.ts).
import { OFPAT, OFPFC, OFPFW, OFPP, OFPT, OFP_NO_BUFFER } from "../src/openflow/of10/constants.js";
import { matchAll } from "../src/openflow/of10/match.js";
import type { MessageOf } from "../src/openflow/of10/messages.js";

function mac(i: number): string {
  const h = (n: number) => (n & 0xff).toString(16).padStart(2, "0");
  return `02:00:${h(i >> 24)}:${h(i >> 16)}:${h(i >> 8)}:${h(i)}`;
}

/** FLOW_MOD ADD number `i` (xid i): dl_src 02:00:xx:xx:xx:xx from i + 0x10000. */
export function dlSrcFlowMod(i: number): MessageOf<typeof OFPT.FLOW_MOD> {
  return {
    type: OFPT.FLOW_MOD,
    xid: i,
    match: { ...matchAll(), wildcards: OFPFW.ALL & ~OFPFW.DL_SRC, dlSrc: mac(i + 0x10000) },
    cookie: 0n,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 100,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: 0,
    actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
  };
}
