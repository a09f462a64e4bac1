// Small helpers for integration tests on network namespaces, veths and an Open vSwitch userspace
// datapath run inside a namespace of its own. Everything created is recorded and undone by
// teardown(), in reverse order, whatever failed; processes are stopped by PID.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Why these tests cannot run here, or null when they can (root, ip netns, the binaries). */
export function missingPrerequisite(binaries: string[]): string | null {
  if (process.getuid?.() !== 0) return "not running as root";
  if (spawnSync("ip", ["netns", "list"]).status !== 0) return "ip netns is not available";
  for (const b of binaries) {
    if (spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0) return `${b} is not installed`;
  }
  return null;
}

export function sh(cmd: string, args: string[], timeoutMs = 10_000): string {
  return execFileSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, stdio: "pipe" });
}

export function inNs(ns: string, cmd: string, args: string[], timeoutMs = 10_000): string {
  return sh("ip", ["netns", "exec", ns, cmd, ...args], timeoutMs);
}

const execFileAsync = promisify(execFile);

/** As inNs, without blocking the event loop: for commands whose traffic an in-process
 * controller must answer while they run (ping, iperf3). */
export async function inNsAsync(
  ns: string,
  cmd: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<string> {
  const r = await execFileAsync("ip", ["netns", "exec", ns, cmd, ...args], {
    encoding: "utf8",
    timeout: timeoutMs,
  });
  return r.stdout;
}

export class Topology {
  private readonly undo: Array<() => void> = [];

  /** A unique short prefix for names (interface names are at most 15 characters). */
  readonly prefix = `oc${(process.pid % 10000).toString(36)}${Math.floor(Math.random() * 36 ** 2).toString(36)}`;

  addNamespace(suffix: string): string {
    const ns = `${this.prefix}${suffix}`;
    sh("ip", ["netns", "add", ns]);
    this.undo.push(() => sh("ip", ["netns", "del", ns]));
    inNs(ns, "ip", ["link", "set", "lo", "up"]);
    return ns;
  }

  /** A veth pair with `a` in nsA and `b` in nsB (null: the root namespace), up, offloads off
   * (TCP through the userspace datapath stalls with them on). */
  addVeth(a: string, nsA: string | null, b: string, nsB: string | null): void {
    sh("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
    // Deleting one end removes both; a namespace's deletion removes what is inside.
    this.undo.push(() => {
      if (spawnSync("ip", ["link", "show", a]).status === 0) sh("ip", ["link", "del", a]);
    });
    for (const [dev, ns] of [
      [a, nsA],
      [b, nsB],
    ] as const) {
      if (ns !== null) sh("ip", ["link", "set", dev, "netns", ns]);
      const run = (cmd: string, args: string[]) =>
        ns === null ? sh(cmd, args) : inNs(ns, cmd, args);
      run("ip", ["link", "set", dev, "up"]);
      run("ethtool", [
        "-K",
        dev,
        "tx",
        "off",
        "tso",
        "off",
        "gso",
        "off",
        "gro",
        "off",
        "rx",
        "off",
      ]);
    }
  }

  /** Registers an extra cleanup step (run before what was set up earlier). */
  onTeardown(fn: () => void): void {
    this.undo.push(fn);
  }

  teardown(): void {
    for (const fn of this.undo.splice(0).reverse()) {
      try {
        fn();
      } catch (err) {
        console.warn(`teardown step failed: ${(err as Error).message}`);
      }
    }
  }
}

function killPidFile(file: string): void {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    spawnSync("sleep", ["0.1"]);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

/** ovsdb-server + ovs-vswitchd (userspace datapath) inside namespace `ns`, with a run dir of
 * their own, stopped by PID at teardown. */
export class OvsInNamespace {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    topo: Topology,
    readonly ns: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `${topo.prefix}-ovs-`));
    const d = this.dir;
    this.env = { ...process.env, OVS_RUNDIR: d, OVS_DBDIR: d, OVS_LOGDIR: d, OVS_SYSCONFDIR: d };
    topo.onTeardown(() => rmSync(d, { recursive: true, force: true }));
    sh("ovsdb-tool", ["create", `${d}/conf.db`, "/usr/share/openvswitch/vswitch.ovsschema"]);
    topo.onTeardown(() => killPidFile(`${d}/ovsdb.pid`));
    this.exec("ovsdb-server", [
      `${d}/conf.db`,
      `--remote=punix:${d}/db.sock`,
      `--pidfile=${d}/ovsdb.pid`,
      "--detach",
      `--log-file=${d}/ovsdb.log`,
    ]);
    this.vsctl(["--no-wait", "init"]);
    topo.onTeardown(() => killPidFile(`${d}/vswitchd.pid`));
    this.exec("ovs-vswitchd", [
      `unix:${d}/db.sock`,
      `--pidfile=${d}/vswitchd.pid`,
      "--detach",
      `--log-file=${d}/vswitchd.log`,
    ]);
  }

  vsctl(args: string[]): string {
    return this.exec("ovs-vsctl", [`--db=unix:${this.dir}/db.sock`, "--timeout=10", ...args]);
  }

  ofctl(args: string[]): string {
    return this.exec("ovs-ofctl", args);
  }

  log(): string {
    const f = `${this.dir}/vswitchd.log`;
    return existsSync(f) ? readFileSync(f, "utf8") : "";
  }

  private exec(cmd: string, args: string[]): string {
    return execFileSync("ip", ["netns", "exec", this.ns, cmd, ...args], {
      encoding: "utf8",
      env: this.env,
      timeout: 15_000,
      stdio: "pipe",
    });
  }
}
