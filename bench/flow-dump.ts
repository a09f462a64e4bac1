// A full flow table dumped through the real `ovs-ofctl dump-flows`, ofswitch beside Open vSwitch
// (userspace datapath) in the same run: each switch in the e2e harness's namespaces
// (bench/e2e/topology.ts) is loaded with the same N exact-match entries (`ovs-ofctl add-flows`,
// bench/e2e/flows-file.ts), then dumped `repeats` times. Per dump: wall time until ovs-ofctl has
// printed every entry, the switch's peak RSS during the dump (VmHWM after `clear_refs 5`, so the
// load's peak does not count) and the slowest `ovs-ofctl probe` (echo) answered on another
// session meanwhile. Run as root after `npx tsc -p .`:
//   node dist/bench/flow-dump.js [--flows 1000000] [--repeats 3] [--peers ofswitch,ovs]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs } from "./e2e/args.js";
import { exactFlow } from "./e2e/flows-file.js";
import { addFlowsFile, flowCount, ofctl, type OfTarget } from "./e2e/ofctl.js";
import { inNs, run, Teardown } from "./e2e/proc.js";
import { startOfswitch, startOvs, type SwitchUnderTest } from "./e2e/switches.js";
import { createTopology } from "./e2e/topology.js";

const USAGE = `
Usage: node dist/bench/flow-dump.js [--flows N] [--repeats R] [--peers ofswitch,ovs]

Loads N exact-match entries into ofswitch and into Open vSwitch (userspace datapath), each in the
e2e harness's namespaces, then dumps each table R times with \`ovs-ofctl dump-flows\`: time per
dump, the switch's peak RSS during it, and the slowest \`ovs-ofctl probe\` answered meanwhile on
another session. Run as root after \`npx tsc -p .\`.
  --flows N          entries to load (default 1000000)
  --repeats R        dumps per switch (default 3)
  --peers LIST       which switches, comma-separated: ofswitch, ovs (default both)
  --help             this text
`;
const o = benchArgs(USAGE, { flows: "1000000", repeats: "3", peers: "ofswitch,ovs" });
const N = Number(o.flows);
const REPEATS = Number(o.repeats);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Dump {
  seconds: number;
  entries: number;
  rssBeforeMiB: number;
  peakMiB: number;
  slowestProbeMs: number;
}

function statusMiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]) / 1024;
}

async function dumpOnce(sw: SwitchUnderTest, of: OfTarget): Promise<Dump> {
  const pid = sw.rssPid!;
  writeFileSync(`/proc/${pid}/clear_refs`, "5"); // VmHWM := VmRSS
  const rssBeforeMiB = statusMiB(pid, "VmRSS");
  const argv = inNs(of.ns, [
    "sh",
    "-c",
    `ovs-ofctl -O OpenFlow10 dump-flows ${of.target} | grep -c cookie=`,
  ]);
  const t0 = performance.now();
  const dump = run(argv, { timeoutMs: 600_000, env: of.env });
  let done = false;
  void dump.finally(() => (done = true));
  let slowestProbeMs = 0;
  while (!done) {
    const p = await ofctl(of, "probe", [], 60_000);
    slowestProbeMs = Math.max(slowestProbeMs, p.ms);
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await dump;
  return {
    seconds: (performance.now() - t0) / 1000,
    entries: Number(r.stdout.trim()),
    rssBeforeMiB,
    peakMiB: statusMiB(pid, "VmHWM"),
    slowestProbeMs,
  };
}

async function measure(peer: string, runDir: string, flowsFile: string) {
  const teardown = new Teardown();
  try {
    const topo = await createTopology(`fd${process.pid % 1000}`, teardown);
    const sw =
      peer === "ofswitch"
        ? await startOfswitch(topo, teardown, {
            root: ROOT,
            runDir,
            listenPort: 6690,
            mode: { kind: "proactive" },
            nodeFlags: [],
          })
        : await startOvs(topo, teardown, { runDir, mode: { kind: "proactive" } });
    const of = sw.of!;
    const loadSeconds = await addFlowsFile(of, flowsFile, 1_800_000);
    const loaded = await flowCount(of);
    if (loaded !== N) throw new Error(`${peer}: ${loaded} entries loaded, not ${N}`);
    const dumps: Dump[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const d = await dumpOnce(sw, of);
      if (d.entries !== N) throw new Error(`${peer}: dump ${i + 1} printed ${d.entries} entries`);
      dumps.push(d);
      console.log(
        `${peer} dump ${i + 1}: ${d.seconds.toFixed(2)} s, RSS ${d.rssBeforeMiB.toFixed(0)} -> peak ${d.peakMiB.toFixed(0)} MiB (+${(d.peakMiB - d.rssBeforeMiB).toFixed(0)}), slowest probe ${d.slowestProbeMs.toFixed(0)} ms`,
      );
    }
    await sw.stop();
    return { peer, loadSeconds, dumps };
  } finally {
    await teardown.runAll();
  }
}

const runDir = mkdtempSync(join(tmpdir(), "ofswitch-flow-dump-"));
try {
  const flowsFile = join(runDir, "flows");
  writeFileSync(flowsFile, Array.from({ length: N }, (_, i) => exactFlow(i)).join("\n") + "\n");
  const results = [];
  for (const peer of o.peers.split(",")) {
    const r = await measure(peer, runDir, flowsFile);
    console.log(
      `${peer}: ${N} entries loaded by ovs-ofctl add-flows in ${r.loadSeconds.toFixed(1)} s`,
    );
    results.push(r);
  }
  console.log(JSON.stringify({ flows: N, repeats: REPEATS, results }));
} finally {
  rmSync(runDir, { recursive: true, force: true });
}
