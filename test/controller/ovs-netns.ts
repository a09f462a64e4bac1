// Open vSwitch (userspace datapath) in a network namespace of its own, for integration tests whose
// hosts come from test/support/netns.ts: the hosts' switch-side veth ends are moved into the OVS
// namespace, and a veth links it to this namespace so that a controller in the test process can
// be reached (ovs-vswitchd's 127.0.0.1 is its namespace's loopback). teardown() stops the daemons
// by PID and removes everything it made, whatever failed.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The OVS programs the test needs, or the first one missing. */
export function missingOvs(): string | undefined {
  for (const b of ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "iperf3", "ethtool"]) {
    if (spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0) return `${b} is not installed`;
  }
  return undefined;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", timeout: 15_000, stdio: "pipe" });
}

/** TSO/GSO/GRO and checksum offload off: TCP through the userspace datapath stalls with them. */
export function offloadsOff(ns: string | null, ifName: string): void {
  const args = ["-K", ifName, "tx", "off", "tso", "off", "gso", "off", "gro", "off", "rx", "off"];
  if (ns === null) sh("ethtool", args);
  else sh("ip", ["netns", "exec", ns, "ethtool", ...args]);
}

function stopPidFile(file: string): void {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 50 && alive(); i++) spawnSync("sleep", ["0.1"]);
  if (alive()) process.kill(pid, "SIGKILL");
}

export class OvsNamespace {
  readonly ns: string;
  readonly dir: string;
  /** The controller-side address (this namespace) and the switch-side one. */
  readonly hostIp: string;
  readonly ovsIp: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly undo: Array<() => void> = [];

  /** `prefix`: unique per test file, at most 8 characters; `subnet`: "A.B.C" for a /30. */
  constructor(prefix: string, subnet: string) {
    this.ns = `${prefix}-ovs`;
    this.hostIp = `${subnet}.1`;
    this.ovsIp = `${subnet}.2`;
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}-ovs-`));
    const d = this.dir;
    this.env = { ...process.env, OVS_RUNDIR: d, OVS_DBDIR: d, OVS_LOGDIR: d, OVS_SYSCONFDIR: d };
    try {
      this.undo.push(() => rmSync(d, { recursive: true, force: true }));
      sh("ip", ["netns", "add", this.ns]);
      this.undo.push(() => sh("ip", ["netns", "del", this.ns]));
      this.exec("ip", ["link", "set", "lo", "up"]);
      const [out, inside] = [`${prefix}-c0`, `${prefix}-c1`];
      sh("ip", ["link", "add", out, "type", "veth", "peer", "name", inside]);
      this.undo.push(() => {
        if (spawnSync("ip", ["link", "show", out]).status === 0) sh("ip", ["link", "del", out]);
      });
      sh("ip", ["link", "set", inside, "netns", this.ns]);
      sh("ip", ["addr", "add", `${this.hostIp}/30`, "dev", out]);
      sh("ip", ["link", "set", out, "up"]);
      this.exec("ip", ["addr", "add", `${this.ovsIp}/30`, "dev", inside]);
      this.exec("ip", ["link", "set", inside, "up"]);

      sh("ovsdb-tool", ["create", `${d}/conf.db`, "/usr/share/openvswitch/vswitch.ovsschema"]);
      this.undo.push(() => stopPidFile(`${d}/ovsdb.pid`));
      this.exec("ovsdb-server", [
        `${d}/conf.db`,
        `--remote=punix:${d}/db.sock`,
        `--pidfile=${d}/ovsdb.pid`,
        "--detach",
        `--log-file=${d}/ovsdb.log`,
      ]);
      this.vsctl(["--no-wait", "init"]);
      this.undo.push(() => stopPidFile(`${d}/vswitchd.pid`));
      this.exec("ovs-vswitchd", [
        `unix:${d}/db.sock`,
        `--pidfile=${d}/vswitchd.pid`,
        "--detach",
        `--log-file=${d}/vswitchd.log`,
      ]);
    } catch (err) {
      this.teardown();
      throw err;
    }
  }

  /** Moves `ifName` (a veth end in this namespace) into the OVS namespace, up, offloads off. */
  adopt(ifName: string): void {
    sh("ip", ["link", "set", ifName, "netns", this.ns]);
    this.exec("ip", ["link", "set", ifName, "up"]);
    offloadsOff(this.ns, ifName);
  }

  /**
   * Bridge br0 on the userspace datapath, OpenFlow 1.0 only, fail_mode secure, listening for
   * controllers on ptcp:6653 at ovsIp; `ports` (adopted already) become OpenFlow ports 1, 2, ...
   * in order.
   */
  addOf10Bridge(ports: string[] = []): void {
    this.vsctl(["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"]);
    this.vsctl(["set", "bridge", "br0", "protocols=OpenFlow10", "fail_mode=secure"]);
    for (const [i, ifName] of ports.entries()) {
      this.vsctl([
        "add-port",
        "br0",
        ifName,
        "--",
        "set",
        "Interface",
        ifName,
        `ofport_request=${i + 1}`,
      ]);
    }
    this.vsctl(["set-controller", "br0", `ptcp:6653:${this.ovsIp}`]);
  }

  vsctl(args: string[]): string {
    return this.exec("ovs-vsctl", [`--db=unix:${this.dir}/db.sock`, "--timeout=10", ...args]);
  }

  ofctl(args: string[]): string {
    return this.exec("ovs-ofctl", args);
  }

  /** TCP ports listening on `ip` inside the namespace (e.g. a ptcp:0 that Open vSwitch bound). */
  listeningPorts(ip: string): number[] {
    return this.exec("ss", ["-ltnH"])
      .split("\n")
      .map((line) => line.trim().split(/\s+/)[3] ?? "")
      .filter((local) => local.startsWith(`${ip}:`))
      .map((local) => Number(local.slice(ip.length + 1)));
  }

  teardown(): void {
    for (const fn of this.undo.splice(0).reverse()) {
      try {
        fn();
      } catch (err) {
        console.warn(`OVS teardown step failed: ${(err as Error).message}`);
      }
    }
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
