// A session: fresh topology, one switch under test, one run of each of its figures, teardown.
// Proactive sessions measure forwarding (TCP, 64-byte zero-loss rate, latency, CPU, memory);
// reactive ones measure flow setup. main.ts runs them in rounds, every peer once per round.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  type FrameTrial,
  generatorLimited,
  type SetupStep,
  steppedSetups,
  zeroLossSearch,
} from "./capacity.js";
import { type PeerId, PEER_LABEL, type Results } from "./figures.js";
import {
  type Ctx,
  flowSetup,
  pingRtts,
  pingUnderLoad,
  type Rtts,
  smallFrames,
  tcpThroughput,
} from "./measure.js";
import { addFlowsFile, flowCount, installForwarding, ofctl } from "./ofctl.js";
import type { Options } from "./options.js";
import { inNs, run, Teardown, waitFor } from "./proc.js";
import type { Progress } from "./progress.js";
import {
  type Mode,
  type SwitchUnderTest,
  startLinuxBridge,
  startOfswitch,
  startOvs,
  startTestController,
} from "./switches.js";
import {
  cpuSeconds,
  createTopology,
  peakRssMiB,
  readCounter,
  rssBytes,
  setOffloads,
  type Topology,
} from "./topology.js";

export interface SessionEnv {
  opts: Options;
  root: string;
  runDir: string;
  results: Results;
  progress: Progress;
  agent: string[];
  /** Path of the flows file to preload, written once per harness run. */
  flowsFile: string | null;
  /** The session's teardown while it runs, for signal handlers. */
  current?: Teardown;
  /**
   * ofswitch's proactive session: its PID, when traffic began (CLOCK_MONOTONIC µs, after the
   * flow tables were loaded) and the frames it transmitted from then on, for the profile summary.
   */
  ofswitchTraffic?: { pid: number; fromUs: number; frames: number };
}

const CONTROLLER_PORT = 16653;
const OFSWITCH_PORT = 16634;
let sessionNumber = 0;

/** Runs `body` on a fresh topology with teardown on every exit path. */
async function withTopology(env: SessionEnv, body: (ctx: Ctx, dir: string) => Promise<void>) {
  const teardown = new Teardown();
  env.current = teardown;
  const prefix = `e${process.pid.toString(16).slice(-4).padStart(4, "0")}${sessionNumber++ % 10}`;
  const dir = join(env.runDir, prefix);
  mkdirSync(dir, { recursive: true });
  try {
    const topo = await createTopology(prefix, teardown);
    await body({ topo, teardown, agent: env.agent }, dir);
  } finally {
    await teardown.runAll();
    env.current = undefined;
  }
}

async function startSwitch(
  peer: PeerId,
  ctx: Ctx,
  env: SessionEnv,
  dir: string,
  mode: Mode,
): Promise<SwitchUnderTest> {
  if (peer === "linux_bridge") return startLinuxBridge(ctx.topo);
  if (peer === "ovs_netdev") return startOvs(ctx.topo, ctx.teardown, { runDir: dir, mode });
  const nodeFlags =
    env.opts.cpuProf && mode.kind === "proactive"
      ? ["--cpu-prof", `--cpu-prof-dir=${env.opts.cpuProf}`]
      : [];
  return startOfswitch(ctx.topo, ctx.teardown, {
    root: env.root,
    runDir: dir,
    listenPort: OFSWITCH_PORT,
    mode,
    nodeFlags,
  });
}

/** Waits until host 1 reaches host 2 (in reactive mode this also teaches the controller both MACs). */
async function connectivity(topo: Topology): Promise<void> {
  const [h1, h2] = topo.hosts;
  const ping = () =>
    run(inNs(h1.ns, ["ping", "-n", "-c", "1", "-W", "1", h2.ip]), {
      timeoutMs: 5000,
      allowFail: true,
    }).then((r) => r.code === 0);
  await waitFor(`ping ${h1.ip} -> ${h2.ip} through the switch`, ping, 15_000, 200);
}

/**
 * One measurement: its figures are recorded by `body` only if the switch is still running when
 * it ends (a switch that died meanwhile measured nothing); otherwise, or when `body` throws,
 * each of `figures` gets a failed run with the reason.
 */
async function once(
  env: SessionEnv,
  sw: SwitchUnderTest,
  title: string,
  estimate: number,
  figures: string[],
  body: () => Promise<(results: Results) => void>,
) {
  const peer = sw.peer;
  env.progress.step(`${PEER_LABEL[peer]} · ${title} · round ${env.results.round}`, estimate);
  try {
    const record = await body();
    if (!sw.running()) throw new Error(`${PEER_LABEL[peer]} exited during the run`);
    record(env.results);
  } catch (err) {
    const note = (err as Error).message.split("\n")[0].slice(0, 300);
    console.error(`  failed: ${note}`);
    for (const f of figures) env.results.fail(f, peer, note);
  }
}

async function cpuOf(sw: SwitchUnderTest): Promise<number | null> {
  if (sw.pids.length === 0) return null;
  let total = 0;
  for (const pid of sw.pids) total += await cpuSeconds(pid);
  return total;
}

const NOT_ATTRIBUTABLE =
  "kernel bridge: its CPU cost is spread over softirqs and cannot be attributed";

/** Loads the preload flows file; records the load time and the memory each entry costs. */
async function preload(env: SessionEnv, sw: SwitchUnderTest): Promise<void> {
  const { opts } = env;
  if (!sw.of || !env.flowsFile || !opts.preload) return;
  const { exact, wildcard } = opts.preload;
  const entries = exact + wildcard;
  await once(
    env,
    sw,
    `loading ${exact} exact + ${wildcard} wildcard entries`,
    30,
    ["flow_load_s", "bytes_per_entry"],
    async () => {
      const before = sw.rssPid === undefined ? null : await rssBytes(sw.rssPid);
      const seconds = await addFlowsFile(sw.of!, env.flowsFile!, 600_000);
      const after = sw.rssPid === undefined ? null : await rssBytes(sw.rssPid);
      const count = await flowCount(sw.of!);
      const expected = entries + 2;
      console.error(
        `  loaded in ${seconds.toFixed(2)} s; the switch reports ${count} entries (expected ${expected})`,
      );
      if (count !== expected) throw new Error(`switch reports ${count} entries, not ${expected}`);
      return (results) => {
        results.add("flow_load_s", sw.peer, seconds);
        if (before !== null && after !== null)
          results.add("bytes_per_entry", sw.peer, (after - before) / entries, {
            note: `RSS ${(before / 2 ** 20).toFixed(1)} -> ${(after / 2 ** 20).toFixed(1)} MiB`,
          });
      };
    },
  );
}

/** The generator's own ceiling: as fast as it can, into a switch-side veth nothing reads. */
async function generatorCeiling(env: SessionEnv, ctx: Ctx, peer: PeerId): Promise<number | null> {
  env.progress.step(
    `${PEER_LABEL[peer]} · 64-byte generator alone · round ${env.results.round}`,
    env.opts.trialSeconds + 2,
  );
  try {
    const t = await smallFrames(ctx, env.opts.trialSeconds, 0);
    env.results.add("udp64_generator_fps", peer, t.offeredFps);
    return t.offeredFps;
  } catch (err) {
    const note = (err as Error).message.split("\n")[0].slice(0, 300);
    console.error(`  failed: ${note}`);
    env.results.fail("udp64_generator_fps", peer, note);
    return null;
  }
}

function trialNote(t: FrameTrial): string {
  const k = (v: number) => `${Math.round(v / 1000)}k`;
  return `${k(t.requested || t.offeredFps)}:${k(t.offeredFps)}/${t.lossPct.toFixed(2)}%${generatorLimited(t) ? "(gen)" : ""}`;
}

/** RFC 2544-style zero-loss search for 64-byte frames, the generator's ceiling on top. */
async function zeroLossRate(env: SessionEnv, ctx: Ctx, sw: SwitchUnderTest, ceiling: number) {
  const { opts } = env;
  const figures = ["udp64_capacity_fps", "cpu_us_per_frame_udp64"];
  const estimate = (opts.maxTrials + 1) * (opts.trialSeconds + 1.5);
  await once(env, sw, "64-byte zero-loss search", estimate, figures, async () => {
    const trial = async (rate: number): Promise<FrameTrial> => {
      const cpu0 = await cpuOf(sw);
      const t = await smallFrames(ctx, opts.trialSeconds, rate);
      const cpu1 = await cpuOf(sw);
      return { ...t, cpuS: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
    };
    const r = await zeroLossSearch(trial, ceiling, {
      lossPct: opts.lossPct,
      resolution: 0.03,
      maxTrials: opts.maxTrials,
    });
    const note = `trials (asked:offered/loss): ${r.trials.map(trialNote).join(" ")}`;
    const bound = r.atLeast ? ("atLeast" as const) : r.atMost ? ("atMost" as const) : undefined;
    const sign = bound === "atLeast" ? ">= " : bound === "atMost" ? "< " : "";
    console.error(`  ${sign}${Math.round(r.rate)} frames/s; ${note}`);
    return (results) => {
      results.add("udp64_capacity_fps", sw.peer, r.rate, { note, ...(bound ? { bound } : {}) });
      const b = r.best;
      if (b === null)
        results.add("cpu_us_per_frame_udp64", sw.peer, null, { note: "no rate passed" });
      else if (b.cpuS === null)
        results.add("cpu_us_per_frame_udp64", sw.peer, null, { note: NOT_ATTRIBUTABLE });
      else
        results.add(
          "cpu_us_per_frame_udp64",
          sw.peer,
          (1e6 * b.cpuS) / (b.deliveredFps * opts.trialSeconds),
        );
    };
  });
}

function recordPings(results: Results, peer: PeerId, load: "idle" | "load", r: Rtts): void {
  const note = r.received < r.sent ? `${r.sent - r.received} of ${r.sent} pings lost` : undefined;
  for (const [p, v] of [
    [50, r.p50],
    [99, r.p99],
  ] as const)
    results.add(`ping_p${p}_${load}`, peer, v.value, {
      ...(note ? { note } : {}),
      ...(v.atLeast ? { bound: "atLeast" as const } : {}),
    });
}

/** Forwarding figures of one peer, its flow table proactively programmed (ofswitch and OVS). */
export async function proactiveSession(peer: PeerId, env: SessionEnv): Promise<void> {
  const { opts, results } = env;
  const has = (g: string) => opts.groups.includes(g as never);
  const s = opts.seconds;
  await withTopology(env, async (ctx, dir) => {
    // Before any switch is attached (and on every peer's fresh topology).
    const ceiling = has("udp64") ? await generatorCeiling(env, ctx, peer) : null;
    env.progress.step(`${PEER_LABEL[peer]} · starting (proactive)`, 5);
    const sw = await startSwitch(peer, ctx, env, dir, { kind: "proactive" });
    if (sw.of) await installForwarding(sw.of, ctx.topo);
    if (has("preload") && (peer === "ofswitch" || opts.preloadOvs)) await preload(env, sw);
    await connectivity(ctx.topo);
    const transmitted = async () =>
      (await readCounter(ctx.topo.switchNs, ctx.topo.switchIfs[0], "tx_packets")) +
      (await readCounter(ctx.topo.switchNs, ctx.topo.switchIfs[1], "tx_packets"));
    const trafficFromUs = Number(process.hrtime.bigint() / 1000n);
    const framesBefore = await transmitted();

    const tcpRuns = async (offloads: "on" | "off") => {
      for (const streams of [1, 4]) {
        const id = `tcp_${streams}stream_offload_${offloads}`;
        const withCpu = streams === 1 && offloads === "off";
        const title = `TCP ${streams} stream${streams > 1 ? "s" : ""}, offloads ${offloads === "on" ? "default" : "off"}`;
        await once(env, sw, title, s + 2, withCpu ? [id, "cpu_s_tcp1_off"] : [id], async () => {
          const cpu0 = await cpuOf(sw);
          const gbps = await tcpThroughput(ctx, streams, s);
          const cpu1 = await cpuOf(sw);
          return (r) => {
            r.add(id, peer, gbps);
            if (withCpu)
              r.add(
                "cpu_s_tcp1_off",
                peer,
                cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
                cpu0 === null ? { note: NOT_ATTRIBUTABLE } : {},
              );
          };
        });
      }
    };
    // Veths start with offloads on: measure the defaults first, then turn them off for the rest.
    if (has("tcp")) await tcpRuns("on");
    await setOffloads(ctx.topo, false);
    await connectivity(ctx.topo);
    if (has("tcp")) await tcpRuns("off");

    if (has("udp64") && ceiling !== null) await zeroLossRate(env, ctx, sw, ceiling);

    if (has("latency")) {
      const pingS = opts.pings / 100 + 1;
      const idle = ["ping_p50_idle", "ping_p99_idle"];
      await once(env, sw, "ping idle", pingS, idle, async () => {
        const r = await pingRtts(ctx, opts.pings);
        return (results) => recordPings(results, peer, "idle", r);
      });
      const load = ["ping_p50_load", "ping_p99_load", "ping_lost_load_pct", "ping_load_tcp_gbps"];
      await once(env, sw, "ping under TCP load", pingS + 4, load, async () => {
        const r = await pingUnderLoad(ctx, opts.pings);
        return (results) => {
          recordPings(results, peer, "load", r);
          results.add("ping_lost_load_pct", peer, (100 * (r.sent - r.received)) / r.sent);
          results.add("ping_load_tcp_gbps", peer, r.loadGbps);
        };
      });
    }

    if (sw.rssPid !== undefined) results.add("peak_rss_mib", peer, await peakRssMiB(sw.rssPid));
    else results.add("peak_rss_mib", peer, null, { note: NOT_ATTRIBUTABLE });
    if (peer === "ofswitch" && sw.rssPid !== undefined)
      env.ofswitchTraffic = {
        pid: sw.rssPid,
        fromUs: trafficFromUs,
        frames: (await transmitted()) - framesBefore,
      };
    await sw.stop();
  });
}

/**
 * Reactive flow setup: the switch with a learning ovs-testcontroller and an empty table, new
 * flows offered at rising rates until the set-ups per second stop rising.
 */
export async function reactiveSession(peer: PeerId, env: SessionEnv): Promise<void> {
  const { opts } = env;
  await withTopology(env, async (ctx, dir) => {
    env.progress.step(`${PEER_LABEL[peer]} · starting (reactive, ovs-testcontroller)`, 5);
    await startTestController(ctx.topo.switchNs, CONTROLLER_PORT, ctx.teardown, dir);
    const sw = await startSwitch(peer, ctx, env, dir, {
      kind: "reactive",
      controllerPort: CONTROLLER_PORT,
    });
    await setOffloads(ctx.topo, false);
    await connectivity(ctx.topo);
    const estimate = opts.flowRates.length * (opts.flowSeconds + 4);
    let k = 0;
    await once(env, sw, "flow setup, stepped", estimate, ["flow_setup_per_s"], async () => {
      const notes: string[] = [];
      const step = async (rate: number): Promise<SetupStep> => {
        // Each step starts from a table without the previous step's flows (the controller
        // keeps its MACs).
        if (k > 0 && sw.of) await ofctl(sw.of, "del-flows");
        const r = await flowSetup(ctx, rate * opts.flowSeconds, rate, 7000 + k++);
        const installed = sw.of ? await flowCount(sw.of) : -1;
        notes.push(
          `${rate}/s: ${Math.round(r.flowsPerSec)}/s (${r.delivered}/${r.sent} in ${r.windowS.toFixed(2)} s, sent at ${Math.round(r.offeredPerSec)}/s, ${installed} entries)`,
        );
        console.error(`  ${notes.at(-1)}`);
        return { requested: rate, offered: r.offeredPerSec, achieved: r.flowsPerSec };
      };
      const { best, atLeast } = await steppedSetups(step, opts.flowRates);
      return (results) =>
        results.add("flow_setup_per_s", peer, best?.achieved ?? 0, {
          note: notes.join("; "),
          ...(atLeast ? { bound: "atLeast" as const } : {}),
        });
    });
    await sw.stop();
  });
}

/** Estimated seconds of the whole plan, for progress lines. */
export function planSeconds(opts: Options): number {
  const s = opts.seconds;
  const has = (g: string) => opts.groups.includes(g as never);
  let perPeer = 8;
  if (has("tcp")) perPeer += 4 * (s + 2);
  if (has("udp64")) perPeer += (opts.maxTrials + 2) * (opts.trialSeconds + 1.5);
  if (has("latency")) perPeer += 2 * (opts.pings / 100 + 1) + 4;
  let perRound = perPeer * opts.peers.length;
  if (opts.preload && has("preload") && opts.peers.includes("ofswitch"))
    perRound += 15 * (opts.preloadOvs && opts.peers.includes("ovs_netdev") ? 2 : 1);
  if (has("flowsetup")) {
    const reactive = opts.peers.filter(
      (p) => p === "ofswitch" || (p === "ovs_netdev" && opts.ovsReactive),
    ).length;
    perRound += reactive * (8 + opts.flowRates.length * (opts.flowSeconds + 4));
  }
  return perRound * opts.repeat;
}
