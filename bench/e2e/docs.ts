// docs/performance.md "## End to end" (table, command, date, method, plot) and its "### Profile".
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FigureLine } from "./figures.js";
import { replaceSection, resultsTable, sectionBody } from "./report.js";
import { ratiosSvg } from "./svg.js";

export interface RunMeta {
  date: string;
  command: string;
  machine: string;
  settings: string;
}

const SECTION = "## End to end";
const PROFILE = "### Profile";

const METHOD = `How each figure is measured (\`bench/e2e/\`):

- Rounds: every peer is measured once per round, in an order that rotates from round to round
  (\`--repeat\`, default 3), each time on a fresh topology. A value is the median of the rounds;
  a ratio is ofswitch / peer within each round (runs minutes apart), shown as the median of the
  rounds' ratios with their range. A run whose peer failed, or whose switch process exited
  during it, gives no value ("failed" when no round did); a value that is only a bound is
  shown as one (">= X": the peer was not saturated, or a ping was lost).
- Topology: two hosts, each a network namespace with one veth; the switch-side veth ends sit in a
  third "switch" namespace where every peer runs (ofswitch, the Linux bridge, ovs-vswitchd with
  \`datapath_type=netdev\` and its ovsdb-server started by the harness in its own run directory).
  The IPv6 stack is off in all three namespaces so that no stray packets enter the counts.
- ofswitch and OVS are programmed proactively with ovs-ofctl (\`in_port=1,actions=output:2\` and
  back), \`fail_mode=secure\`. Both also hold 100,000 exact-match and 1,000 wildcard entries
  (a few dozen distinct masks, spread priorities) that match none of the test traffic, loaded with
  \`ovs-ofctl add-flows\` ("load" row: wall time including ovs-ofctl's parsing, checked with
  \`dump-aggregate\`; \`--no-preload-ovs\` leaves OVS empty). "Memory per loaded entry" is the
  switch process's resident set after the load minus before it, divided by the entries.
- TCP: \`iperf3 -J\` host 1 to host 2, receiver goodput; 1 and 4 streams (\`-P 4\`); first with
  the veths' default offloads, then with \`ethtool -K IF tx off tso off gso off gro off rx off\`
  on all four veth ends (all later figures run with offloads off). With the default offloads not
  even iperf3's control connection gets through Open vSwitch's userspace datapath on veths here
  (ping does), so those rows have no OVS value.
- 64-byte frames: one UDP flow of 60-byte frames (64 on the wire) to an address host 2 drops
  silently, from an AF_PACKET generator in host 1 (\`bench/frame-blast.ts\`: sendmmsg, paced
  every millisecond). Offered = host 1's veth tx_packets, delivered = host 2's veth rx_packets,
  per second of sending. First, before the switch starts, the generator alone as fast as it can
  ("generator alone" row: its ceiling on this machine, frames dying on a switch-side veth nothing
  reads). Then RFC 2544's throughput search with the same trials for every peer: a trial at that
  ceiling, then a binary search on the offered rate (\`--trial-seconds\` per trial, up to
  \`--max-trials\` more, to 3 % resolution); a trial passes when at most \`--loss-pct\` (0.1 %) of
  the offered frames are lost. The zero-loss rate is the highest offered rate that passed; ">="
  when that trial was the generator's limit (it could not offer more while the switch shared the
  cores with it), i.e. the switch was not saturated. The generator shares the 2 cores with the
  switch, as every peer's does; the Linux bridge forwards inside the generator's own sends.
  "CPU per 64-byte frame": the switch's CPU over the passing trial at that rate / frames
  delivered.
- Latency: \`ping -i 0.01 -W 1\` RTT percentiles (linear interpolation) over all pings of a run,
  idle and while a one-stream iperf3 TCP run crosses the switch; a lost ping counts as later
  than every reply, so a percentile that falls on one is ">= 1,000" ms; "pings lost" and the
  TCP goodput of the load are reported beside them.
- Flow setup: reactive mode, \`ovs-testcontroller\` (learning, exact-match flows) behind an empty
  table. After a ping has taught it both MACs, host 1 sends new UDP flows, packet i to
  10.64.0.0+i (routed to host 2's MAC), at stepped offered rates (\`--flow-rates\`, each step
  \`--flow-seconds\` long and starting from an empty table): every packet is a table miss, a
  PACKET_IN and a FLOW_MOD with the packet. A step's rate = frames reaching host 2's veth / time
  from the first send to the last arrival (the receiver stops once host 2's counter has been still
  for 1 s, at most 10 s after sending ends, so a switch that queues and delivers late is
  credited). Stepping stops when a step sets up less than 5 % more per second than the best one
  before, or the sender tops out; the figure is the best step (">=" when it was the last and the
  switch kept up with it). The runs' notes give every step. ofswitch runs here with
  \`--packet-in-rate 0\` (its default): Open vSwitch sets no packet-in limit by default either.
  ofswitch always runs with \`--log-level warn\`.
- CPU: utime+stime from /proc/PID/stat of the switch process(es) over the run (OVS:
  ovs-vswitchd + ovsdb-server; ofswitch: all its threads); RSS: VmHWM at the end of the
  proactive session. The Linux bridge's cost is kernel softirq time that cannot be attributed:
  n/a.
- The plot turns each ratio into an advantage (> 1 = ofswitch better) with the range of the
  rounds as a whisker. Raw runs, with their rounds and notes, are in the JSON lines file.`;

export function endToEndBody(lines: FigureLine[], meta: RunMeta, profile: string | null): string {
  return [
    `Latest run: ${meta.date}; ${meta.machine}. Command:`,
    "",
    "```sh",
    meta.command,
    "```",
    "",
    `Settings: ${meta.settings}.`,
    "",
    resultsTable(lines),
    "",
    "![ofswitch advantage over each peer](e2e-ratios.svg)",
    "",
    METHOD,
    ...(profile ? ["", PROFILE, "", profile] : []),
  ].join("\n");
}

function readDoc(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "# Performance\n";
}

/** Rewrites the End to end section (keeping its Profile subsection) and the SVG plot. */
export function writeEndToEndDocs(root: string, lines: FigureLine[], meta: RunMeta): void {
  const path = join(root, "docs/performance.md");
  const doc = readDoc(path);
  const body = sectionBody(doc, SECTION);
  const profile = body === null ? null : sectionBody(body, PROFILE);
  writeFileSync(path, replaceSection(doc, SECTION, endToEndBody(lines, meta, profile)));
  writeFileSync(
    join(root, "docs/e2e-ratios.svg"),
    ratiosSvg(lines, `${meta.date} · ${meta.command}`),
  );
}

/** Rewrites only the Profile subsection of the End to end section. */
export function writeProfileDocs(root: string, summary: string, meta: RunMeta): void {
  const path = join(root, "docs/performance.md");
  const doc = readDoc(path);
  const body = sectionBody(doc, SECTION) ?? "";
  const text = `${meta.date}, \`${meta.command}\` (ofswitch under \`node --cpu-prof\`, proactive session).\n\n${summary}`;
  writeFileSync(path, replaceSection(doc, SECTION, replaceSection(body, PROFILE, text)));
}
