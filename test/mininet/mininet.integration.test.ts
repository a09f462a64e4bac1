// ofswitch as a Mininet switch (contrib/mininet/ofswitch.py), through Mininet's Python API
// (test/mininet/driver.py) and through `mn` itself: tree depth 2 fanout 2 and linear 4, under
// ovs-testcontroller (Mininet's OVSController) and in fail mode standalone without a controller:
// pingAll() loses nothing and iperf3 between the two farthest hosts moves data.
//
// Isolation: Mininet names switch interfaces NAME-ethN in the root namespace, so every switch
// name starts with this process's prefix; dpids and the controller port are ours too, and every
// file goes to a directory of ours. Mininet's own cleanup (mn -c) kills by name and is never
// run: afterEach stops what a failed run left by the PIDs in that directory and deletes only
// links with our prefix. The scenarios run one after another in this file.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ROOT, ensureBuilt, freePort } from "../support/daemon.js";
import { labPrefix } from "../support/netns.js";
import { afpacketMissing, firstMissing, programsMissing, skipWithout } from "../support/prereq.js";

const PYTHON = "/usr/bin/python3"; // Debian's, which has the mininet module
const DRIVER = join(ROOT, "test/mininet/driver.py");
const RUN_TIMEOUT_MS = 120_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mininetMissing(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import mininet.net"], { timeout: 10_000 });
  return r.status === 0
    ? undefined
    : "Mininet's Python module is not installed (apt-get install mininet)";
}

const skip = skipWithout(
  import.meta.url,
  firstMissing(
    afpacketMissing(),
    programsMissing("mn", "mnexec", "ovs-testcontroller", "iperf3", "telnet", PYTHON),
    mininetMissing(),
  ),
);

interface RunOutput {
  code: number | null;
  output: string;
}

/** Runs `cmd`; on timeout SIGTERM (the driver unwinds through net.stop()), then SIGKILL. */
function runBounded(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunOutput> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const term = setTimeout(() => child.kill("SIGTERM"), RUN_TIMEOUT_MS);
    const kill = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS + 20_000);
    child.on("exit", (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, output });
    });
  });
}

/** Links in the root namespace whose names start with `prefix`. */
function linksWithPrefix(prefix: string): string[] {
  const out = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8", timeout: 10_000 }).stdout;
  return [...out.matchAll(/^\d+: ([^:@\s]+)/gm)]
    .map((m) => m[1])
    .filter((n) => n.startsWith(prefix));
}

/** PIDs recorded in `dir` (NAME.pid) whose process is still alive. */
function livePids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".pid"))
    .map((f) => Number(readFileSync(join(dir, f), "utf8").trim()))
    .filter((pid) => pid > 0 && existsSync(`/proc/${pid}`));
}

interface DriverResult {
  startSeconds: number;
  connected?: boolean;
  switches: string[];
  dpids: string[];
  ploss: number;
  iperfPair: string[];
  iperf: { error?: string; seconds?: number; bytes?: number; bitsPerSecond?: number };
  status: Record<
    string,
    { controllers: { kind: string; sessions: number; packetInsSent: number }[] } | null
  >;
  flap?: { lossWhileDown: number; secondsToRecover: number; plossAfter: number };
  error?: string;
  stopped: boolean;
}

describe.skipIf(skip)("ofswitch as a Mininet switch", () => {
  const base = labPrefix("m"); // m + pid: switch names like m12345as1, interfaces m12345as1-eth3
  let dir = "";
  let runs = 0;
  let prefix = "";

  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), "ofswitch-mininet-test-"));
  });

  afterEach(() => {
    // Whatever a failed run left: our processes by PID, our links by prefix.
    const runDir = join(dir, prefix);
    for (const pid of livePids(runDir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    for (const link of linksWithPrefix(prefix)) {
      spawnSync("ip", ["link", "del", link], { timeout: 10_000 });
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh prefix, dpid range and directory for one run. */
  function nextRun(): { prefix: string; dpidBase: number; runDir: string } {
    runs++;
    prefix = `${base}${String.fromCharCode(96 + runs)}`;
    const dpidBase = ((process.pid % 100000) << 12) + (runs << 8);
    return { prefix, dpidBase, runDir: join(dir, prefix) };
  }

  async function drive(
    topo: "tree" | "linear",
    mode: "controller" | "standalone",
    ...extra: string[]
  ): Promise<{
    r: DriverResult;
    code: number | null;
    output: string;
    runDir: string;
    prefix: string;
  }> {
    const run = nextRun();
    const args = [
      DRIVER,
      ...["--topo", topo, "--mode", mode, "--prefix", run.prefix],
      ...["--dpid-base", String(run.dpidBase), "--dir", run.runDir],
      ...extra,
    ];
    if (mode === "controller") args.push("--controller-port", String(await freePort()));
    const { code, output } = await runBounded(PYTHON, args);
    const line = output.split("\n").find((l) => l.startsWith("RESULT "));
    expect(line, `driver exited ${code}:\n${output}`).toBeDefined();
    const r = JSON.parse((line as string).slice(7)) as DriverResult;
    return { r, code, output, runDir: run.runDir, prefix: run.prefix };
  }

  async function scenario(topo: "tree" | "linear", mode: "controller" | "standalone") {
    const { r, code, output, ...run } = await drive(topo, mode, "--flap");
    const logs = r.switches.map((s) => readFileSync(join(run.runDir, `${s}.log`), "utf8"));
    const context = `${JSON.stringify(r, null, 1)}\n${output}\n${logs.join("\n")}`;
    expect(code, context).toBe(0);
    // The dpids Mininet assigned are the ones the switches run with.
    for (const [i, s] of r.switches.entries()) {
      expect(logs[i], context).toContain(`"dpid":"${r.dpids[i]}"`);
      expect(s.startsWith(run.prefix)).toBe(true);
    }
    if (mode === "controller") {
      expect(r.connected, context).toBe(true);
      // Reactive forwarding: the controller saw the first packets of every switch.
      for (const s of r.switches) {
        const ctl = r.status[s]?.controllers.find((c) => c.kind === "active");
        expect(ctl?.packetInsSent, context).toBeGreaterThan(0);
      }
    }
    expect(r.ploss, context).toBe(0);
    expect(r.iperfPair).toEqual(["h1", "h4"]);
    expect(r.iperf.error, context).toBeUndefined();
    expect(r.iperf.bytes ?? 0, context).toBeGreaterThan(1_000_000);
    // A link on that path down: nothing passes; up again: everything does.
    expect(r.flap?.lossWhileDown, context).toBe(100);
    expect(r.flap?.secondsToRecover, context).toBeLessThan(15);
    expect(r.flap?.plossAfter, context).toBe(0);
    // Stopped by PID, nothing left behind.
    expect(r.stopped, context).toBe(true);
    expect(livePids(run.runDir)).toEqual([]);
    expect(linksWithPrefix(run.prefix)).toEqual([]);
    for (const log of logs) expect(log).toMatch(/"msg":"shutting down"/);
    return r;
  }

  it("tree depth 2 fanout 2 under ovs-testcontroller (OVSController)", async () => {
    const r = await scenario("tree", "controller");
    expect(r.switches).toHaveLength(3);
  }, 180_000);

  it("linear 4 under ovs-testcontroller (OVSController)", async () => {
    const r = await scenario("linear", "controller");
    expect(r.switches).toHaveLength(4);
  }, 180_000);

  it("tree depth 2 fanout 2 in fail mode standalone, no controller", async () => {
    const r = await scenario("tree", "standalone");
    expect(r.switches).toHaveLength(3);
  }, 180_000);

  it("linear 4 in fail mode standalone, no controller", async () => {
    const r = await scenario("linear", "standalone");
    expect(r.switches).toHaveLength(4);
  }, 180_000);

  it("a switch that cannot start: Mininet says why (its log), and nothing is left running", async () => {
    const { r, runDir, prefix } = await drive("linear", "standalone", "--opts=--bogus");
    expect(r.error).toMatch(/s1: ofswitch exited \(status 2\); its log, .*s1\.log:/);
    expect(r.error).toContain("ofswitch: unknown option '--bogus' (see ofswitch --help)");
    expect(r.stopped).toBe(true);
    expect(livePids(runDir)).toEqual([]);
    expect(linksWithPrefix(prefix)).toEqual([]);
  }, 180_000);

  it("the Mininet process killed (SIGKILL): its switches get SIGTERM and exit", async () => {
    const run = nextRun();
    const child = spawn(
      PYTHON,
      [
        DRIVER,
        ...["--topo", "tree", "--mode", "standalone", "--prefix", run.prefix],
        ...["--dpid-base", String(run.dpidBase), "--dir", run.runDir, "--hold"],
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise((r) => child.on("exit", r));
    try {
      for (let i = 0; i < 600 && !output.includes("STARTED "); i++) await sleep(100);
      expect(output).toContain("STARTED ");
      const pids = JSON.parse(/STARTED (.*)/.exec(output)?.[1] ?? "[]") as number[];
      expect(pids).toHaveLength(3);
      expect(livePids(run.runDir).sort()).toEqual([...pids].sort());
      child.kill("SIGKILL");
      await exited;
      for (let i = 0; i < 100 && pids.some((p) => existsSync(`/proc/${p}`)); i++) await sleep(100);
      expect(pids.filter((p) => existsSync(`/proc/${p}`))).toEqual([]);
      // They shut down cleanly (SIGTERM), not killed.
      for (const s of ["s1", "s2", "s3"]) {
        expect(readFileSync(join(run.runDir, `${run.prefix}${s}.log`), "utf8")).toMatch(
          /"signal":"SIGTERM","msg":"shutting down"/,
        );
      }
    } finally {
      child.kill("SIGKILL");
    }
  }, 180_000);

  it("mn --custom contrib/mininet/ofswitch.py --switch ofswitch ... --test pingall", async () => {
    const run = nextRun();
    const port = await freePort();
    const { code, output } = await runBounded(
      "mn",
      [
        "--custom",
        "contrib/mininet/ofswitch.py,test/mininet/isolated.py",
        "--switch",
        "ofswitch,logLevel=debug",
        "--controller",
        `ovsc,port=${port}`,
        "--nolistenport",
        "--topo",
        "prefixed,tree",
        "--test",
        "pingall",
      ],
      {
        OFSWITCH_TEST_PREFIX: run.prefix,
        OFSWITCH_TEST_DPID_BASE: String(run.dpidBase),
        OFSWITCH_MININET_DIR: run.runDir,
      },
    );
    expect(code, output).toBe(0);
    expect(output).toContain("*** Results: 0% dropped (12/12 received)");
    expect(output).not.toContain("mn wanted its cleanup");
    const logs = readdirSync(run.runDir).filter((f) => f.endsWith(".log"));
    expect(logs.sort()).toEqual([
      `${run.prefix}s1.log`,
      `${run.prefix}s2.log`,
      `${run.prefix}s3.log`,
    ]);
    const log = readFileSync(join(run.runDir, logs[0]), "utf8");
    expect(log).toMatch(/"msg":"session established \(OpenFlow 1\.0\)"/);
    expect(log).toMatch(/"level":20/); // logLevel=debug reached the switch
    expect(livePids(run.runDir)).toEqual([]);
    expect(linksWithPrefix(run.prefix)).toEqual([]);
  }, 180_000);
});
