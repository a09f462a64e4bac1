// OF1.0 actions in the datapath's model: every action type and every kind of output port, and
// what never reaches the datapath (ENQUEUE, vendor actions: refused before, at FLOW_MOD and
// PACKET_OUT time).
import { describe, expect, it } from "vitest";
import { NO_PORT, PORT_NO_LIMIT, type DatapathAction } from "../../src/datapath/actions.js";
import { OFPAT, OFPBAC, OFPET, OFPP, OFPT } from "../../src/openflow/of10/constants.js";
import type { Action } from "../../src/openflow/of10/types.js";
import { toDatapathActions } from "../../src/switch/datapath-actions.js";
import { barrier, errorOf, flowMod, output, switchPerTest } from "./switch-harness.js";

const startSwitch = switchPerTest();

describe("toDatapathActions", () => {
  it("uses OpenFlow port numbers as datapath port numbers", () => {
    expect(PORT_NO_LIMIT).toBe(OFPP.MAX);
    expect(NO_PORT).toBe(OFPP.NONE);
  });

  it("translates outputs to physical and virtual ports; OFPP_NONE and unnamed numbers go nowhere", () => {
    const ports = [
      1,
      0xfeff,
      OFPP.IN_PORT,
      OFPP.TABLE,
      OFPP.NORMAL,
      OFPP.FLOOD,
      OFPP.ALL,
      OFPP.CONTROLLER,
      OFPP.LOCAL,
      OFPP.NONE,
      OFPP.MAX,
      0xff05,
    ];
    expect(toDatapathActions(ports.map((p) => output(p, 99)))).toEqual<DatapathAction[]>([
      { kind: "output", port: 1 },
      { kind: "output", port: 0xfeff },
      { kind: "in-port" },
      { kind: "table" },
      { kind: "normal" },
      { kind: "flood" },
      { kind: "all" },
      { kind: "controller", maxLen: 99 },
      { kind: "local" },
    ]);
  });

  it("translates every rewrite, in order", () => {
    const actions: Action[] = [
      { type: OFPAT.SET_VLAN_VID, vlanVid: 10 },
      { type: OFPAT.SET_VLAN_PCP, vlanPcp: 5 },
      { type: OFPAT.STRIP_VLAN },
      { type: OFPAT.SET_DL_SRC, dlAddr: "02:00:00:00:00:01" },
      { type: OFPAT.SET_DL_DST, dlAddr: "02:00:00:00:00:02" },
      { type: OFPAT.SET_NW_SRC, nwAddr: 0x0a000001 },
      { type: OFPAT.SET_NW_DST, nwAddr: 0xc0a80101 },
      { type: OFPAT.SET_NW_TOS, nwTos: 0xb8 },
      { type: OFPAT.SET_TP_SRC, tpPort: 1 },
      { type: OFPAT.SET_TP_DST, tpPort: 65535 },
      output(2),
    ];
    expect(toDatapathActions(actions)).toEqual<DatapathAction[]>([
      { kind: "set-vlan-vid", vid: 10 },
      { kind: "set-vlan-pcp", pcp: 5 },
      { kind: "strip-vlan" },
      { kind: "set-dl-src", mac: "02:00:00:00:00:01" },
      { kind: "set-dl-dst", mac: "02:00:00:00:00:02" },
      { kind: "set-nw-src", addr: 0x0a000001 },
      { kind: "set-nw-dst", addr: 0xc0a80101 },
      { kind: "set-nw-tos", tos: 0xb8 },
      { kind: "set-tp-src", port: 1 },
      { kind: "set-tp-dst", port: 65535 },
      { kind: "output", port: 2 },
    ]);
  });

  it("treats ENQUEUE and vendor actions as faults: checkActions refuses them first", () => {
    const enqueue: Action = { type: OFPAT.ENQUEUE, port: 2, queueId: 1 };
    const vendor: Action = { type: OFPAT.VENDOR, vendor: 0x2320, body: Buffer.alloc(8) };
    expect(() => toDatapathActions([enqueue])).toThrow(/checkActions refuses it/);
    expect(() => toDatapathActions([vendor])).toThrow(/checkActions refuses it/);
  });
});

describe("ENQUEUE on the wire", () => {
  it("a FLOW_MOD with ENQUEUE gets OFPBAC_BAD_QUEUE and adds nothing (there are no queues)", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const err = await c.request(
      flowMod({ actions: [{ type: OFPAT.ENQUEUE, port: 2, queueId: 0 }], xid: 7 }),
    );
    expect(err.type).toBe(OFPT.ERROR);
    expect(errorOf(err)).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_QUEUE]);
    await barrier(c);
    expect(h.sw.table.activeCount).toBe(0);
  });
});
