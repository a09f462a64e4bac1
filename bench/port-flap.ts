// A switch port set down and up every 2 s under iperf3 TCP load, through the daemon, for 60 s
// (issue 10's flap test at full length; the suite runs a shorter one): forwarding after the
// run, the daemon's descriptors and resident memory before and after, throughput meanwhile.
// The Linux bridge ("bridge") under the same flapping is the reference: TCP's own backoff
// decides how much of the load survives the flapping, whatever the switch.
//   npx tsc -p . && node dist/bench/port-flap.js [--seconds 60] [--backends bridge,afpacket,pcap] [--repeats 1]
// Run as root. Hosts on veths with default offloads, prefix "pf<pid>".
import { parseArgs } from "node:util";
import { flapUnderLoad, type FlapResult } from "../test/support/flap.js";
import { labPrefix, netnsUnavailable, runSync, Topology } from "../test/support/netns.js";
import { startSwitchLab } from "../test/support/switch-lab.js";

const { values: o } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    backends: { type: "string", default: "bridge,afpacket,pcap" },
    repeats: { type: "string", default: "1" },
  },
});

function summary(backend: string, r: FlapResult): string {
  const i = r.loadIntervals;
  const zero = i.filter((b) => b === 0).length;
  const gbps = (i.reduce((a, b) => a + b, 0) * 8) / Math.max(1, i.length) / 1e9;
  return [
    `${backend}: ${r.flaps} flaps`,
    `fds ${r.fdsBefore} -> ${r.fdsAfter}`,
    `RSS ${(r.rssBefore / 1024).toFixed(1)} -> ${(r.rssAfter / 1024).toFixed(1)} MiB (max ${(r.rssMax / 1024).toFixed(1)})`,
    `load ${gbps.toFixed(2)} Gbit/s mean over ${i.length} s, ${zero} s without data${r.loadError ? ` (${r.loadError})` : ""}`,
    `ping back ${r.pingBackMs.toFixed(0)} ms`,
    `after: ${(r.finalBps / 1e9).toFixed(2)} Gbit/s`,
  ].join(", ");
}

async function withSwitch<T>(
  backend: "afpacket" | "pcap",
  fn: (topo: Topology, pid: number) => Promise<T>,
): Promise<T> {
  const lab = await startSwitchLab(labPrefix(`pf${backend[0]}`), { backend });
  try {
    return await fn(lab.topo, lab.daemon.pid);
  } finally {
    await lab.stop();
  }
}

async function withBridge<T>(fn: (topo: Topology) => Promise<T>): Promise<T> {
  const topo = Topology.create(labPrefix("pfb"), 2);
  try {
    const br = `${topo.prefix}-br`;
    runSync("ip", ["link", "add", br, "type", "bridge"]);
    for (const h of topo.hosts) runSync("ip", ["link", "set", h.switchIf, "master", br]);
    runSync("ip", ["link", "set", br, "up"]);
    topo.spawnIn(1, "iperf3", ["-s"]);
    return await fn(topo);
  } finally {
    topo.teardown();
  }
}

async function main(): Promise<void> {
  if (netnsUnavailable() !== undefined) throw new Error("port-flap needs root and ip netns");
  for (let rep = 0; rep < Number(o.repeats); rep++) {
    for (const backend of o.backends.split(",")) {
      const r =
        backend === "bridge"
          ? await withBridge((topo) => flapUnderLoad(topo, undefined, Number(o.seconds)))
          : await withSwitch(backend as "afpacket" | "pcap", (topo, pid) =>
              flapUnderLoad(topo, pid, Number(o.seconds)),
            );
      console.log(summary(backend, r));
      console.log(JSON.stringify({ backend, ...r }));
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
