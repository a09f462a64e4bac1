// Representative messages for the golden tests against `ovs-ofctl ofp-print`: every message
// type and every action type. `expect` lists what ovs-ofctl must print for the values we put in
// (written by hand from the message, not copied from ovs-ofctl's output), so a field encoded at
// the wrong offset or width shows up as a wrong value. The fixture script stores ovs-ofctl's
// full output per case in test/fixtures/ofp-print/.
import {
  OFPAT,
  OFPC,
  OFPFC,
  OFPFF,
  OFPFW,
  OFPP,
  OFPPC,
  OFPPF,
  OFPPR,
  OFPQT,
  OFPR,
  OFPRR,
  OFPST,
  OFPT,
  OFP_NO_BUFFER,
  OFPBRC,
  OFPET,
} from "../../src/openflow/of10/constants.js";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import type { Action, FlowStats, Match, PhyPort } from "../../src/openflow/of10/types.js";
import { ipv4FromString } from "../../src/openflow/wire.js";
import { flowMod as baseFlowMod, MATCH_ALL } from "./helpers.js";

export interface GoldenCase {
  name: string;
  msg: OfpMessage;
  /** Substrings ovs-ofctl ofp-print must print. */
  expect: string[];
}

/** tcp from 10.0.0.1:1234 to 10.0.0.2:80, in_port 1, vlan 10 pcp 3, tos 0x20. */
const TCP_MATCH: Match = {
  wildcards: 0,
  inPort: 1,
  dlSrc: "00:11:22:33:44:55",
  dlDst: "66:77:88:99:aa:bb",
  dlVlan: 10,
  dlVlanPcp: 3,
  dlType: 0x0800,
  nwTos: 0x20,
  nwProto: 6,
  nwSrc: ipv4FromString("10.0.0.1"),
  nwDst: ipv4FromString("10.0.0.2"),
  tpSrc: 1234,
  tpDst: 80,
};
const TCP_MATCH_TEXT = [
  "tcp",
  "in_port=1",
  "dl_vlan=10",
  "dl_vlan_pcp=3",
  "dl_src=00:11:22:33:44:55",
  "dl_dst=66:77:88:99:aa:bb",
  "nw_src=10.0.0.1",
  "nw_dst=10.0.0.2",
  "nw_tos=32",
  "tp_src=1234",
  "tp_dst=80",
];

/** Only in_port and nw_src/24 matter (partial IP wildcard). */
const PREFIX_MATCH: Match = {
  ...MATCH_ALL,
  wildcards:
    (OFPFW.ALL & ~OFPFW.IN_PORT & ~OFPFW.DL_TYPE & ~OFPFW.NW_SRC_MASK) | (8 << OFPFW.NW_SRC_SHIFT),
  inPort: 3,
  dlType: 0x0800,
  nwSrc: ipv4FromString("192.168.1.0"),
};

const PORT1: PhyPort = {
  portNo: 1,
  hwAddr: "02:00:00:00:00:01",
  name: "veth-a",
  config: OFPPC.NO_FLOOD,
  state: 0,
  curr: OFPPF["1GB_FD"] | OFPPF.COPPER,
  advertised: 0,
  supported: OFPPF["1GB_FD"],
  peer: 0,
};
const PORT2: PhyPort = {
  ...PORT1,
  portNo: 2,
  hwAddr: "02:00:00:00:00:02",
  name: "veth-b",
  config: OFPPC.PORT_DOWN,
  state: 1,
};

function flowModWith(actions: Action[], xid = 0x10): OfpMessage {
  return {
    ...baseFlowMod(actions, xid),
    match: { ...MATCH_ALL, wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort: 1 },
  };
}

/** One FLOW_MOD per action (type), checked in ovs-ofctl's action syntax. */
const ACTION_CASES: [string, Action, string][] = [
  ["output-physical", { type: OFPAT.OUTPUT, port: 2, maxLen: 0 }, "actions=output:2"],
  ["output-in_port", { type: OFPAT.OUTPUT, port: OFPP.IN_PORT, maxLen: 0 }, "actions=IN_PORT"],
  ["output-table", { type: OFPAT.OUTPUT, port: OFPP.TABLE, maxLen: 0 }, "actions=TABLE"],
  ["output-normal", { type: OFPAT.OUTPUT, port: OFPP.NORMAL, maxLen: 0 }, "actions=NORMAL"],
  ["output-flood", { type: OFPAT.OUTPUT, port: OFPP.FLOOD, maxLen: 0 }, "actions=FLOOD"],
  ["output-all", { type: OFPAT.OUTPUT, port: OFPP.ALL, maxLen: 0 }, "actions=ALL"],
  [
    "output-controller",
    { type: OFPAT.OUTPUT, port: OFPP.CONTROLLER, maxLen: 128 },
    "actions=CONTROLLER:128",
  ],
  ["output-local", { type: OFPAT.OUTPUT, port: OFPP.LOCAL, maxLen: 0 }, "actions=LOCAL"],
  // OVS refuses output to NONE in a flow (BAD_OUT_PORT) and dumps the bytes: check them there.
  ["output-none", { type: OFPAT.OUTPUT, port: OFPP.NONE, maxLen: 0 }, "00 00 00 08 ff ff 00 00"],
  ["set_vlan_vid", { type: OFPAT.SET_VLAN_VID, vlanVid: 100 }, "actions=mod_vlan_vid:100"],
  ["set_vlan_pcp", { type: OFPAT.SET_VLAN_PCP, vlanPcp: 5 }, "actions=mod_vlan_pcp:5"],
  ["strip_vlan", { type: OFPAT.STRIP_VLAN }, "actions=strip_vlan"],
  [
    "set_dl_src",
    { type: OFPAT.SET_DL_SRC, dlAddr: "0a:0b:0c:0d:0e:0f" },
    "actions=mod_dl_src:0a:0b:0c:0d:0e:0f",
  ],
  [
    "set_dl_dst",
    { type: OFPAT.SET_DL_DST, dlAddr: "fe:dc:ba:98:76:54" },
    "actions=mod_dl_dst:fe:dc:ba:98:76:54",
  ],
  [
    "set_nw_src",
    { type: OFPAT.SET_NW_SRC, nwAddr: ipv4FromString("172.16.0.9") },
    "actions=mod_nw_src:172.16.0.9",
  ],
  [
    "set_nw_dst",
    { type: OFPAT.SET_NW_DST, nwAddr: ipv4FromString("8.8.4.4") },
    "actions=mod_nw_dst:8.8.4.4",
  ],
  ["set_nw_tos", { type: OFPAT.SET_NW_TOS, nwTos: 0x48 }, "actions=mod_nw_tos:72"],
  ["set_tp_src", { type: OFPAT.SET_TP_SRC, tpPort: 4321 }, "actions=mod_tp_src:4321"],
  ["set_tp_dst", { type: OFPAT.SET_TP_DST, tpPort: 8080 }, "actions=mod_tp_dst:8080"],
  ["enqueue", { type: OFPAT.ENQUEUE, port: 3, queueId: 7 }, "actions=enqueue:3:7"],
  // Nicira NXAST_RESUBMIT (subtype 1): in_port 3, pads to 16 bytes.
  [
    "vendor-nx-resubmit",
    { type: OFPAT.VENDOR, vendor: 0x2320, body: Buffer.from([0, 1, 0, 3, 0, 0, 0, 0]) },
    "actions=resubmit:3",
  ],
];

const FLOW_STATS_ENTRY: FlowStats = {
  tableId: 0,
  match: TCP_MATCH,
  durationSec: 12,
  durationNsec: 500_000_000,
  priority: 200,
  idleTimeout: 60,
  hardTimeout: 300,
  cookie: 0xabcdn,
  packetCount: 17n,
  byteCount: 1700n,
  actions: [
    { type: OFPAT.SET_VLAN_VID, vlanVid: 5 },
    { type: OFPAT.OUTPUT, port: 2, maxLen: 0 },
  ],
};

// An ARP request from 10.0.0.1 for 10.0.0.2, for PACKET_IN/PACKET_OUT payloads.
const ARP_FRAME = Buffer.from(
  "ffffffffffff00112233445508060001080006040001001122334455" + "0a000001000000000000" + "0a000002",
  "hex",
);

const stats = (xid: number, flags = 0) => ({ xid, flags });

export const GOLDEN_CASES: GoldenCase[] = [
  {
    name: "hello",
    msg: { type: OFPT.HELLO, xid: 1, version: 1, body: Buffer.alloc(0) },
    expect: ["OFPT_HELLO (xid=0x1):", "version bitmap: 0x01"],
  },
  {
    name: "error-bad-len",
    msg: {
      type: OFPT.ERROR,
      xid: 0x22,
      errType: OFPET.BAD_REQUEST,
      code: OFPBRC.BAD_LEN,
      data: encodeMessage({ type: OFPT.BARRIER_REQUEST, xid: 0x22 }),
    },
    expect: ["OFPT_ERROR (xid=0x22): OFPBRC_BAD_LEN", "OFPT_BARRIER_REQUEST (xid=0x22)"],
  },
  {
    name: "echo-request",
    msg: { type: OFPT.ECHO_REQUEST, xid: 3, data: Buffer.from("ping") },
    expect: ["OFPT_ECHO_REQUEST (xid=0x3): 4 bytes of payload", "70 69 6e 67"],
  },
  {
    name: "echo-reply",
    msg: { type: OFPT.ECHO_REPLY, xid: 4, data: Buffer.from("pong!") },
    expect: ["OFPT_ECHO_REPLY (xid=0x4): 5 bytes of payload", "70 6f 6e 67 21"],
  },
  {
    // Nicira NXT_SET_FLOW_FORMAT (subtype 12) to nxm: a vendor message OVS itself knows.
    name: "vendor-nx-set-flow-format",
    msg: {
      type: OFPT.VENDOR,
      xid: 5,
      vendor: 0x2320,
      data: Buffer.from([0, 0, 0, 12, 0, 0, 0, 2]),
    },
    expect: ["NXT_SET_FLOW_FORMAT (xid=0x5): format=nxm"],
  },
  {
    name: "features-request",
    msg: { type: OFPT.FEATURES_REQUEST, xid: 6 },
    expect: ["OFPT_FEATURES_REQUEST (xid=0x6):"],
  },
  {
    name: "features-reply",
    msg: {
      type: OFPT.FEATURES_REPLY,
      xid: 7,
      datapathId: 0x0000_1234_5678_9abcn,
      nBuffers: 256,
      nTables: 1,
      capabilities: OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.ARP_MATCH_IP,
      actions: (1 << OFPAT.OUTPUT) | (1 << OFPAT.SET_VLAN_VID) | (1 << OFPAT.STRIP_VLAN),
      ports: [PORT1, PORT2],
    },
    expect: [
      "OFPT_FEATURES_REPLY (xid=0x7): dpid:0000123456789abc",
      "n_tables:1, n_buffers:256",
      "capabilities: FLOW_STATS TABLE_STATS PORT_STATS ARP_MATCH_IP",
      "actions: output set_vlan_vid strip_vlan",
      "state:      0",
      " 1(veth-a): addr:02:00:00:00:00:01",
      "config:     NO_FLOOD",
      " 2(veth-b): addr:02:00:00:00:00:02",
      "config:     PORT_DOWN",
      "state:      LINK_DOWN",
      "current:    1GB-FD COPPER",
      "supported:  1GB-FD",
    ],
  },
  {
    name: "get-config-request",
    msg: { type: OFPT.GET_CONFIG_REQUEST, xid: 8 },
    expect: ["OFPT_GET_CONFIG_REQUEST (xid=0x8):"],
  },
  {
    name: "get-config-reply",
    msg: { type: OFPT.GET_CONFIG_REPLY, xid: 9, flags: 1, missSendLen: 200 },
    expect: ["OFPT_GET_CONFIG_REPLY (xid=0x9): frags=drop miss_send_len=200"],
  },
  {
    name: "set-config",
    msg: { type: OFPT.SET_CONFIG, xid: 10, flags: 0, missSendLen: 128 },
    expect: ["OFPT_SET_CONFIG (xid=0xa): frags=normal miss_send_len=128"],
  },
  {
    name: "packet-in",
    msg: {
      type: OFPT.PACKET_IN,
      xid: 11,
      bufferId: 0x100,
      totalLen: ARP_FRAME.length,
      inPort: 3,
      reason: OFPR.NO_MATCH,
      data: ARP_FRAME,
    },
    expect: [
      "OFPT_PACKET_IN (xid=0xb): total_len=42 in_port=3 (via no_match) data_len=42 buffer=0x00000100",
      "arp,",
      "dl_src=00:11:22:33:44:55,dl_dst=ff:ff:ff:ff:ff:ff",
      "arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1",
    ],
  },
  {
    name: "flow-removed",
    msg: {
      type: OFPT.FLOW_REMOVED,
      xid: 12,
      match: TCP_MATCH,
      cookie: 0x1122334455667788n,
      priority: 300,
      reason: OFPRR.IDLE_TIMEOUT,
      durationSec: 5,
      durationNsec: 250_000_000,
      idleTimeout: 10,
      packetCount: 42n,
      byteCount: 4200n,
    },
    expect: [
      "OFPT_FLOW_REMOVED (xid=0xc):",
      ...TCP_MATCH_TEXT,
      "priority=300",
      "reason=idle",
      "cookie:0x1122334455667788",
      "duration5.250s",
      "idle10",
      "pkts42",
      "bytes4200",
    ],
  },
  {
    name: "port-status",
    msg: { type: OFPT.PORT_STATUS, xid: 13, reason: OFPPR.MODIFY, desc: PORT2 },
    expect: [
      "OFPT_PORT_STATUS (xid=0xd): MOD: 2(veth-b): addr:02:00:00:00:00:02",
      "config:     PORT_DOWN",
    ],
  },
  {
    name: "packet-out",
    msg: {
      type: OFPT.PACKET_OUT,
      xid: 14,
      bufferId: OFP_NO_BUFFER,
      inPort: OFPP.CONTROLLER,
      actions: [
        { type: OFPAT.SET_DL_DST, dlAddr: "01:02:03:04:05:06" },
        { type: OFPAT.OUTPUT, port: OFPP.FLOOD, maxLen: 0 },
      ],
      data: ARP_FRAME,
    },
    expect: [
      "OFPT_PACKET_OUT (xid=0xe): in_port=CONTROLLER actions=mod_dl_dst:01:02:03:04:05:06,FLOOD data_len=42",
      "arp_spa=10.0.0.1,arp_tpa=10.0.0.2",
    ],
  },
  {
    name: "flow-mod-add",
    msg: {
      ...baseFlowMod(
        [
          { type: OFPAT.SET_NW_TOS, nwTos: 0x10 },
          { type: OFPAT.OUTPUT, port: 5, maxLen: 0 },
        ],
        15,
      ),
      // one wildcard (pcp): OVS gives exact-match OF1.0 flows priority 65535, hiding ours
      match: { ...TCP_MATCH, wildcards: OFPFW.DL_VLAN_PCP },
      cookie: 0x99n,
      idleTimeout: 30,
      hardTimeout: 600,
      priority: 1000,
      bufferId: 0x200,
      flags: OFPFF.SEND_FLOW_REM | OFPFF.CHECK_OVERLAP,
    },
    expect: [
      "OFPT_FLOW_MOD (xid=0xf): ADD priority=1000,tcp,",
      ...TCP_MATCH_TEXT.filter((t) => !t.startsWith("dl_vlan_pcp")),
      "cookie:0x99",
      "idle:30",
      "hard:600",
      "buf:0x200",
      "send_flow_rem check_overlap",
      "actions=mod_nw_tos:16,output:5",
    ],
  },
  {
    name: "flow-mod-delete-strict-prefix",
    msg: {
      ...baseFlowMod([], 16),
      command: OFPFC.DELETE_STRICT,
      match: PREFIX_MATCH,
      priority: 7,
      outPort: 4,
    },
    expect: [
      "OFPT_FLOW_MOD (xid=0x10): DEL_STRICT",
      "priority=7,ip,in_port=3,nw_src=192.168.1.0/24",
      "out_port:4",
      "actions=drop",
    ],
  },
  ...ACTION_CASES.map(([name, action, text], i): GoldenCase => ({
    name: `action-${name}`,
    msg: flowModWith([action], 0x100 + i),
    expect: text.startsWith("actions=")
      ? [`OFPT_FLOW_MOD (xid=0x${(0x100 + i).toString(16)}): ADD in_port=1`, text]
      : ["***decode error: OFPBAC_BAD_OUT_PORT***", text],
  })),
  {
    name: "port-mod",
    msg: {
      type: OFPT.PORT_MOD,
      xid: 17,
      portNo: 2,
      hwAddr: "02:00:00:00:00:02",
      config: OFPPC.PORT_DOWN,
      mask: OFPPC.PORT_DOWN | OFPPC.NO_FLOOD,
      advertise: OFPPF["100MB_FD"],
    },
    expect: [
      "OFPT_PORT_MOD (xid=0x11): port: 2: addr:02:00:00:00:00:02",
      "config: PORT_DOWN",
      "mask:   PORT_DOWN NO_FLOOD",
      "advertise: 100MB-FD",
    ],
  },
  {
    name: "stats-request-desc",
    msg: { type: OFPT.STATS_REQUEST, ...stats(18), statsType: OFPST.DESC },
    expect: ["OFPST_DESC request (xid=0x12):"],
  },
  {
    name: "stats-request-flow",
    msg: {
      type: OFPT.STATS_REQUEST,
      ...stats(19),
      statsType: OFPST.FLOW,
      match: PREFIX_MATCH,
      tableId: 0xff,
      outPort: 2,
    },
    expect: ["OFPST_FLOW request (xid=0x13): out_port=2 ip,in_port=3,nw_src=192.168.1.0/24"],
  },
  {
    name: "stats-request-aggregate",
    msg: {
      type: OFPT.STATS_REQUEST,
      ...stats(20),
      statsType: OFPST.AGGREGATE,
      match: MATCH_ALL,
      tableId: 0,
      outPort: OFPP.NONE,
    },
    expect: ["OFPST_AGGREGATE request (xid=0x14): table=0"],
  },
  {
    name: "stats-request-table",
    msg: { type: OFPT.STATS_REQUEST, ...stats(21), statsType: OFPST.TABLE },
    expect: ["OFPST_TABLE request (xid=0x15):"],
  },
  {
    name: "stats-request-port",
    msg: { type: OFPT.STATS_REQUEST, ...stats(22), statsType: OFPST.PORT, portNo: 3 },
    expect: ["OFPST_PORT request (xid=0x16): port_no=3"],
  },
  {
    name: "stats-request-queue",
    msg: {
      type: OFPT.STATS_REQUEST,
      ...stats(23),
      statsType: OFPST.QUEUE,
      portNo: OFPP.ALL,
      queueId: 5,
    },
    // OVS names OF1.0's "all ports" (0xfffc) in queue requests ANY.
    expect: ["OFPST_QUEUE request (xid=0x17): port=ANY queue=5"],
  },
  {
    // Nicira NXST_FLOW_MONITOR (subtype 2) request with no body: a vendor stats OVS parses.
    name: "stats-request-vendor",
    msg: {
      type: OFPT.STATS_REQUEST,
      ...stats(24),
      statsType: OFPST.VENDOR,
      vendor: 0x2320,
      body: Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]),
    },
    expect: ["NXST_FLOW_MONITOR request (xid=0x18):"],
  },
  {
    name: "stats-reply-desc",
    msg: {
      type: OFPT.STATS_REPLY,
      ...stats(25),
      statsType: OFPST.DESC,
      desc: {
        mfrDesc: "ofswitch project",
        hwDesc: "software",
        swDesc: "ofswitch 0.1.0",
        serialNum: "SN-0001",
        dpDesc: "test datapath",
      },
    },
    expect: [
      "OFPST_DESC reply (xid=0x19):",
      "Manufacturer: ofswitch project",
      "Hardware: software",
      "Software: ofswitch 0.1.0",
      "Serial Num: SN-0001",
      "DP Description: test datapath",
    ],
  },
  {
    name: "stats-reply-flow",
    msg: { type: OFPT.STATS_REPLY, ...stats(26), statsType: OFPST.FLOW, flows: [FLOW_STATS_ENTRY] },
    expect: [
      "OFPST_FLOW reply (xid=0x1a):",
      "cookie=0xabcd",
      "duration=12.500s",
      "table=0",
      "n_packets=17",
      "n_bytes=1700",
      "idle_timeout=60",
      "hard_timeout=300",
      "priority=200",
      ...TCP_MATCH_TEXT,
      "actions=mod_vlan_vid:5,output:2",
    ],
  },
  {
    name: "stats-reply-aggregate",
    msg: {
      type: OFPT.STATS_REPLY,
      ...stats(27),
      statsType: OFPST.AGGREGATE,
      aggregate: { packetCount: 1000n, byteCount: 64000n, flowCount: 12 },
    },
    expect: ["OFPST_AGGREGATE reply (xid=0x1b): packet_count=1000 byte_count=64000 flow_count=12"],
  },
  {
    name: "stats-reply-table",
    msg: {
      type: OFPT.STATS_REPLY,
      ...stats(28),
      statsType: OFPST.TABLE,
      tables: [
        {
          tableId: 0,
          name: "classifier",
          wildcards: OFPFW.ALL,
          maxEntries: 1_000_000,
          activeCount: 3,
          lookupCount: 500n,
          matchedCount: 400n,
        },
      ],
    },
    expect: [
      "OFPST_TABLE reply (xid=0x1c):",
      'table 0 ("classifier")',
      "active=3, lookup=500, matched=400",
      "max_entries=1000000",
    ],
  },
  {
    name: "stats-reply-port",
    msg: {
      type: OFPT.STATS_REPLY,
      ...stats(29),
      statsType: OFPST.PORT,
      ports: [
        {
          portNo: 1,
          rxPackets: 10n,
          txPackets: 20n,
          rxBytes: 1000n,
          txBytes: 2000n,
          rxDropped: 1n,
          txDropped: 2n,
          rxErrors: 3n,
          txErrors: 4n,
          rxFrameErr: 5n,
          rxOverErr: 6n,
          rxCrcErr: 7n,
          collisions: 8n,
        },
      ],
    },
    expect: [
      "OFPST_PORT reply (xid=0x1d): 1 ports",
      "port  1: rx pkts=10, bytes=1000, drop=1, errs=3, frame=5, over=6, crc=7",
      "tx pkts=20, bytes=2000, drop=2, errs=4, coll=8",
    ],
  },
  {
    name: "stats-reply-queue",
    msg: {
      type: OFPT.STATS_REPLY,
      ...stats(30),
      statsType: OFPST.QUEUE,
      queues: [{ portNo: 2, queueId: 1, txBytes: 300n, txPackets: 3n, txErrors: 0n }],
    },
    expect: [
      "OFPST_QUEUE reply (xid=0x1e): 1 queues",
      "port 2 queue 1: bytes=300, pkts=3, errors=0",
    ],
  },
  {
    name: "stats-reply-more-flag",
    msg: {
      type: OFPT.STATS_REPLY,
      ...stats(31, 1),
      statsType: OFPST.FLOW,
      flows: [FLOW_STATS_ENTRY],
    },
    expect: ["OFPST_FLOW reply (xid=0x1f): flags=[more]"],
  },
  {
    name: "barrier-request",
    msg: { type: OFPT.BARRIER_REQUEST, xid: 32 },
    expect: ["OFPT_BARRIER_REQUEST (xid=0x20):"],
  },
  {
    name: "barrier-reply",
    msg: { type: OFPT.BARRIER_REPLY, xid: 33 },
    expect: ["OFPT_BARRIER_REPLY (xid=0x21):"],
  },
  {
    name: "queue-get-config-request",
    msg: { type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 34, port: 2 },
    expect: ["OFPT_QUEUE_GET_CONFIG_REQUEST (xid=0x22): port=2"],
  },
  {
    name: "queue-get-config-reply",
    msg: {
      type: OFPT.QUEUE_GET_CONFIG_REPLY,
      xid: 35,
      port: 2,
      queues: [
        { queueId: 1, properties: [{ property: OFPQT.MIN_RATE, rate: 500 }] },
        { queueId: 2, properties: [] },
      ],
    },
    expect: [
      "OFPT_QUEUE_GET_CONFIG_REPLY (xid=0x23): port=2",
      "queue 1:",
      "min_rate:50.0%",
      "queue 2:",
    ],
  },
];
