// The datapath's ports in OF1.0 terms: config flags both ways, ofp_phy_port from PortInfo,
// speeds as OFPPF bits, port stats and PORT_STATUS reasons.
import { describe, expect, it } from "vitest";
import { Datapath } from "../../src/datapath/datapath.js";
import { PORT_CONFIG, type PortInfo } from "../../src/datapath/port.js";
import { OFPP, OFPPC, OFPPF, OFPPR, OFPPS } from "../../src/openflow/of10/constants.js";
import {
  PORT_REASON,
  configFromOf,
  configToOf,
  phyPortOf,
  portStats,
  speedFeatures,
} from "../../src/switch/port-wire.js";
import { MemoryPort } from "../support/memory-port.js";
import { RuleLookup, ruleActions } from "../support/rule-lookup.js";

const info = (fields: Partial<PortInfo> = {}): PortInfo => ({
  portNo: 3,
  name: "eth3",
  hwAddr: "02:00:00:00:00:03",
  config: 0,
  linkDown: false,
  speedMbps: 0,
  duplex: "unknown",
  ...fields,
});

describe("port config", () => {
  it("maps every OFPPC bit to the flag of the same meaning and back", () => {
    const renamed: Record<string, keyof typeof PORT_CONFIG> = {
      PORT_DOWN: "DOWN",
      NO_RECV: "NO_RECEIVE",
      NO_RECV_STP: "NO_RECEIVE_STP",
      NO_FWD: "NO_FORWARD",
    };
    for (const [name, bit] of Object.entries(OFPPC)) {
      const flag = PORT_CONFIG[renamed[name] ?? (name as keyof typeof PORT_CONFIG)];
      expect([name, configFromOf(bit), configToOf(flag)]).toEqual([name, flag, bit]);
    }
    expect(Object.keys(PORT_CONFIG)).toHaveLength(Object.keys(OFPPC).length);
    for (let bits = 0; bits < 0x80; bits++) expect(configToOf(configFromOf(bits))).toBe(bits);
  });

  it("leaves out bits OF1.0 does not define", () => {
    expect(configFromOf(0xffffff80)).toBe(0);
    expect(configFromOf(0xffffffff)).toBe(Object.values(PORT_CONFIG).reduce((a, b) => a | b));
  });
});

describe("ofp_phy_port", () => {
  it("reports config, link state and the current speed as OFPPF bits", () => {
    const p = phyPortOf(
      info({ config: PORT_CONFIG.DOWN | PORT_CONFIG.NO_FLOOD, linkDown: true, speedMbps: 1000 }),
    );
    expect(p).toEqual({
      portNo: 3,
      hwAddr: "02:00:00:00:00:03",
      name: "eth3",
      config: OFPPC.PORT_DOWN | OFPPC.NO_FLOOD,
      state: OFPPS.LINK_DOWN,
      curr: OFPPF["1GB_FD"],
      advertised: 0,
      supported: OFPPF["1GB_FD"],
      peer: 0,
    });
    expect(phyPortOf(info()).state).toBe(0);
  });

  it("cuts names to 15 bytes (OFP_MAX_PORT_NAME_LEN with its NUL)", () => {
    expect(phyPortOf(info({ name: "a-very-long-interface" })).name).toBe("a-very-long-int");
  });

  it("adds autonegotiation and the medium when the port knows them", () => {
    const p = phyPortOf(info({ speedMbps: 100, duplex: "half", autoneg: true, medium: "copper" }));
    expect(p.curr).toBe(OFPPF["100MB_HD"] | OFPPF.AUTONEG | OFPPF.COPPER);
    expect(phyPortOf(info({ medium: "fiber" })).curr).toBe(OFPPF.FIBER);
  });

  it("maps speeds OF1.0 names to feature bits, an unknown duplex as full, others to none", () => {
    expect(speedFeatures(10, "half")).toBe(OFPPF["10MB_HD"]);
    expect(speedFeatures(10, "full")).toBe(OFPPF["10MB_FD"]);
    expect(speedFeatures(100, "full")).toBe(OFPPF["100MB_FD"]);
    expect(speedFeatures(1000, "half")).toBe(OFPPF["1GB_HD"]);
    expect(speedFeatures(10000, "unknown")).toBe(OFPPF["10GB_FD"]);
    expect(speedFeatures(25000, "full")).toBe(0);
    expect(speedFeatures(0, "unknown")).toBe(0);
  });
});

describe("port changes and stats", () => {
  it("gives each port change its PORT_STATUS reason", () => {
    expect(PORT_REASON).toEqual({
      added: OFPPR.ADD,
      modified: OFPPR.MODIFY,
      deleted: OFPPR.DELETE,
    });
  });

  it("answers PORT stats for every port (OFPP_NONE), one port, or none for an absent one", () => {
    const dp = new Datapath({
      lookup: new RuleLookup(),
      actionsOf: ruleActions,
      callbacks: { onMiss() {}, onController() {}, onPortChange() {} },
    });
    const [p1, h1] = MemoryPort.pair(1, "p1");
    dp.addPort(p1);
    dp.addPort(MemoryPort.pair(2, "p2")[0]);
    h1.send(Buffer.alloc(60), 60); // a miss, counted as received on port 1
    const all = portStats(dp, OFPP.NONE);
    expect(all.map((s) => s.portNo)).toEqual([1, 2]);
    expect(all[0]).toMatchObject({ rxPackets: 1n, rxBytes: 60n, txPackets: 0n });
    // OF1.0: counters a port does not keep are all ones.
    expect([all[0].rxCrcErr, all[0].collisions]).toEqual([2n ** 64n - 1n, 2n ** 64n - 1n]);
    expect(portStats(dp, 2).map((s) => s.portNo)).toEqual([2]);
    expect(portStats(dp, 9)).toEqual([]);
    dp.close();
  });
});
