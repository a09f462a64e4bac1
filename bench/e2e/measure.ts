// One measurement each: TCP throughput, 64-byte frame forwarding, ping RTT, controller flow setup.
import { dirname, join } from "node:path";
import { inNs, run, sleep, type Teardown, waitFor } from "./proc.js";
import type { FrameTrial } from "./capacity.js";
import { parsePingTimes, percentileWithLoss } from "./stats.js";
import { listening } from "./switches.js";
import { FAKE_NET_BASE, readCounter, type Topology } from "./topology.js";

export interface Ctx {
  topo: Topology;
  teardown: Teardown;
  /** `node dist/bench/e2e/agent.js` */
  agent: string[];
}

const IPERF_PORT = 5201;

/** A one-off iperf3 server on host 2; the caller stops it by PID. */
async function iperfServer(ctx: Ctx) {
  const h2 = ctx.topo.hosts[1];
  const srv = ctx.teardown.start(
    "iperf3 server",
    inNs(h2.ns, ["iperf3", "-s", "-1", "-p", String(IPERF_PORT)]),
  );
  await waitFor("iperf3 server", () => listening(h2.ns, IPERF_PORT), 5000, 50);
  return srv;
}

function iperfClientArgv(ctx: Ctx, streams: number, seconds: number): string[] {
  const [h1, h2] = ctx.topo.hosts;
  const args = [
    "iperf3",
    "-c",
    h2.ip,
    "-p",
    String(IPERF_PORT),
    "-t",
    String(seconds),
    "-P",
    String(streams),
  ];
  return inNs(h1.ns, [...args, "-J", "--connect-timeout", "3000"]);
}

/** Receiver-side goodput in Gbit/s of an iperf3 TCP run from host 1 to host 2. */
export async function tcpThroughput(ctx: Ctx, streams: number, seconds: number): Promise<number> {
  const srv = await iperfServer(ctx);
  try {
    const r = await run(iperfClientArgv(ctx, streams, seconds), {
      timeoutMs: (seconds + 25) * 1000,
      allowFail: true,
    });
    return parseIperfTcp(r.stdout);
  } finally {
    await srv.stop();
  }
}

export function parseIperfTcp(json: string): number {
  let doc: { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
  try {
    doc = JSON.parse(json);
  } catch {
    throw new Error(`iperf3 printed no JSON: ${json.slice(0, 200)}`);
  }
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const bps = doc.end?.sum_received?.bits_per_second;
  if (typeof bps !== "number") throw new Error("iperf3 JSON has no end.sum_received");
  return bps / 1e9;
}

/**
 * 64-byte frames (18-byte UDP payload) from host 1 to an address host 2 drops silently, offered at
 * a fixed rate (`pps`; 0: as fast as the generator can) by an AF_PACKET generator in host 1.
 * Offered = frames host 1's veth transmitted, delivered = frames host 2's veth received: the
 * interface counters, so the figure is the switch's and not a receiving socket's. cpuS is left
 * to the caller (null here).
 */
export async function smallFrames(ctx: Ctx, seconds: number, pps: number): Promise<FrameTrial> {
  const [h1, h2] = ctx.topo.hosts;
  const counters = async () => [
    await readCounter(h1.ns, h1.ifname, "tx_packets"),
    await readCounter(h2.ns, h2.ifname, "rx_packets"),
  ];
  const [tx0, rx0] = await counters();
  const argv = inNs(h1.ns, [
    ctx.agent[0],
    join(dirname(ctx.agent[1]), "../frame-blast.js"),
    "--if",
    h1.ifname,
    "--src-mac",
    h1.mac,
    "--dst-mac",
    h2.mac,
    "--src-ip",
    h1.ip,
    "--dst-ip",
    ctx.topo.sinkIp,
    "--pps",
    String(pps),
    "--seconds",
    String(seconds),
  ]);
  const r = await run(argv, { timeoutMs: (seconds + 15) * 1000 });
  const { seconds: sent } = JSON.parse(r.stdout) as { seconds: number };
  await sleep(500); // what the switch still holds is delivered late, not lost
  const [tx1, rx1] = await counters();
  const offered = tx1 - tx0;
  const delivered = Math.min(rx1 - rx0, offered);
  return {
    requested: pps,
    offeredFps: offered / sent,
    deliveredFps: delivered / sent,
    lossPct: offered > 0 ? (100 * (offered - delivered)) / offered : 0,
    cpuS: null,
  };
}

/** A percentile of round-trip times: `atLeast` when it fell on a lost ping (value = deadline). */
export interface RttPercentile {
  value: number;
  atLeast: boolean;
}

export interface Rtts {
  p50: RttPercentile;
  p99: RttPercentile;
  received: number;
  sent: number;
}

/** A reply later than this is lost (ping -W). */
export const PING_DEADLINE_MS = 1000;

/**
 * `ping -i 0.01` from host 1 to host 2; percentiles of the per-packet RTTs (ms), lost pings
 * counted as later than every reply.
 */
export async function pingRtts(ctx: Ctx, count: number): Promise<Rtts> {
  const [h1, h2] = ctx.topo.hosts;
  const deadline = String(PING_DEADLINE_MS / 1000);
  const argv = inNs(h1.ns, [
    "ping",
    "-n",
    "-i",
    "0.01",
    "-W",
    deadline,
    "-c",
    String(count),
    h2.ip,
  ]);
  const r = await run(argv, { timeoutMs: count * 10 + 15_000, allowFail: true });
  const times = parsePingTimes(r.stdout);
  if (times.length === 0) throw new Error(`no ping replies: ${r.stdout.slice(-300)}`);
  return {
    p50: percentileWithLoss(times, count, 50, PING_DEADLINE_MS),
    p99: percentileWithLoss(times, count, 99, PING_DEADLINE_MS),
    received: times.length,
    sent: count,
  };
}

/**
 * The same ping while an iperf3 TCP stream runs from host 1 to host 2; also that stream's goodput
 * (Gbit/s), so that a latency bought with throughput shows.
 */
export async function pingUnderLoad(ctx: Ctx, count: number): Promise<Rtts & { loadGbps: number }> {
  const srv = await iperfServer(ctx);
  try {
    const seconds = Math.ceil(count / 100) + 3;
    const load = run(iperfClientArgv(ctx, 1, seconds), {
      timeoutMs: (seconds + 25) * 1000,
      allowFail: true,
    });
    await sleep(1000); // past slow start
    const rtts = await pingRtts(ctx, count);
    // A load that failed makes the figure meaningless: parseIperfTcp throws.
    return { ...rtts, loadGbps: parseIperfTcp((await load).stdout) };
  } finally {
    await srv.stop();
  }
}

export interface FlowSetup {
  flowsPerSec: number;
  sent: number;
  delivered: number;
  windowS: number;
  /** The rate the sender achieved (flows/s). */
  offeredPerSec: number;
}

/**
 * Reactive flow setup. Host 1 sends `count` UDP packets at `rate`/s, packet i to 10.64.0.0+i (routed
 * to host 2's MAC, dropped silently there): with both MACs learnt, every packet is a new 12-tuple,
 * a table miss whose PACKET_IN the learning controller answers with an exact-match FLOW_MOD (and
 * the packet). Each frame reaching host 2's veth is one completed set-up; the rate is those frames
 * over the time from the first send to the last arrival.
 */
export async function flowSetup(
  ctx: Ctx,
  count: number,
  rate: number,
  dstPort: number,
): Promise<FlowSetup> {
  const [h1, h2] = ctx.topo.hosts;
  const sendSeconds = count / rate;
  // A switch that queued what it could not handle yet keeps delivering after the sender stops:
  // the sampler waits for host 2's counter to stay still for 1 s, up to this long.
  const drainSeconds = 10;
  const sampler = ctx.teardown.start(
    "rx sampler",
    inNs(h2.ns, [
      ...ctx.agent,
      "sample",
      "--if",
      h2.ifname,
      "--seconds",
      String(sendSeconds + 2),
      "--max-seconds",
      String(sendSeconds + drainSeconds),
    ]),
  );
  try {
    await waitFor("rx sampler", async () => sampler.stdout.startsWith("ready\n"), 10_000, 20);
    const argv = inNs(h1.ns, [
      ...ctx.agent,
      ...["flows", "--net", FAKE_NET_BASE.join("."), "--port", String(dstPort)],
      ...["--count", String(count), "--rate", String(rate)],
    ]);
    const sender = JSON.parse(
      (await run(argv, { timeoutMs: (sendSeconds + 20) * 1000 })).stdout,
    ) as {
      sent: number;
      startNs: number;
      endNs: number;
    };
    await Promise.race([sampler.exited, sleep((sendSeconds + drainSeconds + 15) * 1000)]);
    const line = sampler.stdout.split("\n").find((l) => l.startsWith("{"));
    if (!line) throw new Error("rx sampler printed no result");
    const samples = JSON.parse(line) as { startRx: number; changes: [number, number][] };
    const r = flowSetupRate(sender.startNs, sender.sent, samples.startRx, samples.changes);
    const sendS = (sender.endNs - sender.startNs) / 1e9;
    return { ...r, offeredPerSec: sendS > 0 ? sender.sent / sendS : 0 };
  } finally {
    await sampler.stop();
  }
}

/** Flows per second from the sender's start time and the receiver's counter changes. */
export function flowSetupRate(
  startNs: number,
  sent: number,
  startRx: number,
  changes: [number, number][],
): Omit<FlowSetup, "offeredPerSec"> {
  const last = changes.at(-1);
  if (!last) return { flowsPerSec: 0, sent, delivered: 0, windowS: 0 };
  const delivered = Math.min(last[1] - startRx, sent);
  const windowS = (last[0] - startNs) / 1e9;
  return { flowsPerSec: windowS > 0 ? delivered / windowS : 0, sent, delivered, windowS };
}

export const agentArgv = (root: string) => [
  process.execPath,
  join(root, "dist/bench/e2e/agent.js"),
];
