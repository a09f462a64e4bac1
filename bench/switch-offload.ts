// TCP through the whole switch datapath (parse, lookup, FLOOD, egress) on AfPacketPorts,
// against a Linux bridge on the same veths, with the veths at their default offloads
// (TSO/GSO, tx checksum) or with every offload off. Modes:
//   bridge        the kernel's bridge (the reference)
//   switch        Datapath + AfPacketPort with virtio-net headers (GSO/checksum passthrough)
//   switch-js     Datapath + AfPacketPort without them (egress segments and completes in JS)
//   node dist/bench/switch-offload.js [--seconds 5] [--modes bridge,switch,switch-js]
//     [--offloads default,off] [--streams 1,4]
// Run as root. Uses prefix "swo<pid>" for every namespace and interface it creates.
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { AfPacketPort } from "../src/datapath/afpacket-port.js";
import { Datapath } from "../src/datapath/datapath.js";
import { labPrefix, netnsUnavailable, runSync, Topology } from "../test/support/netns.js";
import type { NetnsHost } from "../test/support/netns.js";
import { RuleLookup, ruleActions } from "../test/support/rule-lookup.js";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    modes: { type: "string", default: "bridge,switch,switch-js" },
    offloads: { type: "string", default: "default,off" },
    streams: { type: "string", default: "1,4" },
  },
});
const seconds = Number(opts.seconds);

function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}: ${out.slice(0, 300)}`));
    });
  });
}

async function iperf(h1: NetnsHost, h2: NetnsHost, streams: number): Promise<number> {
  const server = spawn("ip", ["netns", "exec", h2.ns, "iperf3", "-s", "-1", "-p", "5311"], {
    stdio: "ignore",
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const args = ["-c", h2.ip, "-p", "5311", "-t", String(seconds), "-P", String(streams), "-J"];
    const out = await runAsync(
      "ip",
      ["netns", "exec", h1.ns, "iperf3", ...args, "--connect-timeout", "3000"],
      (seconds + 20) * 1000,
    );
    const end = (JSON.parse(out) as { end: { sum_received?: { bits_per_second: number } } }).end;
    return (end.sum_received?.bits_per_second ?? 0) / 1e9;
  } finally {
    if (server.exitCode === null && server.pid !== undefined) process.kill(server.pid, "SIGKILL");
  }
}

function switchUp(lab: Topology, vnetHdr: boolean): { dp: Datapath; ports: AfPacketPort[] } {
  const lookup = new RuleLookup();
  lookup.add({}, [{ kind: "flood" }]);
  const dp = new Datapath({
    lookup,
    actionsOf: ruleActions,
    callbacks: { onMiss: () => {}, onController: () => {}, onPortChange: () => {} },
  });
  const ports = lab.hosts.map((h, i) => new AfPacketPort(i + 1, h.switchIf, { vnetHdr }));
  ports.forEach((p) => dp.addPort(p));
  return { dp, ports };
}

function offloadsOn(lab: Topology): void {
  const on = ["tx", "on", "tso", "on", "gso", "on", "rx", "on"];
  for (const h of lab.hosts) {
    runSync("ip", ["netns", "exec", h.ns, "ethtool", "-K", h.hostIf, ...on]);
    runSync("ethtool", ["-K", h.switchIf, ...on]);
  }
}

async function main(): Promise<void> {
  if (netnsUnavailable() !== undefined) throw new Error("switch-offload needs root and ip netns");
  const lab = new Topology(labPrefix("swo"), 79);
  process.on("SIGINT", () => {
    lab.teardown();
    process.exit(130);
  });
  const rows: Record<string, string | number>[] = [];
  try {
    const [h1, h2] = [lab.addHost(1), lab.addHost(2)];
    lab.staticArp();
    for (const offloads of opts.offloads.split(",")) {
      if (offloads === "off") lab.offloadsOff();
      else offloadsOn(lab);
      for (const mode of opts.modes.split(",")) {
        for (const streams of opts.streams.split(",").map(Number)) {
          process.stderr.write(`switch-offload: ${mode}, offloads ${offloads}, -P ${streams} ... `);
          const row: Record<string, string | number> = { mode, offloads, streams };
          if (mode === "bridge") {
            const br = `${lab.prefix}br`;
            runSync("ip", ["link", "add", br, "type", "bridge"]);
            try {
              for (const h of lab.hosts) runSync("ip", ["link", "set", h.switchIf, "master", br]);
              runSync("ip", ["link", "set", br, "up"]);
              row.gbps = Number((await iperf(h1, h2, streams)).toFixed(2));
            } finally {
              runSync("ip", ["link", "del", br]);
            }
          } else {
            const { dp, ports } = switchUp(lab, mode === "switch");
            const cpu0 = process.cpuUsage();
            try {
              row.gbps = Number((await iperf(h1, h2, streams)).toFixed(2));
              const cpu = process.cpuUsage(cpu0);
              row.cpuSec = Number(((cpu.user + cpu.system) / 1e6).toFixed(2));
              const e = dp.egress.stats;
              row.rxFrames = ports.reduce((s, p) => s + p.counters.rxPackets, 0);
              row.jsSegmented = e.tcpSegmented;
              row.jsCompleted = e.checksumsCompleted;
              row.gsoSent = e.gsoSent;
              row.csumOffloaded = e.checksumsOffloaded;
            } finally {
              dp.close();
            }
          }
          console.error(`${row.gbps} Gbit/s`);
          rows.push(row);
        }
      }
    }
  } finally {
    lab.teardown();
  }
  console.table(rows);
}

await main();
