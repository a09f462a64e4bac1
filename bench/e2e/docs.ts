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

- Topology: two hosts, each a network namespace with one veth; the switch-side veth ends sit in a
  third "switch" namespace where every peer runs (ofswitch, the Linux bridge, ovs-vswitchd with
  \`datapath_type=netdev\` and its ovsdb-server started by the harness in its own run directory).
  A fresh topology per peer; the IPv6 stack is off in all three namespaces so that no stray
  packets enter the counts.
- ofswitch and OVS are programmed proactively with ovs-ofctl (\`in_port=1,actions=output:2\` and
  back), \`fail_mode=secure\`. ofswitch also holds 100,000 exact-match and 1,000 wildcard entries
  (a few dozen distinct masks, spread priorities) that match none of the test traffic, loaded with
  \`ovs-ofctl add-flows\` ("load" row: wall time including ovs-ofctl's parsing, checked with
  \`dump-aggregate\`). OVS is not preloaded unless \`--preload-ovs\` is given.
- TCP: \`iperf3 -J\` host 1 to host 2, receiver goodput; 1 and 4 streams (\`-P 4\`); first with
  the veths' default offloads, then with \`ethtool -K IF tx off tso off gso off gro off rx off\`
  on all four veth ends (all later figures run with offloads off). "failed" means no run
  produced a figure: with the default offloads not even iperf3's control connection gets through
  Open vSwitch's userspace datapath on veths here (ping does), so those rows have no OVS value.
- 64-byte frames: one UDP flow of 60-byte frames (64 on the wire) to an address host 2 drops
  silently, offered at a fixed rate (\`--frame-rate\`, default 400,000/s) by an AF_PACKET
  generator in host 1 (\`bench/frame-blast.ts --pps\`: paced every millisecond, sent with sendmmsg; a UDP
  socket, one datagram per system call, could not offer more than the switches deliver).
  Offered = host 1's veth tx_packets, delivered = host 2's veth rx_packets, per second of
  sending. The generator shares the 2 cores with the switch, as every peer's does.
- Latency: \`ping -i 0.01\` RTT percentiles (linear interpolation) over all pings of a run, idle
  and while a one-stream iperf3 TCP run crosses the switch.
- Flow setup: reactive mode, \`ovs-testcontroller\` (learning, exact-match flows) behind an empty
  table. After a ping has taught it both MACs, host 1 sends N UDP packets at a fixed offered rate,
  packet i to 10.64.0.0+i (routed to host 2's MAC): every packet is a table miss, a PACKET_IN
  and a FLOW_MOD with the packet. Rate = frames reaching host 2's veth / time from the first send
  to the last arrival (the receiver stops once host 2's counter has been still for 1 s, at most
  10 s after sending ends, so a switch that queues and delivers late is credited); the runs'
  notes give delivered/sent and the entries installed. ofswitch
  runs here with \`--packet-in-rate 0\` (its default is 1,000/s): Open vSwitch sets no packet-in
  limit by default either. ofswitch always runs with \`--log-level warn\`.
- CPU: utime+stime from /proc/PID/stat of the switch process(es) over the run (OVS:
  ovs-vswitchd + ovsdb-server); RSS: VmHWM at the end of the proactive session. The Linux
  bridge's cost is kernel softirq time that cannot be attributed: n/a.
- Every figure is the median of the runs; ratios are ofswitch / peer (for "lower is better" rows
  a ratio below 1 favours ofswitch). The plot turns each ratio into an advantage (> 1 = ofswitch
  better). Raw runs are in the JSON lines file.`;

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
