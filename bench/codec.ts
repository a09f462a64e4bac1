// Codec throughput: encode and decode rates for the messages on the busiest control paths.
// Run: npx tsc -p . && node dist/bench/codec.js [seconds-per-case, default 2]
import { OFPAT, OFPFW, OFPP, OFPST, OFPT, OFP_NO_BUFFER } from "../src/openflow/of10/constants.js";
import { decodeMessage, encodeMessage } from "../src/openflow/of10/codec.js";
import type { MessageOf, OfpMessage } from "../src/openflow/of10/messages.js";
import { splitStatsReply } from "../src/openflow/of10/multipart.js";
import type { FlowStats, Match } from "../src/openflow/of10/types.js";

const seconds = Number(process.argv[2] ?? 2);

const match: Match = {
  wildcards: OFPFW.DL_VLAN_PCP | OFPFW.NW_TOS,
  inPort: 1,
  dlSrc: "00:11:22:33:44:55",
  dlDst: "66:77:88:99:aa:bb",
  dlVlan: 0xffff,
  dlVlanPcp: 0,
  dlType: 0x0800,
  nwTos: 0,
  nwProto: 6,
  nwSrc: 0x0a000001,
  nwDst: 0x0a000002,
  tpSrc: 12345,
  tpDst: 80,
};

const packetIn: OfpMessage = {
  type: OFPT.PACKET_IN,
  xid: 0,
  bufferId: 0x100,
  totalLen: 1500,
  inPort: 1,
  reason: 0,
  data: Buffer.alloc(128, 0xab),
};

const flowMod: OfpMessage = {
  type: OFPT.FLOW_MOD,
  xid: 7,
  match,
  cookie: 0n,
  command: 0,
  idleTimeout: 60,
  hardTimeout: 0,
  priority: 0x8000,
  bufferId: OFP_NO_BUFFER,
  outPort: OFPP.NONE,
  flags: 0,
  actions: [
    { type: OFPAT.SET_DL_DST, dlAddr: "02:00:00:00:00:01" },
    { type: OFPAT.SET_VLAN_VID, vlanVid: 10 },
    { type: OFPAT.OUTPUT, port: 2, maxLen: 0 },
  ],
};

const flows: FlowStats[] = Array.from({ length: 1000 }, (_, i) => ({
  tableId: 0,
  match: { ...match, tpSrc: i },
  durationSec: i,
  durationNsec: 0,
  priority: 0x8000,
  idleTimeout: 60,
  hardTimeout: 0,
  cookie: BigInt(i),
  packetCount: 10n,
  byteCount: 1000n,
  actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
}));
const flowReply: MessageOf<typeof OFPT.STATS_REPLY> = {
  type: OFPT.STATS_REPLY,
  xid: 9,
  flags: 0,
  statsType: OFPST.FLOW,
  flows,
};
const flowReplyParts = splitStatsReply(flowReply);
const flowReplyWires = flowReplyParts.map(encodeMessage);

/** Runs `fn` in batches for about `seconds` of this process's CPU time; returns calls per
 * CPU-second. CPU time rather than wall time, because the machine is shared and noisy. */
function rate(name: string, fn: () => unknown, batch: number): number {
  for (let i = 0; i < batch; i++) fn(); // warm-up
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let calls = 0;
  const start = cpu();
  let now = start;
  while (now - start < seconds) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    now = cpu();
  }
  const r = calls / (now - start);
  process.stdout.write(`  ${name}: ${Math.round(r).toLocaleString("en-US")}/s\n`);
  return r;
}

const pinWire = encodeMessage(packetIn);
const fmWire = encodeMessage(flowMod);
let sink = 0;

console.log(`codec bench: ${seconds} CPU-s per case, node ${process.version}`);
const rows: [string, number, number, string][] = [];
rows.push([
  "PACKET_IN, 128-byte data",
  rate("PACKET_IN encode", () => (sink += encodeMessage(packetIn).length), 10_000),
  rate("PACKET_IN decode", () => (sink += decodeMessage(pinWire).xid), 10_000),
  `${pinWire.length} B`,
]);
rows.push([
  "FLOW_MOD, 3 actions",
  rate("FLOW_MOD encode", () => (sink += encodeMessage(flowMod).length), 10_000),
  rate("FLOW_MOD decode", () => (sink += decodeMessage(fmWire).xid), 10_000),
  `${fmWire.length} B`,
]);
rows.push([
  "FLOW stats reply, 1,000 entries (whole replies/s)",
  rate(
    "FLOW reply split+encode",
    () => {
      for (const p of splitStatsReply(flowReply)) sink += encodeMessage(p).length;
    },
    10,
  ),
  rate(
    "FLOW reply decode",
    () => {
      for (const w of flowReplyWires) sink += decodeMessage(w).xid;
    },
    10,
  ),
  `${flowReplyWires.length} msgs, ${flowReplyWires.reduce((n, w) => n + w.length, 0)} B`,
]);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(12);
console.log("\n| message | encode (/CPU-s) | decode (/CPU-s) | size |");
console.log("| --- | ---: | ---: | --- |");
for (const [name, enc, dec, size] of rows)
  console.log(`| ${name} | ${fmt(enc)} | ${fmt(dec)} | ${size} |`);
if (sink === 0.5) console.log(sink); // keeps the results observable
