import { describe, expect, it } from "vitest";
import {
  OFP_DL_TYPE_ETH2_CUTOFF,
  OFP_DL_TYPE_NOT_ETH_TYPE,
  OFP_VLAN_NONE,
} from "../../src/openflow/of10/constants.js";
import {
  DL_TYPE_NOT_ETH_TYPE,
  ETH_TYPE_MIN,
  FlowKey,
  VLAN_NONE,
} from "../../src/packet/flow-key.js";

describe("FlowKey word layout", () => {
  it("keeps each of the 12 fields independent of its neighbours", () => {
    const k = new FlowKey();
    k.inPort = 0xfffe;
    k.dlVlan = 0xffff;
    k.dlType = 0x0800;
    k.dlVlanPcp = 7;
    k.nwTos = 0xfc;
    k.nwProto = 6;
    k.nwSrc = 0xc0a80001;
    k.nwDst = 0xffffffff;
    k.tpSrc = 65535;
    k.tpDst = 80;
    const mac = Buffer.from([
      0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x86,
    ]);
    k.setDlDstFrom(mac, 0);
    k.setDlSrcFrom(mac, 6);
    expect([k.inPort, k.dlVlan, k.dlType, k.dlVlanPcp, k.nwTos, k.nwProto]).toEqual([
      0xfffe, 0xffff, 0x0800, 7, 0xfc, 6,
    ]);
    expect([k.nwSrc, k.nwDst, k.tpSrc, k.tpDst]).toEqual([0xc0a80001, 0xffffffff, 65535, 80]);
    const out = Buffer.alloc(12);
    k.dlDstInto(out, 0);
    k.dlSrcInto(out, 6);
    expect(out).toEqual(mac);
    k.tpSrc = 0;
    k.inPort = 1;
    expect([k.tpDst, k.dlVlan]).toEqual([80, 0xffff]);
  });

  it("copies and clears all nine words", () => {
    const a = new FlowKey();
    a.nwSrc = 5;
    a.tpDst = 9;
    const b = new FlowKey();
    b.copyFrom(a);
    expect(Array.from(b.words)).toEqual(Array.from(a.words));
    b.clear();
    expect(Array.from(b.words).every((w) => w === 0)).toBe(true);
  });
});

describe("FlowKey's special values", () => {
  it("are OpenFlow 1.0's, so the switch passes them to the wire unchanged", () => {
    expect(VLAN_NONE).toBe(OFP_VLAN_NONE);
    expect(ETH_TYPE_MIN).toBe(OFP_DL_TYPE_ETH2_CUTOFF);
    expect(DL_TYPE_NOT_ETH_TYPE).toBe(OFP_DL_TYPE_NOT_ETH_TYPE);
  });
});
