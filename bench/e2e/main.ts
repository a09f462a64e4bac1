// End-to-end benchmark: ofswitch vs the Linux bridge vs Open vSwitch's userspace datapath, hosts
// on veths. `bash scripts/bench.sh [--quick] [--peers ...] [--figures ...]`; --help for the rest.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeEndToEndDocs, writeProfileDocs, type RunMeta } from "./docs.js";
import { figureLine, PEER_LABEL, Results, rotation } from "./figures.js";
import { writeFlowsFile } from "./flows-file.js";
import { agentArgv } from "./measure.js";
import { type Options, parseOptions } from "./options.js";
import { findProfile, profileSummary, readProfile } from "./profile.js";
import { clock, Progress } from "./progress.js";
import { resultsTable } from "./report.js";
import { planSeconds, proactiveSession, reactiveSession, type SessionEnv } from "./sessions.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

function preflight(): void {
  if (process.getuid?.() !== 0)
    throw new Error("the end-to-end benchmark needs root (network namespaces, veths)");
}

function settings(opts: Options): string {
  const preload = opts.preload
    ? `${opts.preload.exact} exact + ${opts.preload.wildcard} wildcard entries preloaded in ofswitch${opts.preloadOvs ? " and in OVS" : ""}`
    : "no preload";
  return [
    `${opts.repeat} round(s), every peer once per round (medians; ratios per round)`,
    `${opts.seconds} s per iperf3 run`,
    `${opts.pings} pings per latency run`,
    preload,
    `64-byte search: ${opts.trialSeconds} s trials, loss <= ${opts.lossPct} %, up to ${opts.maxTrials + 1} trials`,
    `flow setup: ${opts.flowSeconds} s steps at ${opts.flowRates.join(", ")} new flows/s`,
  ].join(", ");
}

/** The commit under test (with "+changes" when the tree differs from it). */
function revision(): string {
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", root, ...args], { encoding: "utf8" }).trim();
  try {
    return (
      git("rev-parse", "--short", "HEAD") +
      (git("status", "--porcelain", "--untracked-files=no") ? "+changes" : "")
    );
  } catch {
    return "(not a git checkout)";
  }
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  preflight();
  const runDir = mkdtempSync(join(tmpdir(), "ofswitch-e2e-"));
  if (opts.cpuProf) mkdirSync((opts.cpuProf = resolve(opts.cpuProf)), { recursive: true });
  const results = new Results();
  const progress = new Progress();
  const env: SessionEnv = {
    opts,
    root,
    runDir,
    results,
    progress,
    agent: agentArgv(root),
    flowsFile: null,
  };

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\ne2e: ${sig}: tearing down`);
    void (env.current?.runAll() ?? Promise.resolve()).finally(() => {
      if (!opts.keepLogs) rmSync(runDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const loadAtStart = loadavg()[0];
  progress.plan(planSeconds(opts));
  const has = (g: string) => opts.groups.includes(g as never);
  const forwarding = has("tcp") || has("udp64") || has("latency");
  let failed = false;
  const session = async (what: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (err) {
      failed = true;
      console.error(`e2e: ${what} failed: ${(err as Error).message}`);
    }
  };
  try {
    if (opts.preload && has("preload") && opts.peers.some((p) => p !== "linux_bridge")) {
      env.flowsFile = join(runDir, "preload.flows");
      writeFlowsFile(env.flowsFile, opts.preload);
    }
    for (let k = 1; k <= opts.repeat; k++) {
      results.round = k;
      for (const peer of rotation(opts.peers, k))
        if (forwarding || (peer !== "linux_bridge" && env.flowsFile))
          await session(`${PEER_LABEL[peer]} (proactive)`, () => proactiveSession(peer, env));
      if (has("flowsetup"))
        for (const peer of rotation(opts.peers, k))
          if (peer === "ofswitch" || (peer === "ovs_netdev" && opts.ovsReactive))
            await session(`${PEER_LABEL[peer]} (reactive)`, () => reactiveSession(peer, env));
    }
  } finally {
    if (!opts.keepLogs && !failed) rmSync(runDir, { recursive: true, force: true });
    else console.error(`e2e: logs kept in ${runDir}`);
  }

  const lines = results.figures().map((f) => figureLine(f, results));
  const jsonl = lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
  const out = resolve(root, opts.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, jsonl);
  process.stdout.write(`\n${resultsTable(lines)}\n\n${jsonl}`);
  console.error(
    `e2e: ${lines.length} figures in ${clock(progress.elapsedSeconds())}; JSON lines in ${out}`,
  );

  const meta: RunMeta = {
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    command: opts.command,
    machine: [
      `${cpus().length} cores`,
      `load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end`,
      `Node ${process.version}`,
      `ofswitch ${revision()}`,
    ].join(", "),
    settings: settings(opts),
  };
  if (opts.docs) {
    writeEndToEndDocs(root, lines, meta);
    console.error("e2e: docs/performance.md (## End to end) and docs/e2e-ratios.svg rewritten");
  }
  if (opts.cpuProf) {
    const traffic = env.ofswitchTraffic;
    const file = traffic ? findProfile(opts.cpuProf, traffic.pid) : null;
    if (!traffic || !file)
      console.error(`e2e: no CPU profile of ofswitch found in ${opts.cpuProf}`);
    else {
      const summary = profileSummary(readProfile(file), traffic.frames, 15, root, traffic.fromUs);
      process.stdout.write(`\nProfile (${file}):\n\n${summary}\n`);
      if (opts.profileDocs) {
        writeProfileDocs(root, summary, meta);
        console.error("e2e: docs/performance.md (### Profile) rewritten");
      }
    }
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error & { code?: string; exitCode?: number }) => {
    // commander has already printed help or the usage error
    if (err.code?.startsWith("commander.")) process.exit(err.exitCode ?? 2);
    console.error(`e2e: ${err.message}`);
    process.exit(1);
  },
);
