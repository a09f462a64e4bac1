// Measures TCP through the pcap datapath between two namespaces whose veths keep their
// default offloads (TSO/GSO, tx checksum), with each egress fix-up on or off, both directions.
// Run as root after `npx tsc -p .`:  node dist/bench/datapath-offload.js [seconds]
import { Datapath } from "../src/datapath/datapath.js";
import type { EgressOptions } from "../src/datapath/egress.js";
import { PcapPort } from "../src/datapath/pcap-port.js";
import { Topology, netnsUnavailable } from "../test/support/netns.js";
import { RuleLookup, ruleActions } from "../test/support/rule-lookup.js";

const seconds = Number(process.argv[2] ?? 3);

interface Result {
  mode: string;
  reverse: boolean;
  gbps: number;
  bytes: number;
  note: string;
}

async function measure(
  topo: Topology,
  egress: EgressOptions,
  mode: string,
  reverse: boolean,
): Promise<Result> {
  const lookup = new RuleLookup();
  lookup.add({}, [{ kind: "flood" }]);
  const dp = new Datapath({
    lookup,
    actionsOf: ruleActions,
    egress,
    callbacks: { onMiss: () => {}, onController: () => {}, onPortChange: () => {} },
  });
  topo.hosts.forEach((h, i) => dp.addPort(new PcapPort(i + 1, h.switchIf)));
  const server = topo.spawnIn(1, "iperf3", ["-s", "-1"]);
  await new Promise((r) => setTimeout(r, 300));
  const r = await topo.runIn(
    0,
    `iperf3 -c ${topo.hosts[1].ip} -t ${seconds} -J --connect-timeout 2000 ${reverse ? "-R" : ""}`,
    (seconds + 8) * 1000,
  );
  server.kill();
  const sizes = dp.egress.stats;
  dp.close();
  let gbps = 0;
  let bytes = 0;
  let note = "";
  try {
    const j = JSON.parse(r.stdout) as {
      end?: { sum_received?: { bits_per_second: number; bytes: number } };
      error?: string;
    };
    gbps = (j.end?.sum_received?.bits_per_second ?? 0) / 1e9;
    bytes = j.end?.sum_received?.bytes ?? 0;
    note = j.error ?? "";
  } catch {
    note = `iperf3 exit ${r.code} ${r.stderr.slice(0, 80)}`;
  }
  note += ` completed=${sizes.checksumsCompleted} segmented=${sizes.tcpSegmented} segments=${sizes.segmentsSent} oversizeDrops=${sizes.oversizeDrops}`;
  return { mode, reverse, gbps, bytes, note };
}

async function main() {
  const why = netnsUnavailable();
  if (why) {
    console.error(`cannot run: ${why}`);
    process.exit(1);
  }
  const topo = Topology.create("dpbo", 2);
  try {
    const modes: [string, EgressOptions][] = [
      ["segment+complete", {}],
      ["complete only", { segmentTcp: false }],
      ["segment only", { completeChecksums: false }],
      ["neither", { segmentTcp: false, completeChecksums: false }],
    ];
    for (const [mode, opts] of modes) {
      for (const reverse of [false, true]) {
        process.stdout.write(`${mode}${reverse ? " -R" : ""} ... `);
        const res = await measure(topo, opts, mode, reverse);
        console.log(
          `${res.gbps.toFixed(3)} Gbit/s, ${(res.bytes / 1e6).toFixed(1)} MB received;${res.note}`,
        );
      }
    }
  } finally {
    topo.teardown();
  }
}

void main();
