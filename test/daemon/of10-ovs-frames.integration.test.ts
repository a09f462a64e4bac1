// The same frames through ofswitch and through Open vSwitch 3.1's userspace datapath, side by
// side, with the same raw OF1.0 FLOW_MODs: which entry each frame meets (per-entry packet
// counts) and the bytes each rewrite produces must be the same. Pins what issue 11's audit
// made ofswitch do as OVS does: SCTP ports, RARP as ARP, the IPv6 fields OF1.0 can carry
// (traffic class, next header after extension headers, ports, ICMPv6 type/code), no ports for
// any IP fragment, ARP opcodes above 0xff, and set_nw_tos / set_tp_* on IPv6, SCTP and ICMP.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OFPAT, OFPFC, OFPFW, OFPST, OFPT } from "../../src/openflow/of10/constants.js";
import type { Action, Match } from "../../src/openflow/of10/types.js";
import { crc32c } from "../../src/packet/checksum.js";
import { missingOvs, OvsNamespace } from "../controller/ovs-netns.js";
import { MATCH_ALL } from "../openflow/helpers.js";
import { startListeningDaemon, type Proc } from "../support/daemon.js";
import { arp, eth, ipv4, ipv6, sctp, tcp, udp } from "../support/frames.js";
import { labPrefix, netnsUnavailable, Topology } from "../support/netns.js";
import { firstMissing, programsMissing, skipWithout } from "../support/prereq.js";
import { ControllerPeer } from "../switch/peer.js";
import { allFlowsRequest, barrier, flowMod, output } from "../switch/switch-harness.js";

const PY = "/usr/bin/python3";
const RAW = fileURLToPath(new URL("../fixtures/raw_frames.py", import.meta.url));
const SRC = "02:00:00:00:00:01";
const skip = skipWithout(
  import.meta.url,
  firstMissing(netnsUnavailable(), missingOvs(), programsMissing("ovs-ofctl", PY)),
);

const BITS: Partial<Record<keyof Match, number>> = {
  dlType: OFPFW.DL_TYPE,
  nwProto: OFPFW.NW_PROTO,
  nwTos: OFPFW.NW_TOS,
  tpSrc: OFPFW.TP_SRC,
  tpDst: OFPFW.TP_DST,
};
/** A match on `f`'s fields only (all others wildcarded). */
function on(f: Partial<Match>): Match {
  let wc = OFPFW.ALL;
  for (const k of Object.keys(f) as (keyof Match)[]) wc &= ~(BITS[k] ?? 0);
  return { ...MATCH_ALL, ...f, wildcards: wc };
}

const frame = (type: number, payload: number[]): Buffer => {
  const f = eth({ type, src: SRC, dst: "02:00:00:00:00:02" }, payload);
  return f.length >= 60 ? f : Buffer.concat([f, Buffer.alloc(60 - f.length)]);
};
const frag6 = (next: number, offlg: number) => [next, 0, offlg >> 8, offlg & 0xff, 0, 0, 0, 1];
const hop = (next: number) => [next, 0, 1, 4, 0, 0, 0, 0];
const crc = crc32c;

/** Frames for the matching check, each sent 3 times, and the entry (cookie) OVS counts it on. */
const MATCH_FRAMES: [string, Buffer][] = [
  ["tcp6 to 80", frame(0x86dd, ipv6({ nh: 6 }, tcp({ sport: 1000, dport: 80 })))],
  ["tcp6 to 81", frame(0x86dd, ipv6({ nh: 6 }, tcp({ sport: 1000, dport: 81 })))],
  [
    "udp6 to 53 behind hop-by-hop",
    frame(0x86dd, ipv6({ nh: 0 }, [...hop(17), ...udp({ sport: 5, dport: 53, noChecksum: true })])),
  ],
  [
    "later IPv6 fragment",
    frame(0x86dd, ipv6({ nh: 44 }, [...frag6(6, 0x100), ...tcp({ sport: 1, dport: 80 })])),
  ],
  [
    "first IPv6 fragment to 53",
    frame(
      0x86dd,
      ipv6({ nh: 44 }, [...frag6(17, 1), ...udp({ sport: 5, dport: 53, noChecksum: true })]),
    ),
  ],
  [
    "IPv6 traffic class 0xb9",
    frame(0x86dd, ipv6({ nh: 17, tc: 0xb9 }, udp({ sport: 7, dport: 7, noChecksum: true }))),
  ],
  ["ICMPv6 135", frame(0x86dd, ipv6({ nh: 58 }, [135, 0, 0, 0, 0, 0, 0, 0]))],
  ["IPv6 cut short", frame(0x86dd, ipv6({ nh: 6, plen: 200 }, tcp({ sport: 1000, dport: 80 })))],
  ["sctp to 38412", frame(0x0800, ipv4({ proto: 132 }, sctp(5000, 38412, crc)))],
  ["sctp6 to 38412", frame(0x86dd, ipv6({ nh: 132 }, sctp(5000, 38412, crc)))],
  ["rarp 3", frame(0x8035, arp(3, "10.0.0.1", "10.0.0.2"))],
  ["arp opcode 0x0101", frame(0x0806, ((a) => ((a[6] = 1), a))(arp(1, "10.0.0.1", "10.0.0.2")))],
  [
    "first IPv4 fragment to 53",
    frame(
      0x0800,
      ipv4({ proto: 17, fragField: 0x2000 }, udp({ sport: 5, dport: 53, noChecksum: true })),
    ),
  ],
  ["udp to 53", frame(0x0800, ipv4({ proto: 17 }, udp({ sport: 5, dport: 53, noChecksum: true })))],
];

const drop: Action[] = [];
/** [cookie, priority, match] of the matching check's entries. */
const MATCH_FLOWS: [number, number, Match][] = [
  [1, 100, on({ dlType: 0x86dd, nwProto: 6, tpDst: 80 })],
  [2, 100, on({ dlType: 0x86dd, nwProto: 17, tpDst: 53 })],
  [3, 100, on({ dlType: 0x86dd, nwProto: 44 })],
  [4, 90, on({ dlType: 0x86dd, nwTos: 184 })],
  [5, 100, on({ dlType: 0x86dd, nwProto: 58, tpSrc: 135 })],
  [6, 100, on({ dlType: 0x0800, nwProto: 132, tpDst: 38412 })],
  [7, 100, on({ dlType: 0x86dd, nwProto: 132, tpDst: 38412 })],
  [8, 100, on({ dlType: 0x8035, nwProto: 3 })],
  [9, 100, on({ dlType: 0x0806, nwProto: 0 })],
  [10, 99, on({ dlType: 0x0806, nwProto: 1 })],
  [11, 10, on({ dlType: 0x86dd })],
  [12, 100, on({ dlType: 0x0800, nwProto: 17, tpDst: 53 })],
  [13, 10, on({ dlType: 0x0800, nwProto: 17 })],
  [14, 0, on({})],
];

const tos = (t: number): Action => ({ type: OFPAT.SET_NW_TOS, nwTos: t });
const tpSrc = (p: number): Action => ({ type: OFPAT.SET_TP_SRC, tpPort: p });
const tpDst = (p: number): Action => ({ type: OFPAT.SET_TP_DST, tpPort: p });
/** [match, actions] of the rewrite check; every entry outputs to port 2. */
const ACTION_FLOWS: [Match, Action[]][] = [
  [on({ dlType: 0x86dd, nwProto: 6 }), [tpDst(8080), tos(0xb8), output(2)]],
  [on({ dlType: 0x86dd, nwProto: 17 }), [tpDst(5353), output(2)]],
  [on({ dlType: 0x0800, nwProto: 132 }), [tpDst(3868), output(2)]],
  [on({ dlType: 0x86dd, nwProto: 132 }), [tpSrc(9), output(2)]],
  [on({ dlType: 0x86dd, nwProto: 58 }), [tpSrc(5), tos(0x20), output(2)]],
  [on({ dlType: 0x0800, nwProto: 1 }), [tpSrc(13), tpDst(1), output(2)]],
  [on({ dlType: 0x0800, nwProto: 17 }), [tpDst(99), output(2)]],
];
const ACTION_FRAMES: Buffer[] = [
  frame(0x86dd, ipv6({ nh: 6, tc: 0x03, csumAt: 16 }, tcp({ sport: 1000, dport: 80 }, [1, 2, 3]))),
  frame(
    0x86dd,
    ipv6({ nh: 17, csumAt: 6 }, udp({ sport: 5, dport: 53, noChecksum: true }, [0x68, 0x69])),
  ),
  frame(0x0800, ipv4({ proto: 132 }, sctp(2905, 2906, crc))),
  frame(0x86dd, ipv6({ nh: 132 }, sctp(1, 2, crc))),
  frame(0x86dd, ipv6({ nh: 58 }, [128, 0, 0x12, 0x34, 0, 1, 0, 1])),
  frame(0x0800, ipv4({ proto: 1 }, [8, 0, 0xf7, 0xfe, 0, 1, 0, 0])),
  frame(
    0x0800,
    ipv4(
      { proto: 17, fragField: 0x2000 },
      udp({ sport: 5, dport: 53, noChecksum: true }, [1, 2, 3, 4, 5, 6, 7, 8]),
    ),
  ),
];

interface Side {
  name: string;
  peer: ControllerPeer;
  /** Runs raw_frames.py with `args` where the switch's ports can be reached. */
  inNs: string[];
  ifIn: string;
  ifOut: string;
}

/** Frames `ifOut` of `side` receives from SRC while `frames` are sent into `ifIn`. */
async function through(side: Side, frames: Buffer[], repeat = 1): Promise<string[]> {
  const sniff = spawn(...cmd(side, ["sniff", side.ifOut, "2.5", SRC]));
  let out = "";
  sniff.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const ended = new Promise<void>((r) => sniff.on("close", () => r()));
  for (let i = 0; i < 50 && !out.includes("listening"); i++)
    await new Promise((r) => setTimeout(r, 50));
  const hex = frames.flatMap((f) => new Array<string>(repeat).fill(f.toString("hex")));
  const sent = spawnSync(...cmd(side, ["send", side.ifIn, ...hex]), {
    encoding: "utf8",
    timeout: 10_000,
  });
  expect(sent.stdout).toContain(`sent ${hex.length}`);
  await ended;
  return out.split("\n").filter((l) => /^[0-9a-f]+$/.test(l));
}

function cmd(side: Side, args: string[]): [string, string[]] {
  return side.inNs.length === 0 ? [PY, [RAW, ...args]] : ["ip", [...side.inNs, PY, RAW, ...args]];
}

async function program(
  c: ControllerPeer,
  flows: [number, number, Match, Action[]][],
): Promise<void> {
  c.send(flowMod({ command: OFPFC.DELETE, match: MATCH_ALL }));
  for (const [cookie, priority, match, actions] of flows)
    c.send(flowMod({ match, priority, cookie: BigInt(cookie), actions }));
  await barrier(c);
  expect(c.drain(OFPT.ERROR)).toEqual([]);
}

async function counts(c: ControllerPeer): Promise<Record<string, number>> {
  const parts = await c.stats(allFlowsRequest(OFPST.FLOW));
  const out: Record<string, number> = {};
  for (const p of parts) {
    if (p.type !== OFPT.STATS_REPLY || p.statsType !== OFPST.FLOW) continue;
    for (const f of p.flows) out[`cookie ${f.cookie}`] = Number(f.packetCount);
  }
  return out;
}

describe.skipIf(skip)("the same frames through ofswitch and Open vSwitch 3.1 (netdev)", () => {
  const lab = new Topology(labPrefix("ofr"));
  let ovs: OvsNamespace | undefined;
  let daemon: Proc | undefined;
  let sides: Side[] = [];

  beforeAll(async () => {
    const [oIn, oInSw] = lab.addVethPair("oi");
    const [oOut, oOutSw] = lab.addVethPair("oo");
    const [sIn, sInSw] = lab.addVethPair("si");
    const [sOut, sOutSw] = lab.addVethPair("so");
    ovs = new OvsNamespace(labPrefix("ofo"), `172.29.${process.pid % 250}`);
    ovs.adopt(oInSw);
    ovs.adopt(oOutSw);
    ovs.vsctl(["set", "Open_vSwitch", ".", "other_config:flow-limit=0"]);
    ovs.addOf10Bridge([oInSw, oOutSw]);
    const started = await startListeningDaemon([`${sInSw}=1`, `${sOutSw}=2`]);
    daemon = started.daemon;
    const ovsPeer = await connectWithin(() => ControllerPeer.connect(6653, true, ovs!.ovsIp));
    const ourPeer = await ControllerPeer.connect(started.port);
    sides = [
      { name: "Open vSwitch", peer: ovsPeer, inNs: [], ifIn: oIn, ifOut: oOut },
      { name: "ofswitch", peer: ourPeer, inNs: [], ifIn: sIn, ifOut: sOut },
    ];
  }, 60_000);

  afterAll(async () => {
    for (const s of sides) s.peer.close();
    await daemon?.stop();
    ovs?.teardown();
    lab.teardown();
  });

  it("every frame meets the same entry (per-entry packet counts equal)", async () => {
    const got: Record<string, number>[] = [];
    for (const s of sides) {
      await program(
        s.peer,
        MATCH_FLOWS.map(([c, p, m]) => [c, p, m, drop]),
      );
      await through(
        s,
        MATCH_FRAMES.map(([, f]) => f),
        3,
      );
      got.push(await counts(s.peer));
    }
    const [theirs, ours] = got;
    // What OVS did, for the record: every frame was counted once per copy.
    expect(Object.values(theirs).reduce((a, b) => a + b, 0)).toBe(3 * MATCH_FRAMES.length);
    expect(ours).toEqual(theirs);
  }, 60_000);

  it("set_nw_tos and set_tp_* leave the same bytes on IPv6, SCTP, ICMP and a first fragment", async () => {
    const got: string[][] = [];
    for (const s of sides) {
      await program(
        s.peer,
        ACTION_FLOWS.map(([m, a], i) => [i + 1, 100, m, a]),
      );
      got.push(await through(s, ACTION_FRAMES));
    }
    const [theirs, ours] = got;
    expect(theirs).toHaveLength(ACTION_FRAMES.length);
    expect(ours).toEqual(theirs);
  }, 60_000);
});

/** `connect`, retried for up to 10 s (ovs-vswitchd opens its listener a moment after start). */
async function connectWithin(connect: () => Promise<ControllerPeer>): Promise<ControllerPeer> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await connect();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
