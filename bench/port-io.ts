// Port I/O wall: two hosts in namespaces on veths, joined by (a) a Linux bridge, or (b) a
// forwarder in this process that moves every frame from port A to port B and back through a
// Port backend, with nothing else on the path (no parse, no lookup). Measures iperf3 TCP (one
// stream, offloads off on every veth) and 64-byte UDP frames per second, and the forwarder's
// CPU time per frame.
//   node dist/bench/port-io.js [--seconds 5] [--backends bridge,pcap,afpacket] [--tests tcp,udp64,blast64]
// Run as root. Uses prefix "pio<pid>" for every namespace and interface it creates.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createPort, type PortBackend } from "../src/datapath/port-factory.js";
import type { Port } from "../src/datapath/port.js";
import { labPrefix, netnsUnavailable, runSync, Topology } from "../test/support/netns.js";
import type { NetnsHost } from "../test/support/netns.js";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    backends: { type: "string", default: "bridge,pcap,afpacket" },
    tests: { type: "string", default: "tcp,udp64,blast64" },
  },
});
const seconds = Number(opts.seconds);

interface Result {
  backend: string;
  test: string;
  value: string;
  forwarded?: number;
  cpuUsPerFrame?: number;
}

/** Runs a command to completion asynchronously (the forwarder keeps the event loop). */
function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}: ${err || out}`));
    });
  });
}

async function withIperfServer<T>(host: NetnsHost, fn: () => Promise<T>): Promise<T> {
  const server = spawn("ip", ["netns", "exec", host.ns, "iperf3", "-s", "-p", "5299"], {
    stdio: "ignore",
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    return await fn();
  } finally {
    server.kill("SIGTERM");
  }
}

interface IperfEnd {
  sum_received?: { bits_per_second: number };
  sum?: { packets: number; lost_packets: number; seconds: number };
}

async function tcpGbps(h1: NetnsHost, h2: NetnsHost): Promise<number> {
  const out = await runAsync(
    "ip",
    ["netns", "exec", h1.ns, "iperf3", "-c", h2.ip, "-p", "5299", "-t", String(seconds), "-J"],
    (seconds + 20) * 1000,
  );
  const end = (JSON.parse(out) as { end: IperfEnd }).end;
  return (end.sum_received?.bits_per_second ?? 0) / 1e9;
}

function rxPackets(h: NetnsHost): number {
  const out = runSync("ip", ["-n", h.ns, "-s", "-j", "link", "show", "dev", h.hostIf]);
  return (JSON.parse(out) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets;
}

/**
 * 60-byte frames (64 on the wire) from bench/frame-blast (AF_PACKET sendmmsg, far faster than
 * iperf3's UDP sender) at h1; frames/s arriving on h2's interface, and the offered rate.
 */
async function blast64Pps(h1: NetnsHost, h2: NetnsHost): Promise<{ pps: number; offered: number }> {
  const script = fileURLToPath(new URL("./frame-blast.js", import.meta.url));
  const rx0 = rxPackets(h2);
  const args = ["--if", h1.hostIf, "--src-mac", h1.mac, "--dst-mac", h2.mac];
  args.push("--src-ip", h1.ip, "--dst-ip", h2.ip, "--seconds", String(seconds));
  const out = await runAsync(
    "ip",
    ["netns", "exec", h1.ns, process.execPath, script, ...args],
    (seconds + 20) * 1000,
  );
  const r = JSON.parse(out) as { sent: number; seconds: number };
  return { pps: (rxPackets(h2) - rx0) / r.seconds, offered: r.sent / r.seconds };
}

/** iperf3's 64-byte UDP (payload 18 bytes): datagrams/s its receiver got. */
async function udp64Pps(h1: NetnsHost, h2: NetnsHost): Promise<number> {
  const args = ["-c", h2.ip, "-p", "5299", "-u", "-l", "18", "-b", "0", "-t", String(seconds)];
  const out = await runAsync(
    "ip",
    ["netns", "exec", h1.ns, "iperf3", ...args, "-J"],
    (seconds + 20) * 1000,
  );
  const sum = (JSON.parse(out) as { end: IperfEnd }).end.sum;
  if (!sum) return 0;
  return (sum.packets - sum.lost_packets) / sum.seconds;
}

class Forwarder {
  frames = 0;
  constructor(
    readonly a: Port,
    readonly b: Port,
  ) {
    a.open((frame, length) => {
      this.frames++;
      b.send(frame, length);
    });
    b.open((frame, length) => {
      this.frames++;
      a.send(frame, length);
    });
  }
  close(): void {
    this.a.close();
    this.b.close();
  }
}

async function measure(
  backend: string,
  lab: Topology,
  fwd: Forwarder | undefined,
  results: Result[],
): Promise<void> {
  const [h1, h2] = lab.hosts;
  // Asynchronous: the forwarder runs on this event loop.
  await runAsync(
    "ip",
    ["netns", "exec", h1.ns, "ping", "-c", "3", "-i", "0.2", "-W", "1", h2.ip],
    10_000,
  );
  await withIperfServer(h2, async () => {
    for (const test of opts.tests.split(",")) {
      const frames0 = fwd?.frames ?? 0;
      const cpu0 = process.cpuUsage();
      let value: string;
      if (test === "tcp") value = `${(await tcpGbps(h1, h2)).toFixed(2)} Gbit/s`;
      else if (test === "udp64") value = `${Math.round(await udp64Pps(h1, h2))} frames/s`;
      else if (test === "blast64") {
        const r = await blast64Pps(h1, h2);
        value = `${Math.round(r.pps)} frames/s (offered ${Math.round(r.offered)})`;
      } else throw new Error(`unknown test ${test}`);
      const cpu = process.cpuUsage(cpu0);
      const r: Result = { backend, test, value };
      if (fwd) {
        r.forwarded = fwd.frames - frames0;
        r.cpuUsPerFrame = Number(((cpu.user + cpu.system) / r.forwarded).toFixed(2));
      }
      console.log(JSON.stringify(r));
      results.push(r);
      await new Promise((res) => setTimeout(res, 500));
    }
  });
}

async function main(): Promise<void> {
  if (netnsUnavailable() !== undefined) throw new Error("port-io needs root and ip netns");
  const lab = new Topology(labPrefix("pio"), 78);
  const results: Result[] = [];
  const onSignal = () => {
    lab.teardown();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  try {
    const h1 = lab.addHost(1);
    const h2 = lab.addHost(2);
    lab.offloadsOff();
    lab.staticArp();
    for (const backend of opts.backends.split(",")) {
      console.error(`port-io: ${backend} (${seconds} s per test)`);
      if (backend === "bridge") {
        const br = `${lab.prefix}br`;
        runSync("ip", ["link", "add", br, "type", "bridge"]);
        try {
          runSync("ip", ["link", "set", h1.switchIf, "master", br]);
          runSync("ip", ["link", "set", h2.switchIf, "master", br]);
          runSync("ip", ["link", "set", br, "up"]);
          await measure(backend, lab, undefined, results);
        } finally {
          runSync("ip", ["link", "del", br]);
        }
        continue;
      }
      const portOpts = { backend: backend as PortBackend };
      const a = createPort(1, h1.switchIf, portOpts);
      const b = createPort(2, h2.switchIf, portOpts);
      const fwd = new Forwarder(a, b);
      try {
        await measure(backend, lab, fwd, results);
      } finally {
        fwd.close();
      }
    }
  } finally {
    lab.teardown();
  }
  console.table(results);
}

await main();
