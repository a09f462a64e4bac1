// cbench-style controller benchmark. N emulated switches (default 16) connect as cbench connects
// them (groups of 8, 10 ms apart: `-I 8 -i 10`) and each starts sending PACKET_INs for M MAC
// addresses (default 1000) the moment it has answered FEATURES_REQUEST, while later groups are
// still connecting; the controller's responses (FLOW_MOD + PACKET_OUT) are counted per switch and
// per period. Throughput mode sends as fast as each socket takes packet-ins; latency mode keeps
// one outstanding per switch.
//
// One round runs every controller (ofcontroller, ovs-testcontroller, os-ken; each started fresh on
// 127.0.0.1) in every mode, one after the other, so that the controllers are compared side by
// side under the same machine load; --rounds repeats that. Each run reports the switches that
// joined, whether it aborted (a connection lost, as cbench exits then), the total responses/s and
// the min/median/max over switches of each switch's responses/s. The summary gives, per controller
// and mode, the spread over rounds, and ofcontroller's ratio to each peer per round. JSON lines
// for every run; an SVG chart with --svg. Where a `cbench` binary is on PATH it is run too.
//
// The load comes from one C process (bench/cbench/fakeswitches.c, built with cc on first use),
// as cbench's does; --generator node uses EmulatedSwitch objects in this process instead. The
// C one matters in latency mode: there the Node generator spends about as much CPU per response
// as the controller, so on 2 cores it shared the machine out with the controller and, when the
// machine was quiet, it was the one saturating a core, pulling every controller's figure toward
// its own. Every other round runs the controllers in reverse order.
//
//   npx tsc -p . && node dist/bench/cbench.js [--rounds 20] [--switches 16] [--macs 1000] ...
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import type { Mode } from "./cbench/emulated-switch.js";
import {
  nativeGeneratorMissing,
  startGenerator,
  type GeneratorKind,
  type LoadGenerator,
  type Snapshot,
} from "./cbench/generator.js";
import { CONTROLLERS, RunningController, sleep } from "./cbench/controllers.js";
import { barChartSvg } from "./cbench/svg.js";

interface Options {
  switches: number;
  macs: number;
  loops: number;
  ms: number;
  warmup: number;
  port: number;
  group: number;
  groupDelay: number;
  rounds: number;
  controllers: string[];
  modes: Mode[];
  svg?: string;
  /** Benchmark the controller already listening on --port instead of starting them. */
  external: boolean;
  /** free: where the scheduler puts them; apart: generator on CPU 0, controller on CPU 1;
   * shared: both on CPU 1. */
  pin: Pin;
  /** c: fakeswitches.c, one C process (as cbench); node: EmulatedSwitch objects in this one. */
  generator: GeneratorKind;
  /** Summarize (and chart) the JSON lines of an earlier run instead of measuring. */
  replot?: string;
}

type Pin = "free" | "apart" | "shared";

interface RunResult {
  round: number;
  controller: string;
  mode: Mode;
  switches: number;
  joined: number;
  /** Slowest handshake (TCP connect to FEATURES_REQUEST), ms; -1 if a switch never joined. */
  joinMsMax: number;
  /** Why the run aborted (a switch's connection was lost), or null. */
  aborted: string | null;
  /** Total responses/s in each period (the first `warmup` ones not counted). */
  perSecond: number[];
  /** Mean of the counted periods. */
  avg: number;
  /** Each switch's responses/s over the counted periods, in switch order. */
  perSwitch: number[];
  switchMin: number;
  switchMedian: number;
  switchMax: number;
  flowModShare: number;
  packetInsSent: number;
  writtenOff: number;
  /** Controller CPU over the counted periods (cores), and responses per CPU-second. */
  cpuCores: number;
  perCpuSecond: number;
  /** The load generator's own CPU over the counted periods (cores): near 1, it is the limit. */
  generatorCores: number;
  /** The machine's 1-minute load average at the end of the run (other jobs disturb figures). */
  load: number;
}

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};
const list = (allowed: string[]) => (v: string) => {
  const items = v.split(",");
  for (const i of items) {
    if (!allowed.includes(i)) throw new InvalidArgumentError(`expected ${allowed.join("|")}`);
  }
  return items;
};

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const total = (snap: Snapshot) => sum(snap.switches.map((s) => s.responses));
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");

async function runOne(o: Options, round: number, controller: string, mode: Mode) {
  const running = o.external
    ? null
    : await RunningController.start(
        CONTROLLERS[controller],
        o.port,
        o.pin === "free" ? undefined : 1,
      );
  let gen: LoadGenerator | null = null;
  try {
    gen = await startGenerator(o.generator, {
      host: "127.0.0.1",
      port: o.port,
      switches: o.switches,
      macs: o.macs,
      ports: 4,
      mode,
      group: o.group,
      groupDelay: o.groupDelay,
    });
    // As cbench: periods start once every switch has been told to connect, joined or not.
    const perSecond: number[] = [];
    let prev = await gen.snapshot();
    let warm = prev;
    let cpuAtWarmup = running?.cpuSeconds() ?? NaN;
    for (let loop = 0; loop < o.loops; loop++) {
      await sleep(o.ms);
      const snap = await gen.snapshot();
      perSecond.push(((total(snap) - total(prev)) * 1000) / (snap.t - prev.t));
      prev = snap;
      if (loop + 1 === o.warmup) {
        warm = snap;
        cpuAtWarmup = running?.cpuSeconds() ?? NaN;
      }
    }
    const last = prev;
    const seconds = (last.t - warm.t) / 1000;
    const cpu = (running?.cpuSeconds() ?? NaN) - cpuAtWarmup;
    gen.stop();
    const switches = last.switches;
    const perSwitch = switches.map((s, i) => (s.responses - warm.switches[i].responses) / seconds);
    const counted = perSecond.slice(o.warmup);
    const lost = switches.findIndex((s) => s.lostReason !== null);
    const joined = switches.filter((s) => s.joinMs >= 0).length;
    const r: RunResult = {
      round,
      controller,
      mode,
      switches: o.switches,
      joined,
      joinMsMax:
        joined === switches.length ? Math.round(Math.max(...switches.map((s) => s.joinMs))) : -1,
      aborted: lost < 0 ? null : `switch ${lost + 1}: ${switches[lost].lostReason}`,
      perSecond: perSecond.map(Math.round),
      avg: sum(counted) / counted.length,
      perSwitch: perSwitch.map(Math.round),
      switchMin: Math.min(...perSwitch),
      switchMedian: median(perSwitch),
      switchMax: Math.max(...perSwitch),
      flowModShare:
        total(last) === 0
          ? 0
          : Number((sum(switches.map((s) => s.flowMods)) / total(last)).toFixed(3)),
      packetInsSent: sum(switches.map((s) => s.packetInsSent)),
      writtenOff: sum(switches.map((s) => s.writtenOff)),
      cpuCores: Number((cpu / seconds).toFixed(2)),
      generatorCores: Number(((last.cpuSeconds - warm.cpuSeconds) / seconds).toFixed(2)),
      load: Number(loadavg()[0].toFixed(2)),
      perCpuSecond: cpu > 0 ? Math.round((sum(perSwitch) * seconds) / cpu) : 0,
    };
    console.log(
      `round ${round}/${o.rounds} ${mode.padEnd(10)} ${controller.padEnd(18)} ` +
        `joined ${r.joined}/${r.switches} (slowest ${r.joinMsMax} ms)  ${fmt(r.avg).padStart(8)} responses/s  ` +
        `per switch min/median/max ${fmt(r.switchMin)}/${fmt(r.switchMedian)}/${fmt(r.switchMax)}  ` +
        `CPU ${r.cpuCores}+gen ${r.generatorCores}  load ${r.load}` +
        (r.aborted === null ? "" : `  ABORTED (${r.aborted})`),
    );
    return r;
  } finally {
    gen?.close();
    running?.stop();
    await sleep(300);
  }
}

/** The real cbench against a fresh instance of the controller, where cbench is installed. */
async function runRealCbench(o: Options, controller: string, mode: Mode): Promise<void> {
  if (spawnSync("sh", ["-c", "command -v cbench"]).status !== 0) return;
  const args = ["-c", "127.0.0.1", "-p", String(o.port), "-s", String(o.switches)];
  args.push("-M", String(o.macs), "-l", String(o.loops), "-m", String(o.ms));
  args.push("-w", String(o.warmup), "-I", String(o.group), "-i", String(o.groupDelay));
  if (mode === "throughput") args.push("-t");
  const running = await RunningController.start(CONTROLLERS[controller], o.port);
  try {
    console.log(`cbench ${args.join(" ")}   (against ${controller})`);
    const r = spawnSync("cbench", args, {
      encoding: "utf8",
      timeout: (o.loops + 5) * o.ms + 30_000,
    });
    console.log(
      (r.stdout ?? "")
        .split("\n")
        .filter((l) => /RESULT/.test(l))
        .join("\n"),
    );
  } finally {
    running.stop();
    await sleep(300);
  }
}

interface Summary {
  controller: string;
  mode: Mode;
  rounds: number;
  aborted: number;
  joinedMin: number;
  avgMedian: number;
  avgMin: number;
  avgMax: number;
  /** Per-switch responses/s over every switch of every round. */
  switchMin: number;
  switchMedian: number;
  switchMax: number;
  /** ofcontroller's avg ÷ this controller's avg, per round (same round, same mode). */
  ratioMedian: number;
  ratioMin: number;
  ratioMax: number;
  cpuCores: number;
  perCpuSecond: number;
  /** The load generator's CPU (cores), median over the runs. */
  generatorCores: number;
  /** Load average over the runs: min and max. */
  loadMin: number;
  loadMax: number;
}

function summarize(results: RunResult[]): Summary[] {
  const out: Summary[] = [];
  const keys = [...new Set(results.map((r) => `${r.mode}\t${r.controller}`))];
  for (const key of keys) {
    const [mode, controller] = key.split("\t") as [Mode, string];
    const runs = results.filter((r) => r.mode === mode && r.controller === controller);
    const ratios = runs
      .map((r) => {
        const base = results.find(
          (b) => b.round === r.round && b.mode === mode && b.controller === "ofcontroller",
        );
        return base === undefined || r.avg === 0 ? NaN : base.avg / r.avg;
      })
      .filter(Number.isFinite);
    const avgs = runs.map((r) => r.avg);
    const loads = runs.map((r) => r.load).filter(Number.isFinite); // older logs have none
    const perSwitch = runs.flatMap((r) => r.perSwitch);
    out.push({
      controller,
      mode,
      rounds: runs.length,
      aborted: runs.filter((r) => r.aborted !== null).length,
      joinedMin: Math.min(...runs.map((r) => r.joined)),
      avgMedian: median(avgs),
      avgMin: Math.min(...avgs),
      avgMax: Math.max(...avgs),
      switchMin: Math.min(...perSwitch),
      switchMedian: median(perSwitch),
      switchMax: Math.max(...perSwitch),
      ratioMedian: median(ratios),
      ratioMin: ratios.length === 0 ? NaN : Math.min(...ratios),
      ratioMax: ratios.length === 0 ? NaN : Math.max(...ratios),
      cpuCores: median(runs.map((r) => r.cpuCores)),
      perCpuSecond: median(runs.map((r) => r.perCpuSecond)),
      generatorCores: median(runs.map((r) => r.generatorCores).filter(Number.isFinite)),
      loadMin: loads.length === 0 ? NaN : Math.min(...loads),
      loadMax: loads.length === 0 ? NaN : Math.max(...loads),
    });
  }
  return out;
}

function table(summaries: Summary[], switches: number): void {
  const head = [
    "controller",
    "mode",
    "rounds",
    "aborted",
    "joined (min)",
    "responses/s median [min–max of rounds]",
    "per switch min/median/max",
    "ofcontroller ÷ it, median [range]",
    "CPU",
    "resp/CPU-s",
    "gen CPU",
    "load",
  ];
  const rows = summaries.map((s) => [
    s.controller,
    s.mode,
    String(s.rounds),
    String(s.aborted),
    `${s.joinedMin}/${switches}`,
    `${fmt(s.avgMedian)} [${fmt(s.avgMin)}–${fmt(s.avgMax)}]`,
    `${fmt(s.switchMin)}/${fmt(s.switchMedian)}/${fmt(s.switchMax)}`,
    s.controller === "ofcontroller" || !Number.isFinite(s.ratioMedian)
      ? "-"
      : `${s.ratioMedian.toFixed(2)}× [${s.ratioMin.toFixed(2)}–${s.ratioMax.toFixed(2)}]`,
    s.cpuCores.toFixed(2),
    fmt(s.perCpuSecond),
    Number.isFinite(s.generatorCores) ? s.generatorCores.toFixed(2) : "-",
    Number.isFinite(s.loadMin) ? `${s.loadMin.toFixed(1)}–${s.loadMax.toFixed(1)}` : "-",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  console.log("");
  for (const row of [head, ...rows]) {
    console.log(
      row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "),
    );
  }
}

async function main(): Promise<void> {
  const program = new Command("cbench")
    .option("-s, --switches <n>", "emulated switches", int(1), 16)
    .option("-M, --macs <n>", "MAC addresses per switch", int(1), 1000)
    .option("-l, --loops <n>", "test periods per run", int(2), 5)
    .option("-m, --ms <n>", "length of a test period, ms", int(100), 1000)
    .option("-w, --warmup <n>", "leading periods not counted (they include the joins)", int(1), 1)
    .option("-p, --port <n>", "TCP port the controllers listen on", int(1), 16653)
    .option("-I, --group <n>", "switches connecting at a time (cbench -I)", int(1), 8)
    .option("-i, --group-delay <ms>", "delay between groups (cbench -i)", int(0), 10)
    .option("-r, --rounds <n>", "rounds (each runs every controller in every mode)", int(1), 20)
    .option(
      "--controllers <list>",
      "ofcontroller,ovs-testcontroller,os-ken",
      list(Object.keys(CONTROLLERS)),
      Object.keys(CONTROLLERS),
    )
    .option("--modes <list>", "throughput,latency", list(["throughput", "latency"]), [
      "throughput",
      "latency",
    ])
    .option("--svg <file>", "write a bar chart (e.g. docs/controller-bench.svg)")
    .option("--external", "benchmark the controller already listening on --port", false)
    .addOption(
      new Option("--generator <kind>", "load generator: c (one C process, as cbench) or node")
        .choices(["c", "node"])
        .default("c"),
    )
    .option("--replot <log>", "summarize and chart the JSON lines of an earlier run's output")
    .addOption(
      new Option(
        "--pin <placement>",
        "free: the scheduler decides; apart: generator CPU 0, controller CPU 1; shared: both CPU 1",
      )
        .choices(["free", "apart", "shared"])
        .default("free"),
    );
  program.parse();
  const o = program.opts<Options>();
  if (o.warmup >= o.loops) throw new Error("--warmup must be less than --loops");
  if (o.pin !== "free") {
    const r = spawnSync("taskset", ["-pc", o.pin === "apart" ? "0" : "1", String(process.pid)]);
    if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr}`);
  }
  const controllers = o.external
    ? ["external"]
    : o.controllers.filter((name) => {
        const missing = CONTROLLERS[name].missing();
        if (missing !== null) console.log(`skipping ${name}: ${missing}`);
        return missing === null;
      });
  if (o.generator === "c" && o.replot === undefined) {
    const missing = nativeGeneratorMissing();
    if (missing !== null) {
      console.log(`load generator: node, since the C one cannot be built (${missing})`);
      o.generator = "node";
    }
  }
  const results: RunResult[] = [];
  if (o.replot !== undefined) {
    // Figures of an earlier run, from its JSON lines: summary and chart without measuring again.
    for (const line of readFileSync(o.replot, "utf8").split("\n")) {
      if (line.startsWith('{"bench":"cbench",')) results.push(JSON.parse(line) as RunResult);
    }
    if (results.length === 0) throw new Error(`${o.replot}: no cbench JSON lines`);
    o.rounds = Math.max(...results.map((r) => r.round));
    o.switches = results[0].switches;
    o.modes = [...new Set(results.map((r) => r.mode))];
    // Logs from before the C generator have no "generator" field: they used the Node one.
    o.generator = (results[0] as { generator?: GeneratorKind }).generator ?? "node";
  }
  for (let round = 1; o.replot === undefined && round <= o.rounds; round++) {
    // Every other round runs the controllers in reverse order, so that none always runs first
    // or always right after another (a peer that leaves work behind, a machine warming up).
    const order = round % 2 === 1 ? controllers : [...controllers].reverse();
    for (const mode of o.modes) {
      for (const name of order) {
        const r = await runOne(o, round, name, mode);
        results.push(r);
        const context = { macs: o.macs, pin: o.pin, generator: o.generator };
        console.log(JSON.stringify({ bench: "cbench", ...context, ...r }));
      }
    }
  }
  if (!o.external && o.replot === undefined) {
    for (const mode of o.modes) for (const name of controllers) await runRealCbench(o, name, mode);
  }
  const summaries = summarize(results);
  table(summaries, o.switches);
  for (const s of summaries) console.log(JSON.stringify({ bench: "cbench-summary", ...s }));
  if (o.svg !== undefined) {
    const groups = o.modes.map((mode) => ({
      label: `${mode} mode`,
      bars: summaries
        .filter((s) => s.mode === mode)
        .map((s) => ({
          name: s.controller,
          value: s.avgMedian,
          low: s.avgMin,
          high: s.avgMax,
          note: s.controller === "ofcontroller" ? "" : `${s.ratioMedian.toFixed(2)}×`,
        })),
    }));
    const loads = results.map((r) => r.load).filter(Number.isFinite);
    const title =
      `Learning-switch controllers, cbench-style (groups of ${o.group}, ${o.groupDelay} ms apart)\n` +
      `${o.switches} switches × ${o.macs} MACs, ${o.rounds} rounds side by side, ` +
      `${o.generator === "c" ? "C" : "Node"} load generator, 2-core VM` +
      (o.pin === "free" ? "" : `, pinned ${o.pin}`);
    const subtitle =
      "bar: median of rounds; whisker: min–max; under a bar: ofcontroller ÷ it, median of rounds" +
      (loads.length > 0
        ? `; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`
        : "");
    writeFileSync(o.svg, barChartSvg(title, subtitle, "responses/s", groups));
    console.log(`wrote ${o.svg}`);
  }
}

main().catch((err: Error) => {
  console.error(`cbench: ${err.message}`);
  process.exit(1);
});
