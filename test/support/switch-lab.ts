// The daemon between two namespaced hosts on veths with default offloads, listening for
// OpenFlow on a loopback port and forwarding by two flows (in_port=1 -> 2, 2 -> 1), for tests
// that do things to its interfaces and check that forwarding comes back: ping and iperf3
// through it, what the daemon logged, and what its process holds (fds, memory).
import { readdirSync, readFileSync } from "node:fs";
import { ensureBuilt, freePort, ofctl, startDaemon, type Proc } from "./daemon.js";
import { Topology, type SpawnHandle } from "./netns.js";
import type { LogLine } from "./log-sink.js";

export interface SwitchLab {
  topo: Topology;
  daemon: Proc;
  /** tcp:127.0.0.1:PORT for ovs-ofctl. */
  target: string;
  iperfServer: SpawnHandle;
  stop(): Promise<void>;
}

export interface SwitchLabOptions {
  backend?: "afpacket" | "pcap" | "auto";
  /** Arguments for node itself (e.g. --require of a loader hook). */
  nodeArgs?: string[];
  /** false: no flows, for a switch that learns (--fail-mode standalone in `args`). */
  flows?: boolean;
  /** false: no OpenFlow listener (a standalone switch without one learns from the start). */
  listen?: boolean;
  args?: string[];
}

/** Creates the hosts, starts the daemon and an iperf3 server on host 2; undone by stop(). */
export async function startSwitchLab(prefix: string, o: SwitchLabOptions = {}): Promise<SwitchLab> {
  ensureBuilt();
  const topo = Topology.create(prefix, 2);
  let daemon: Proc | undefined;
  try {
    const port = await freePort();
    const target = `tcp:127.0.0.1:${port}`;
    daemon = await startDaemon(
      [
        ...topo.hosts.flatMap((h) => ["-i", h.switchIf]),
        ...(o.listen === false ? [] : ["-l", `ptcp:${port}`]),
        "--port-backend",
        o.backend ?? "auto",
        ...(o.args ?? ["--fail-mode", "secure"]),
      ],
      o.nodeArgs,
    );
    if (o.flows !== false && o.listen !== false) {
      ofctl(target, "add-flow", "in_port=1,actions=output:2");
      ofctl(target, "add-flow", "in_port=2,actions=output:1");
    }
    const iperfServer = topo.spawnIn(1, "iperf3", ["-s"]);
    await iperfServer.waitListening(5201);
    const d = daemon;
    return {
      topo,
      daemon: d,
      target,
      iperfServer,
      stop: async () => {
        try {
          await d.stop();
        } finally {
          topo.teardown();
        }
      },
    };
  } catch (e) {
    await daemon?.stop().catch(() => {});
    topo.teardown();
    throw e;
  }
}

/**
 * Milliseconds until host 1 gets an echo reply from host 2 (ping every 50 ms, `size` bytes of
 * data with DF set when given), or Infinity when none came within `limitMs`.
 */
export async function msUntilPing(topo: Topology, limitMs = 5000, size?: number): Promise<number> {
  const t0 = performance.now();
  const w = Math.ceil(limitMs / 1000);
  const big = size === undefined ? "" : `-s ${size} -M do`;
  const cmd = `ping -c 1 -i 0.05 -w ${w} ${big} ${topo.hosts[1].ip}`;
  const r = await topo.runIn(0, cmd, limitMs + 5000);
  return r.code === 0 ? performance.now() - t0 : Infinity;
}

interface IperfJson {
  end?: { sum_received?: { bytes: number; bits_per_second: number } };
  intervals?: { sum: { bytes: number } }[];
  error?: string;
}

/**
 * iperf3 TCP from host 1 to host 2 (server port `port`) for `seconds`: received bytes and rate,
 * per-interval bytes.
 */
export async function iperf(
  topo: Topology,
  seconds: number,
  port = 5201,
): Promise<{ bytes: number; bps: number; intervals: number[]; error?: string }> {
  const r = await topo.runIn(
    0,
    `iperf3 -c ${topo.hosts[1].ip} -p ${port} -t ${seconds} -i 1 -J --connect-timeout 2000`,
    (seconds + 15) * 1000,
  );
  let j: IperfJson;
  try {
    j = JSON.parse(r.stdout) as IperfJson;
  } catch {
    return { bytes: 0, bps: 0, intervals: [], error: r.stderr || r.stdout || `exit ${r.code}` };
  }
  return {
    bytes: j.end?.sum_received?.bytes ?? 0,
    bps: j.end?.sum_received?.bits_per_second ?? 0,
    intervals: (j.intervals ?? []).map((i) => i.sum.bytes),
    error: j.error,
  };
}

/** The daemon's JSON log lines (stderr is not a terminal, so pino writes JSON). */
export function logLines(daemon: Proc, fromChar = 0): LogLine[] {
  return daemon.output
    .slice(fromChar)
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of a process, in KiB. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** OpenFlow port number of each port `ovs-ofctl show` lists, by name. */
export function shownPorts(target: string): Map<string, number> {
  const out = ofctl(target, "show");
  const ports = new Map<string, number>();
  for (const m of out.matchAll(/^\s*(\d+)\(([^)]+)\): addr:/gm)) ports.set(m[2], Number(m[1]));
  return ports;
}
