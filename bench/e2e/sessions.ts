// A session: fresh topology, one switch under test, its figures, teardown. Proactive sessions
// measure forwarding (TCP, 64-byte frames, latency, CPU, RSS); reactive ones measure flow setup.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type PeerId, PEER_LABEL, type Results } from "./figures.js";
import {
  type Ctx,
  flowSetup,
  pingRtts,
  pingUnderLoad,
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

/** Repeats a measurement, recording a null with the reason when a run fails. */
async function repeat(
  env: SessionEnv,
  peer: PeerId,
  title: string,
  estimate: number,
  body: () => Promise<void>,
  onError: (note: string) => void,
) {
  for (let k = 1; k <= env.opts.repeat; k++) {
    env.progress.step(`${PEER_LABEL[peer]} · ${title} · run ${k}/${env.opts.repeat}`, estimate);
    try {
      await body();
    } catch (err) {
      const note = (err as Error).message.split("\n")[0].slice(0, 300);
      console.error(`  failed: ${note}`);
      onError(note);
    }
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

/** Forwarding figures of one peer, its flow table proactively programmed (ofswitch and OVS). */
export async function proactiveSession(peer: PeerId, env: SessionEnv): Promise<void> {
  const { opts, results } = env;
  const has = (g: string) => opts.groups.includes(g as never);
  const s = opts.seconds;
  await withTopology(env, async (ctx, dir) => {
    env.progress.step(`${PEER_LABEL[peer]} · starting (proactive)`, 5);
    const sw = await startSwitch(peer, ctx, env, dir, { kind: "proactive" });
    if (sw.of) await installForwarding(sw.of, ctx.topo);
    const preload =
      env.flowsFile && sw.of && (peer === "ofswitch" || opts.preloadOvs) && has("preload");
    if (preload && sw.of && env.flowsFile && opts.preload) {
      env.progress.step(
        `${PEER_LABEL[peer]} · loading ${opts.preload.exact} exact + ${opts.preload.wildcard} wildcard entries`,
        30,
      );
      const seconds = await addFlowsFile(sw.of, env.flowsFile, 600_000);
      const count = await flowCount(sw.of);
      const expected = opts.preload.exact + opts.preload.wildcard + 2;
      console.error(
        `  loaded in ${seconds.toFixed(2)} s; the switch reports ${count} entries (expected ${expected})`,
      );
      results.add(
        "flow_load_s",
        peer,
        seconds,
        count === expected ? undefined : `switch reports ${count} entries, expected ${expected}`,
      );
    }
    await connectivity(ctx.topo);
    const transmitted = async () =>
      (await readCounter(ctx.topo.switchNs, ctx.topo.switchIfs[0], "tx_packets")) +
      (await readCounter(ctx.topo.switchNs, ctx.topo.switchIfs[1], "tx_packets"));
    const trafficFromUs = Number(process.hrtime.bigint() / 1000n);
    const framesBefore = await transmitted();

    const tcpRuns = async (offloads: "on" | "off") => {
      for (const streams of [1, 4]) {
        const id = `tcp_${streams}stream_offload_${offloads}`;
        await repeat(
          env,
          peer,
          `TCP ${streams} stream${streams > 1 ? "s" : ""}, offloads ${offloads === "on" ? "default" : "off"}`,
          s + 2,
          async () => {
            const cpu0 = await cpuOf(sw);
            results.add(id, peer, await tcpThroughput(ctx, streams, s));
            const cpu1 = await cpuOf(sw);
            if (streams === 1 && offloads === "off")
              results.add(
                "cpu_s_tcp1_off",
                peer,
                cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
                cpu0 === null ? NOT_ATTRIBUTABLE : undefined,
              );
          },
          (note) => results.fail(id, peer, note),
        );
      }
    };
    // Veths start with offloads on: measure the defaults first, then turn them off for the rest.
    if (has("tcp")) await tcpRuns("on");
    await setOffloads(ctx.topo, false);
    await connectivity(ctx.topo);
    if (has("tcp")) await tcpRuns("off");

    if (has("udp64"))
      await repeat(
        env,
        peer,
        "64-byte frames",
        s + 2,
        async () => {
          const cpu0 = await cpuOf(sw);
          const r = await smallFrames(ctx, s, opts.frameRate);
          const cpu1 = await cpuOf(sw);
          results.add("udp64_delivered_fps", peer, r.deliveredFps);
          results.add("udp64_loss_pct", peer, r.lossPct);
          results.add("udp64_offered_fps", peer, r.offeredFps);
          results.add(
            "cpu_s_udp64",
            peer,
            cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
            cpu0 === null ? NOT_ATTRIBUTABLE : undefined,
          );
        },
        (note) =>
          ["udp64_delivered_fps", "udp64_loss_pct"].forEach((f) => results.fail(f, peer, note)),
      );

    if (has("latency")) {
      const pingS = opts.pings / 100 + 1;
      const record = (
        load: "idle" | "load",
        r: { p50: number; p99: number; received: number; sent: number },
      ) => {
        const note =
          r.received < r.sent ? `${r.sent - r.received} of ${r.sent} pings lost` : undefined;
        results.add(`ping_p50_${load}`, peer, r.p50, note);
        results.add(`ping_p99_${load}`, peer, r.p99, note);
      };
      await repeat(
        env,
        peer,
        "ping idle",
        pingS,
        async () => record("idle", await pingRtts(ctx, opts.pings)),
        (n) => ["ping_p50_idle", "ping_p99_idle"].forEach((f) => results.fail(f, peer, n)),
      );
      await repeat(
        env,
        peer,
        "ping under TCP load",
        pingS + 4,
        async () => {
          const r = await pingUnderLoad(ctx, opts.pings);
          record("load", r);
          results.add("ping_load_tcp_gbps", peer, r.loadGbps);
        },
        (n) =>
          ["ping_p50_load", "ping_p99_load", "ping_load_tcp_gbps"].forEach((f) =>
            results.fail(f, peer, n),
          ),
      );
    }

    if (sw.rssPid !== undefined) results.add("peak_rss_mib", peer, await peakRssMiB(sw.rssPid));
    else results.add("peak_rss_mib", peer, null, NOT_ATTRIBUTABLE);
    if (peer === "ofswitch" && sw.rssPid !== undefined)
      env.ofswitchTraffic = {
        pid: sw.rssPid,
        fromUs: trafficFromUs,
        frames: (await transmitted()) - framesBefore,
      };
    await sw.stop();
  });
}

/** Reactive flow setup: the switch with a learning ovs-testcontroller and an empty table. */
export async function reactiveSession(peer: PeerId, env: SessionEnv): Promise<void> {
  const { opts, results } = env;
  await withTopology(env, async (ctx, dir) => {
    env.progress.step(`${PEER_LABEL[peer]} · starting (reactive, ovs-testcontroller)`, 5);
    await startTestController(ctx.topo.switchNs, CONTROLLER_PORT, ctx.teardown, dir);
    const sw = await startSwitch(peer, ctx, env, dir, {
      kind: "reactive",
      controllerPort: CONTROLLER_PORT,
    });
    await setOffloads(ctx.topo, false);
    await connectivity(ctx.topo);
    const estimate = opts.flowCount / opts.flowRate + 8;
    let k = 0;
    await repeat(
      env,
      peer,
      `flow setup (${opts.flowCount} new flows at ${opts.flowRate}/s)`,
      estimate,
      async () => {
        // Each run starts from a table without the previous run's flows (the controller keeps its MACs).
        if (k > 0 && sw.of) await ofctl(sw.of, "del-flows");
        const r = await flowSetup(ctx, opts.flowCount, opts.flowRate, 7000 + k++);
        const installed = sw.of ? await flowCount(sw.of) : -1;
        const note = `${r.delivered}/${r.sent} delivered in ${r.windowS.toFixed(2)} s; ${installed} entries installed`;
        console.error(`  ${note}`);
        results.add("flow_setup_per_s", peer, r.flowsPerSec, note);
      },
      (note) => results.fail("flow_setup_per_s", peer, note),
    );
    await sw.stop();
  });
}

/** Estimated seconds of the whole plan, for progress lines. */
export function planSeconds(opts: Options): number {
  const s = opts.seconds;
  const r = opts.repeat;
  const has = (g: string) => opts.groups.includes(g as never);
  let perPeer = 8;
  if (has("tcp")) perPeer += 4 * r * (s + 2);
  if (has("udp64")) perPeer += r * (s + 2);
  if (has("latency")) perPeer += r * (2 * (opts.pings / 100 + 1) + 4);
  let total = perPeer * opts.peers.length;
  if (opts.preload && has("preload") && opts.peers.includes("ofswitch"))
    total += 30 * (opts.preloadOvs ? 2 : 1);
  if (has("flowsetup")) {
    const reactive = opts.peers.filter(
      (p) => p === "ofswitch" || (p === "ovs_netdev" && opts.ovsReactive),
    ).length;
    total += reactive * (8 + r * (opts.flowCount / opts.flowRate + 8));
  }
  return total;
}
