// Decoding bytes Open vSwitch itself produced: the real ovs-ofctl connects to a codec-only fake
// switch (fake-switch.ts), we decode what it sends field by field, and it prints the replies we
// encoded, which checks our encoder against its decoder too.
import { describe, expect, it } from "vitest";
import {
  OFPAT,
  OFPFC,
  OFPFF,
  OFPFW,
  OFPP,
  OFPPC,
  OFPQT,
  OFPST,
  OFPT,
  OFP_NO_BUFFER,
} from "../../src/openflow/of10/constants.js";
import type { MessageOf, OfpMessage } from "../../src/openflow/of10/messages.js";
import { splitStatsReply } from "../../src/openflow/of10/multipart.js";
import type { FlowStats, PortStats } from "../../src/openflow/of10/types.js";
import { ipv4FromString } from "../../src/openflow/wire.js";
import { answerStats, runOfctl, type OfctlRun } from "./fake-switch.js";
import { haveOvsOfctl } from "./ofp-print.js";
import { MATCH_ALL } from "./helpers.js";
import { programsMissing, skipWithout } from "../support/prereq.js";

const skip = skipWithout(import.meta.url, haveOvsOfctl ? undefined : programsMissing("ovs-ofctl"));

function only<T extends OfpMessage["type"]>(run: OfctlRun, type: T): MessageOf<T>[] {
  expect(run.decodeErrors).toEqual([]);
  return run.received.filter((m): m is MessageOf<T> => m.type === type);
}

function ok(run: OfctlRun): OfctlRun {
  expect(run.decodeErrors).toEqual([]);
  expect(run.code, run.stderr).toBe(0);
  return run;
}

const flow = (i: number): FlowStats => ({
  tableId: 0,
  match: { ...MATCH_ALL, wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort: (i % 50) + 1 },
  durationSec: i,
  durationNsec: 0,
  priority: 1000 + i,
  idleTimeout: 0,
  hardTimeout: 0,
  cookie: BigInt(i),
  packetCount: BigInt(i * 2),
  byteCount: BigInt(i * 128),
  actions: [
    { type: OFPAT.SET_TP_DST, tpPort: 8000 + (i % 100) },
    { type: OFPAT.OUTPUT, port: 2, maxLen: 0 },
  ],
});

describe.skipIf(skip)("ovs-ofctl against a codec-only switch", () => {
  it("add-flow: decodes the FLOW_MOD (match fields, every action type ovs-ofctl emits) and BARRIER", async () => {
    const run = ok(
      await runOfctl([
        "-O",
        "OpenFlow10",
        "add-flow",
        "TARGET",
        "priority=100,in_port=1,dl_vlan=10,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,tcp," +
          "nw_src=10.0.0.0/8,nw_dst=192.168.1.1,nw_tos=16,tp_src=1234,tp_dst=80," +
          "idle_timeout=30,hard_timeout=60,cookie=0x42,send_flow_rem," +
          "actions=strip_vlan,mod_vlan_pcp:2,mod_dl_src:0a:00:00:00:00:01,mod_dl_dst:0a:00:00:00:00:02," +
          "mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_nw_tos:8,mod_tp_src:11,mod_tp_dst:22," +
          "enqueue:3:7,output:2,CONTROLLER:64,LOCAL,mod_vlan_vid:7",
      ]),
    );
    const [fm] = only(run, OFPT.FLOW_MOD);
    expect(fm).toMatchObject({
      command: OFPFC.ADD,
      priority: 100,
      idleTimeout: 30,
      hardTimeout: 60,
      cookie: 0x42n,
      bufferId: OFP_NO_BUFFER,
      outPort: OFPP.NONE,
      flags: OFPFF.SEND_FLOW_REM,
    });
    expect(fm.match).toEqual({
      wildcards: OFPFW.DL_VLAN_PCP | (24 << OFPFW.NW_SRC_SHIFT),
      inPort: 1,
      dlSrc: "00:11:22:33:44:55",
      dlDst: "66:77:88:99:aa:bb",
      dlVlan: 10,
      dlVlanPcp: 0,
      dlType: 0x0800,
      nwTos: 16,
      nwProto: 6,
      nwSrc: ipv4FromString("10.0.0.0"),
      nwDst: ipv4FromString("192.168.1.1"),
      tpSrc: 1234,
      tpDst: 80,
    });
    expect(fm.actions).toEqual([
      { type: OFPAT.STRIP_VLAN },
      { type: OFPAT.SET_VLAN_PCP, vlanPcp: 2 },
      { type: OFPAT.SET_DL_SRC, dlAddr: "0a:00:00:00:00:01" },
      { type: OFPAT.SET_DL_DST, dlAddr: "0a:00:00:00:00:02" },
      { type: OFPAT.SET_NW_SRC, nwAddr: ipv4FromString("1.2.3.4") },
      { type: OFPAT.SET_NW_DST, nwAddr: ipv4FromString("5.6.7.8") },
      { type: OFPAT.SET_NW_TOS, nwTos: 8 },
      { type: OFPAT.SET_TP_SRC, tpPort: 11 },
      { type: OFPAT.SET_TP_DST, tpPort: 22 },
      { type: OFPAT.ENQUEUE, port: 3, queueId: 7 },
      { type: OFPAT.OUTPUT, port: 2, maxLen: 0 },
      { type: OFPAT.OUTPUT, port: OFPP.CONTROLLER, maxLen: 64 },
      { type: OFPAT.OUTPUT, port: OFPP.LOCAL, maxLen: 0 },
      { type: OFPAT.SET_VLAN_VID, vlanVid: 7 },
    ]);
    // ovs-ofctl follows a flow mod with a barrier, and waits for our reply
    const types = run.received.map((m) => m.type);
    expect(types.indexOf(OFPT.BARRIER_REQUEST)).toBeGreaterThan(types.indexOf(OFPT.FLOW_MOD));
  });

  it("del-flows --strict: DELETE_STRICT with its match, priority and out_port", async () => {
    const run = ok(
      await runOfctl([
        "-O",
        "OpenFlow10",
        "--strict",
        "del-flows",
        "TARGET",
        "priority=5,in_port=2,udp,tp_dst=53,out_port=3",
      ]),
    );
    const [fm] = only(run, OFPT.FLOW_MOD);
    expect(fm).toMatchObject({
      command: OFPFC.DELETE_STRICT,
      priority: 5,
      outPort: 3,
      actions: [],
    });
    expect(fm.match).toMatchObject({ inPort: 2, dlType: 0x0800, nwProto: 17, tpDst: 53 });
    const exact = OFPFW.IN_PORT | OFPFW.DL_TYPE | OFPFW.NW_PROTO | OFPFW.TP_DST;
    expect(fm.match.wildcards & exact).toBe(0);
  });

  it("dump-flows: a FLOW stats request; prints all 1,500 flows we send in REPLY_MORE parts", async () => {
    const flows = Array.from({ length: 1500 }, (_, i) => flow(i));
    let parts = 0;
    const run = ok(
      await runOfctl(["-O", "OpenFlow10", "dump-flows", "TARGET"], (m) => {
        if (m.type !== OFPT.STATS_REQUEST || m.statsType !== OFPST.FLOW) return undefined;
        const split = splitStatsReply({
          type: OFPT.STATS_REPLY,
          xid: m.xid,
          flags: 0,
          statsType: OFPST.FLOW,
          flows,
        });
        parts = split.length;
        return split;
      }),
    );
    expect(parts).toBeGreaterThan(1);
    const [req] = only(run, OFPT.STATS_REQUEST).filter((r) => r.statsType === OFPST.FLOW);
    // "match anything", with OVS's canonical /0 prefixes as 32 wildcarded bits
    const matchAll =
      (OFPFW.ALL & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK) | OFPFW.NW_SRC_ALL | OFPFW.NW_DST_ALL;
    expect(req).toMatchObject({
      tableId: 0xff,
      outPort: OFPP.NONE,
      match: { wildcards: matchAll },
    });
    const lines = run.stdout.split("\n").filter((l) => l.includes("cookie="));
    expect(lines).toHaveLength(1500);
    expect(lines[0]).toContain(
      "cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=1000,in_port=1",
    );
    expect(lines[1499]).toContain(
      "cookie=0x5db, duration=1499s, table=0, n_packets=2998, n_bytes=191872, priority=2499,in_port=50 actions=mod_tp_dst:8099,output:2",
    );
  });

  it("dump-ports: PORT stats request for all ports; prints our counters", async () => {
    const stats: PortStats = {
      portNo: 2,
      rxPackets: 11n,
      txPackets: 22n,
      rxBytes: 3333n,
      txBytes: 4444n,
      rxDropped: 5n,
      txDropped: 6n,
      rxErrors: 7n,
      txErrors: 8n,
      rxFrameErr: 9n,
      rxOverErr: 10n,
      rxCrcErr: 12n,
      collisions: 13n,
    };
    const run = ok(
      await runOfctl(
        ["-O", "OpenFlow10", "dump-ports", "TARGET"],
        answerStats({ statsType: OFPST.PORT, ports: [stats] }),
      ),
    );
    expect(only(run, OFPT.STATS_REQUEST)[0]).toMatchObject({
      statsType: OFPST.PORT,
      portNo: OFPP.NONE,
    });
    expect(run.stdout).toContain(
      "port  2: rx pkts=11, bytes=3333, drop=5, errs=7, frame=9, over=10, crc=12",
    );
    expect(run.stdout).toContain("tx pkts=22, bytes=4444, drop=6, errs=8, coll=13");
  });

  it("dump-tables and dump-aggregate and dump-desc: request types and printed replies", async () => {
    const tables = ok(
      await runOfctl(
        ["-O", "OpenFlow10", "dump-tables", "TARGET"],
        answerStats({
          statsType: OFPST.TABLE,
          tables: [
            {
              tableId: 0,
              name: "main",
              wildcards: OFPFW.ALL,
              maxEntries: 65536,
              activeCount: 9,
              lookupCount: 1234n,
              matchedCount: 1000n,
            },
          ],
        }),
      ),
    );
    expect(tables.stdout).toContain('table 0 ("main")');
    expect(tables.stdout).toContain("active=9, lookup=1234, matched=1000");

    const agg = ok(
      await runOfctl(
        ["-O", "OpenFlow10", "dump-aggregate", "TARGET", "in_port=4"],
        answerStats({
          statsType: OFPST.AGGREGATE,
          aggregate: { packetCount: 77n, byteCount: 7700n, flowCount: 7 },
        }),
      ),
    );
    const [areq] = only(agg, OFPT.STATS_REQUEST).filter((r) => r.statsType === OFPST.AGGREGATE);
    expect(areq).toMatchObject({ tableId: 0xff, outPort: OFPP.NONE, match: { inPort: 4 } });
    expect(agg.stdout).toContain("packet_count=77 byte_count=7700 flow_count=7");

    const desc = ok(
      await runOfctl(
        ["-O", "OpenFlow10", "dump-desc", "TARGET"],
        answerStats({
          statsType: OFPST.DESC,
          desc: {
            mfrDesc: "M",
            hwDesc: "H",
            swDesc: "ofswitch",
            serialNum: "42",
            dpDesc: "dp0",
          },
        }),
      ),
    );
    expect(desc.stdout).toContain("Software: ofswitch");
    expect(desc.stdout).toContain("DP Description: dp0");
  });

  it("show: prints the ports of our FEATURES_REPLY and our switch config", async () => {
    const run = ok(await runOfctl(["-O", "OpenFlow10", "show", "TARGET"]));
    expect(run.stdout).toContain("OFPT_FEATURES_REPLY");
    expect(run.stdout).toContain("dpid:000000000000feed");
    expect(run.stdout).toContain("n_tables:1, n_buffers:256");
    expect(run.stdout).toContain(" 1(of-p1): addr:02:00:00:00:00:01");
    expect(run.stdout).toContain(" 2(of-p2): addr:02:00:00:00:00:02");
    expect(run.stdout).toContain("frags=normal miss_send_len=128");
  });

  it("mod-port: PORT_MOD with the hw addr from our FEATURES_REPLY", async () => {
    const run = ok(await runOfctl(["-O", "OpenFlow10", "mod-port", "TARGET", "of-p2", "noflood"]));
    const [pm] = only(run, OFPT.PORT_MOD);
    expect(pm).toEqual({
      type: OFPT.PORT_MOD,
      xid: pm.xid,
      portNo: 2,
      hwAddr: "02:00:00:00:00:02",
      config: OFPPC.NO_FLOOD,
      mask: OFPPC.NO_FLOOD,
      advertise: 0,
    });
  });

  it("packet-out: in_port, actions and the frame bytes", async () => {
    const frame =
      "ffffffffffff000000000001080600010800060400010000000000010a0000010000000000000a000002";
    const run = ok(
      await runOfctl([
        "-O",
        "OpenFlow10",
        "packet-out",
        "TARGET",
        "1",
        "mod_vlan_vid:3,output:2",
        frame,
      ]),
    );
    const [po] = only(run, OFPT.PACKET_OUT);
    expect(po).toEqual({
      type: OFPT.PACKET_OUT,
      xid: po.xid,
      bufferId: OFP_NO_BUFFER,
      inPort: 1,
      actions: [
        { type: OFPAT.SET_VLAN_VID, vlanVid: 3 },
        { type: OFPAT.OUTPUT, port: 2, maxLen: 0 },
      ],
      data: Buffer.from(frame, "hex"),
    });
  });

  it("queue-stats and queue-get-config: requests decoded, replies printed", async () => {
    const qs = ok(
      await runOfctl(
        ["-O", "OpenFlow10", "queue-stats", "TARGET"],
        answerStats({
          statsType: OFPST.QUEUE,
          queues: [{ portNo: 1, queueId: 3, txBytes: 900n, txPackets: 9n, txErrors: 1n }],
        }),
      ),
    );
    expect(only(qs, OFPT.STATS_REQUEST)[0]).toMatchObject({
      portNo: OFPP.ALL,
      queueId: 0xffffffff,
    });
    expect(qs.stdout).toContain("port 1 queue 3: bytes=900, pkts=9, errors=1");

    const qc = ok(
      await runOfctl(["-O", "OpenFlow10", "queue-get-config", "TARGET", "1"], (m) =>
        m.type === OFPT.QUEUE_GET_CONFIG_REQUEST
          ? [
              {
                type: OFPT.QUEUE_GET_CONFIG_REPLY,
                xid: m.xid,
                port: m.port,
                queues: [{ queueId: 3, properties: [{ property: OFPQT.MIN_RATE, rate: 250 }] }],
              },
            ]
          : undefined,
      ),
    );
    expect(only(qc, OFPT.QUEUE_GET_CONFIG_REQUEST)[0].port).toBe(1);
    expect(qc.stdout).toContain("queue 3: min_rate:25.0%");
  });
});
