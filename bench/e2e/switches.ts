// Starting and stopping each switch under test inside the topology's switch namespace.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PeerId } from "./figures.js";
import { type OfTarget, ofctl } from "./ofctl.js";
import { type Background, inNs, run, type Teardown, waitFor } from "./proc.js";
import type { Topology } from "./topology.js";

export interface SwitchUnderTest {
  peer: PeerId;
  /** Processes whose CPU time is the switch's (none for the kernel's bridge). */
  pids: number[];
  /** The process whose peak RSS is reported. */
  rssPid?: number;
  /** How ovs-ofctl reaches it (absent for the bridge). */
  of?: OfTarget;
  /** False once a process of it has exited: what it measured since then is no figure. */
  running(): boolean;
  stop(): Promise<void>;
}

export type Mode = { kind: "proactive" } | { kind: "reactive"; controllerPort: number };

export async function startLinuxBridge(topo: Topology): Promise<SwitchUnderTest> {
  const br = `${topo.prefix}-br`;
  const ip = (...args: string[]) => run(["ip", "-n", topo.switchNs, ...args], { timeoutMs: 5000 });
  await ip("link", "add", "name", br, "type", "bridge");
  for (const port of topo.switchIfs) await ip("link", "set", port, "master", br);
  await ip("link", "set", br, "up");
  // Deleted with the switch namespace.
  return { peer: "linux_bridge", pids: [], running: () => true, stop: async () => {} };
}

export interface OfswitchOptions {
  root: string;
  runDir: string;
  listenPort: number;
  mode: Mode;
  /** Extra node flags (e.g. --cpu-prof --cpu-prof-dir=DIR). */
  nodeFlags: string[];
}

/** `node dist/src/cli.js -i S1 -i S2 -l ptcp:PORT:127.0.0.1 --fail-mode secure [-c tcp:...]`. */
export function ofswitchArgv(topo: Topology, o: OfswitchOptions): string[] {
  const argv = [process.execPath, ...o.nodeFlags, join(o.root, "dist/src/cli.js")];
  for (const port of topo.switchIfs) argv.push("-i", port);
  argv.push("-l", `ptcp:${o.listenPort}:127.0.0.1`, "--fail-mode", "secure", "--log-level", "warn");
  // Open vSwitch puts no limit on packet-ins by default (controller_rate_limit unset): nor here.
  if (o.mode.kind === "reactive")
    argv.push("-c", `tcp:127.0.0.1:${o.mode.controllerPort}`, "--packet-in-rate", "0");
  return argv;
}

export async function startOfswitch(
  topo: Topology,
  teardown: Teardown,
  o: OfswitchOptions,
): Promise<SwitchUnderTest> {
  const cli = join(o.root, "dist/src/cli.js");
  if (!existsSync(cli))
    throw new Error(`${cli} is missing: the ofswitch daemon is not built (npx tsc -p .)`);
  const logFile = join(o.runDir, "ofswitch.log");
  const proc = teardown.start("ofswitch", inNs(topo.switchNs, ofswitchArgv(topo, o)), { logFile });
  const of: OfTarget = { ns: topo.switchNs, target: `tcp:127.0.0.1:${o.listenPort}` };
  await waitUp(
    "ofswitch",
    proc,
    () => ofctl(of, "show", [], 3000).then(() => true),
    20_000,
    logFile,
  );
  return {
    peer: "ofswitch",
    pids: [proc.pid],
    rssPid: proc.pid,
    of,
    running: () => proc.running,
    // SIGINT lets node write its CPU profile on the way out; allow it time.
    stop: () => proc.stop("SIGINT", 15_000),
  };
}

async function waitUp(
  what: string,
  proc: Background,
  probe: () => Promise<boolean>,
  ms: number,
  log: string,
) {
  await waitFor(
    `${what} to answer`,
    async () => {
      if (!proc.running) throw new Error(`${what} exited early; see ${log}`);
      return probe();
    },
    ms,
    200,
  ).catch((err: Error) => {
    throw new Error(`${err.message}${proc.running ? "" : ` (${what} exited; log: ${log})`}`);
  });
}

export interface OvsOptions {
  runDir: string;
  mode: Mode;
}

/**
 * ovsdb-server and ovs-vswitchd in the harness's own run directory and switch namespace (the
 * userspace datapath's `ovs-netdev` tap then lives there too), started in the foreground so
 * their PIDs are ours; bridge br0 with datapath_type=netdev, fail_mode=secure, OpenFlow10.
 */
export async function startOvs(
  topo: Topology,
  teardown: Teardown,
  o: OvsOptions,
): Promise<SwitchUnderTest> {
  const d = join(o.runDir, "ovs");
  mkdirSync(d, { recursive: true });
  const env = { ...process.env, OVS_RUNDIR: d, OVS_DBDIR: d, OVS_LOGDIR: d, OVS_SYSCONFDIR: d };
  const db = join(d, "conf.db");
  const sock = `unix:${join(d, "db.sock")}`;
  await run(["ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema"], {
    timeoutMs: 10_000,
    env,
  });
  const ovsdb = teardown.start(
    "ovsdb-server",
    inNs(topo.switchNs, [
      "ovsdb-server",
      db,
      `--remote=p${sock}`,
      `--pidfile=${d}/ovsdb.pid`,
      `--log-file=${d}/ovsdb.log`,
    ]),
    { env, logFile: join(d, "ovsdb.out") },
  );
  const vsctl = (...args: string[]) =>
    run(["ovs-vsctl", `--db=${sock}`, "--timeout=20", ...args], { timeoutMs: 25_000, env });
  await waitUp(
    "ovsdb-server",
    ovsdb,
    () => vsctl("--no-wait", "init").then(() => true),
    10_000,
    `${d}/ovsdb.log`,
  );
  const vswitchd = teardown.start(
    "ovs-vswitchd",
    inNs(topo.switchNs, [
      "ovs-vswitchd",
      sock,
      `--pidfile=${d}/vswitchd.pid`,
      `--log-file=${d}/vswitchd.log`,
    ]),
    { env, logFile: join(d, "vswitchd.out") },
  );
  const [s1, s2] = topo.switchIfs;
  await vsctl(
    ...[
      "add-br",
      "br0",
      "--",
      "set",
      "bridge",
      "br0",
      "datapath_type=netdev",
      "protocols=OpenFlow10",
      "fail_mode=secure",
    ],
    ...["--", "add-port", "br0", s1, "--", "set", "Interface", s1, "ofport_request=1"],
    ...["--", "add-port", "br0", s2, "--", "set", "Interface", s2, "ofport_request=2"],
  );
  if (o.mode.kind === "reactive")
    await vsctl("set-controller", "br0", `tcp:127.0.0.1:${o.mode.controllerPort}`);
  const of: OfTarget = { ns: topo.switchNs, target: "br0", env };
  await waitUp(
    "ovs-vswitchd",
    vswitchd,
    () => ofctl(of, "show", [], 3000).then(() => true),
    20_000,
    `${d}/vswitchd.log`,
  );
  return {
    peer: "ovs_netdev",
    pids: [vswitchd.pid, ovsdb.pid],
    rssPid: vswitchd.pid,
    of,
    running: () => vswitchd.running && ovsdb.running,
    stop: async () => {
      await vswitchd.stop();
      await ovsdb.stop();
    },
  };
}

/** Is something listening on TCP `port` inside `ns`? */
export async function listening(ns: string, port: number): Promise<boolean> {
  const r = await run(inNs(ns, ["ss", "-Hltn", `sport = :${port}`]), { timeoutMs: 3000 });
  return r.stdout.trim().length > 0;
}

/** ovs-testcontroller, the learning controller that installs exact-match flows, in `ns`. */
export async function startTestController(
  ns: string,
  port: number,
  teardown: Teardown,
  runDir: string,
) {
  const logFile = join(runDir, "testcontroller.log");
  // Its control socket goes to OVS_RUNDIR: keep it out of the system's /var/run/openvswitch.
  const env = { ...process.env, OVS_RUNDIR: runDir, OVS_LOGDIR: runDir };
  const argv = inNs(ns, ["ovs-testcontroller", "-O", "OpenFlow10", `ptcp:${port}:127.0.0.1`]);
  const proc = teardown.start("ovs-testcontroller", argv, { env, logFile });
  await waitUp("ovs-testcontroller", proc, () => listening(ns, port), 10_000, logFile);
  return proc;
}
