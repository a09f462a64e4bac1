// cbench-style controller benchmark: N emulated switches (default 16) send PACKET_INs for M MAC
// addresses each (default 1000) to a learning-switch controller, and count its responses
// (FLOW_MOD + PACKET_OUT) per second. Throughput mode keeps a window of packet-ins in flight
// per switch; latency mode keeps one. Compares ofcontroller, ovs-testcontroller and os-ken in
// one run (each started fresh on 127.0.0.1 per mode), prints per-second figures and
// min/max/avg like cbench, a side-by-side table with ratios, JSON lines, and an SVG bar chart.
// Where a `cbench` binary is on PATH it is run against each controller too.
//
//   npx tsc -p . && node dist/bench/cbench.js [--switches 16] [--macs 1000] [--loops 10] ...
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { EmulatedSwitch, type Mode } from "./cbench/emulated-switch.js";
import { CONTROLLERS, RunningController, sleep } from "./cbench/controllers.js";
import { barChartSvg } from "./cbench/svg.js";

interface Options {
  switches: number;
  macs: number;
  loops: number;
  ms: number;
  warmup: number;
  window: number;
  port: number;
  controllers: string[];
  modes: Mode[];
  group: number;
  svg?: string;
  /** Benchmark the controller already listening on --port instead of starting them. */
  external: boolean;
}

interface Result {
  controller: string;
  mode: Mode;
  perSecond: number[];
  min: number;
  max: number;
  avg: number;
  stdev: number;
  writtenOff: number;
  /** Share of responses that were FLOW_MODs (the rest PACKET_OUTs). */
  flowModShare: number;
  packetInsSent: number;
  cpuSeconds: number;
  /** Wall time the CPU figure covers. */
  seconds: number;
  /** Responses per second of the controller's CPU time (steadier than wall time when busy). */
  perCpuSecond: number;
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

async function connectSwitches(o: Options): Promise<EmulatedSwitch[]> {
  const all: EmulatedSwitch[] = [];
  // Small groups: ovs-testcontroller's listen backlog is 10.
  for (let i = 0; i < o.switches; i += o.group) {
    const group: EmulatedSwitch[] = [];
    for (let j = i; j < Math.min(o.switches, i + o.group); j++) {
      group.push(
        new EmulatedSwitch({
          host: "127.0.0.1",
          port: o.port,
          datapathId: j + 1,
          macs: o.macs,
          window: o.window,
          ports: 4,
        }),
      );
    }
    all.push(...group);
    await Promise.race([
      Promise.all(group.map((s) => s.ready)),
      sleep(10_000).then(() => {
        throw new Error("switches did not complete the handshake within 10 s");
      }),
    ]);
  }
  return all;
}

async function runOne(o: Options, controller: string, mode: Mode): Promise<Result> {
  const running = o.external
    ? null
    : await RunningController.start(CONTROLLERS[controller], o.port);
  let switches: EmulatedSwitch[] = [];
  try {
    switches = await connectSwitches(o);
    await sleep(500); // let the controller finish its own join work (flow deletes, config)
    for (const s of switches) s.start(mode);
    const cpu0 = running?.cpuSeconds() ?? NaN;
    const responses0 = switches.reduce((n, s) => n + s.responses, 0);
    const start = performance.now();
    const perSecond: number[] = [];
    let last = 0;
    let t0 = performance.now();
    for (let loop = 0; loop < o.loops; loop++) {
      await sleep(o.ms);
      const now = performance.now();
      const total = switches.reduce((n, s) => n + s.responses, 0);
      const rate = ((total - last) * 1000) / (now - t0);
      perSecond.push(rate);
      console.log(
        `${controller.padEnd(18)} ${mode.padEnd(10)} ${o.switches} switches: loop ${loop + 1}/${o.loops}: ` +
          `${Math.round(rate).toLocaleString("en-US")} responses/s${loop < o.warmup ? " (warm-up)" : ""}`,
      );
      last = total;
      t0 = now;
    }
    const cpuSeconds = (running?.cpuSeconds() ?? NaN) - cpu0;
    for (const s of switches) s.stop();
    const counted = perSecond.slice(o.warmup);
    const avg = counted.reduce((a, b) => a + b, 0) / counted.length;
    const stdev = Math.sqrt(counted.reduce((a, b) => a + (b - avg) ** 2, 0) / counted.length);
    const writtenOff = switches.reduce((n, s) => n + s.writtenOff, 0);
    const responses = switches.reduce((n, s) => n + s.responses, 0);
    const flowMods = switches.reduce((n, s) => n + s.flowMods, 0);
    const packetInsSent = switches.reduce((n, s) => n + s.packetInsSent, 0);
    const r: Result = {
      controller,
      mode,
      perSecond: perSecond.map(Math.round),
      min: Math.min(...counted),
      max: Math.max(...counted),
      avg,
      stdev,
      writtenOff,
      flowModShare: responses === 0 ? 0 : Number((flowMods / responses).toFixed(3)),
      packetInsSent,
      cpuSeconds: Number(cpuSeconds.toFixed(2)),
      seconds: (performance.now() - start) / 1000,
      perCpuSecond: cpuSeconds > 0 ? (responses - responses0) / cpuSeconds : 0,
    };
    console.log(
      `RESULT: ${controller} ${mode} ${o.switches} switches ${counted.length} tests ` +
        `min/max/avg/stdev = ${r.min.toFixed(0)}/${r.max.toFixed(0)}/${r.avg.toFixed(0)}/${r.stdev.toFixed(0)} responses/s`,
    );
    return r;
  } finally {
    for (const s of switches) s.close();
    running?.stop();
    await sleep(300);
  }
}

/** The real cbench against a fresh instance of the controller, where cbench is installed. */
async function runRealCbench(o: Options, controller: string, mode: Mode): Promise<void> {
  if (spawnSync("sh", ["-c", "command -v cbench"]).status !== 0) return;
  const args = ["-c", "127.0.0.1", "-p", String(o.port), "-s", String(o.switches)];
  args.push(
    "-M",
    String(o.macs),
    "-l",
    String(o.loops),
    "-m",
    String(o.ms),
    "-w",
    String(o.warmup),
  );
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

function table(results: Result[]): void {
  const base = (mode: Mode) =>
    results.find((r) => r.controller === "ofcontroller" && r.mode === mode);
  const head = [
    "controller",
    "mode",
    "avg resp/s",
    "min",
    "max",
    "ofcontroller ×",
    "CPU (cores)",
    "resp/CPU-s",
  ];
  const rows = results.map((r) => {
    const b = base(r.mode);
    const ratio = b === undefined || r.avg === 0 ? "-" : `${(b.avg / r.avg).toFixed(2)}×`;
    return [
      r.controller,
      r.mode,
      fmt(r.avg),
      fmt(r.min),
      fmt(r.max),
      ratio,
      (r.cpuSeconds / r.seconds).toFixed(2),
      fmt(r.perCpuSecond),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  console.log("");
  for (const row of [head, ...rows]) {
    console.log(
      row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "),
    );
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main(): Promise<void> {
  const program = new Command("cbench")
    .option("-s, --switches <n>", "emulated switches", int(1), 16)
    .option("-M, --macs <n>", "MAC addresses per switch", int(2), 1000)
    .option("-l, --loops <n>", "test periods", int(2), 10)
    .option("-m, --ms <n>", "length of a test period, ms", int(100), 1000)
    .option("-w, --warmup <n>", "leading periods not counted", int(0), 1)
    .option("--window <n>", "packet-ins in flight per switch (throughput mode)", int(1), 64)
    .option("-p, --port <n>", "TCP port the controllers listen on", int(1), 16653)
    .option("--group <n>", "switches connected at a time", int(1), 4)
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
    .option("--svg <file>", "write a bar chart of the averages (e.g. docs/controller-bench.svg)")
    .option("--external", "benchmark the controller already listening on --port", false);
  program.parse();
  const o = program.opts<Options>();
  if (o.warmup >= o.loops) throw new Error("--warmup must be less than --loops");
  const results: Result[] = [];
  if (o.external) {
    for (const mode of o.modes) results.push(await runOne(o, "external", mode));
  }
  for (const mode of o.external ? [] : o.modes) {
    for (const name of o.controllers) {
      const missing = CONTROLLERS[name].missing();
      if (missing !== null) {
        console.log(`skipping ${name}: ${missing}`);
        continue;
      }
      results.push(await runOne(o, name, mode));
      await runRealCbench(o, name, mode);
    }
  }
  table(results);
  for (const r of results) {
    const { perSecond, seconds: _seconds, ...rest } = r;
    console.log(
      JSON.stringify({
        bench: "cbench",
        switches: o.switches,
        macs: o.macs,
        window: r.mode === "throughput" ? o.window : 1,
        ...rest,
        avg: Math.round(r.avg),
        min: Math.round(r.min),
        max: Math.round(r.max),
        stdev: Math.round(r.stdev),
        perCpuSecond: Math.round(r.perCpuSecond),
        perSecond,
      }),
    );
  }
  if (o.svg !== undefined) {
    const groups = o.modes.map((mode) => ({
      label: `${mode} mode`,
      bars: results
        .filter((r) => r.mode === mode)
        .map((r) => ({ name: r.controller, value: r.avg })),
    }));
    const title = `Learning-switch controllers: ${o.switches} switches × ${o.macs} MACs (2-core VM)`;
    writeFileSync(o.svg, barChartSvg(title, "responses/s (FLOW_MOD + PACKET_OUT)", groups));
    console.log(`wrote ${o.svg}`);
  }
}

main().catch((err: Error) => {
  console.error(`cbench: ${err.message}`);
  process.exit(1);
});
