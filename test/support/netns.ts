// Hosts in network namespaces on veth pairs, for integration tests and port benchmarks. Each
// topology uses a unique name prefix; every command is bounded by a timeout; teardown() removes
// everything it made and kills every process it started (by PID) and is safe to call after a
// failed setup, and twice. runIn/spawnIn are asynchronous: a switch in the test process must keep
// forwarding while a host pings through it; runSync/exec are for setup and for tests whose
// switch runs in another process or thread.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { waitListening } from "./daemon.js";

export interface NetnsHost {
  /** Namespace name. */
  ns: string;
  /** The veth end inside the namespace, and the one left to the switch. */
  hostIf: string;
  switchIf: string;
  /** 10.x.y.(index+1), /24. */
  ip: string;
  mac: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnHandle {
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when killed) or undefined after timeoutMs. */
  wait(timeoutMs: number): Promise<number | null | undefined>;
  /** Resolves once the process listens on TCP `port` (bounded; rejects if it exits first). */
  waitListening(port: number, timeoutMs?: number): Promise<void>;
  kill(): void;
}

const TIMEOUT_MS = 10_000;

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not running as root";
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore", timeout: 5000 });
  } catch {
    return "`ip netns` is not available";
  }
  return undefined;
}

/** A short prefix unique to this process (interface names are limited to 15 bytes). */
export function labPrefix(tag: string): string {
  return `${tag}${process.pid % 100000}`;
}

export function run(cmd: string, timeoutMs = TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      "sh",
      ["-c", cmd],
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Runs a program synchronously and returns its stdout; throws on failure or timeout. */
export function runSync(cmd: string, args: string[], timeout = TIMEOUT_MS): string {
  return execFileSync(cmd, args, { encoding: "utf8", timeout, stdio: ["ignore", "pipe", "pipe"] });
}

function sh(cmd: string): void {
  runSync("sh", ["-c", cmd]);
}

export class Topology {
  readonly hosts: NetnsHost[] = [];
  private readonly procs: SpawnHandle[] = [];

  /**
   * An empty topology: add hosts with addHost and bare veths with addVethPair.
   * `prefix`: at most 8 characters, unique per test file (or labPrefix); hosts get 10.SUBNET.0.I/24.
   */
  constructor(
    readonly prefix: string,
    private readonly subnet = 10 + (hash(prefix) % 200),
  ) {
    if (prefix.length > 8) throw new Error("prefix too long for interface names");
  }

  /**
   * Creates `n` hosts (see addHost) after removing what a crashed earlier run with this prefix
   * left behind.
   */
  static create(prefix: string, n: number, subnet?: number): Topology {
    const t = new Topology(prefix, subnet);
    try {
      t.cleanupLeftovers();
      for (let i = 1; i <= n; i++) t.addHost(i);
    } catch (e) {
      t.teardown();
      throw e;
    }
    return t;
  }

  /**
   * Host `index` (1-based) in namespace PREFIX-hI with MAC 02:77:00:00:SUBNET:I on a veth pair
   * whose switch end (PREFIX-Is, left in this namespace, up) the caller attaches to the switch.
   */
  addHost(index: number): NetnsHost {
    const ns = `${this.prefix}-h${index}`;
    const switchIf = `${this.prefix}-${index}s`;
    const hostIf = `${this.prefix}-${index}h`;
    const ip = `10.${this.subnet}.0.${index}`;
    const mac = `02:77:00:00:${hex2(this.subnet)}:${hex2(index)}`;
    sh(`ip netns add ${ns}`);
    const host = { ns, hostIf, switchIf, ip, mac };
    this.hosts.push(host);
    // No IPv6 chatter (router solicitations, DAD) to disturb counters.
    sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`);
    sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.default.disable_ipv6=1`);
    sh(`ip -n ${ns} link set lo up`);
    this.plug(host);
    sh(`sysctl -qw net.ipv6.conf.${switchIf}.disable_ipv6=1`);
    return host;
  }

  /**
   * Host `i`'s veth pair again (0-based), as after `ip link del` of its switch end: same names,
   * host MAC and address, both ends up; the switch end gets a new MAC and ifindex, and IPv6
   * left on (whoever owns the switch end decides).
   */
  replug(i: number): void {
    this.plug(this.hosts[i]);
  }

  /** Deletes host `i`'s veth pair (both ends). */
  unplug(i: number): void {
    sh(`ip link del ${this.hosts[i].switchIf}`);
  }

  private plug(h: NetnsHost): void {
    sh(`ip link add ${h.switchIf} type veth peer name ${h.hostIf} netns ${h.ns}`);
    sh(`ip -n ${h.ns} link set ${h.hostIf} address ${h.mac}`);
    sh(`ip -n ${h.ns} addr add ${h.ip}/24 dev ${h.hostIf}`);
    sh(`ip -n ${h.ns} link set ${h.hostIf} up && ip link set ${h.switchIf} up`);
  }

  /** A bare veth pair PREFIX-SUFFIXa/b in this namespace (both ends up, no IPv6). */
  addVethPair(suffix: string): [string, string] {
    const a = `${this.prefix}-${suffix}a`;
    const b = `${this.prefix}-${suffix}b`;
    sh(`ip link add ${a} type veth peer name ${b}`);
    for (const dev of [a, b])
      sh(`sysctl -qw net.ipv6.conf.${dev}.disable_ipv6=1 && ip link set ${dev} up`);
    return [a, b];
  }

  /** ethtool -K on both ends of every host's veth: no checksum offload, TSO, GSO or GRO. */
  offloadsOff(): void {
    const off = ["tx", "off", "tso", "off", "gso", "off", "gro", "off", "rx", "off"];
    for (const h of this.hosts) {
      this.exec(h, "ethtool", ["-K", h.hostIf, ...off]);
      runSync("ethtool", ["-K", h.switchIf, ...off]);
    }
  }

  /** Static ARP entries between all hosts, so no test or bench depends on ARP timing. */
  staticArp(): void {
    for (const a of this.hosts)
      for (const b of this.hosts)
        if (a !== b) sh(`ip -n ${a.ns} neigh replace ${b.ip} lladdr ${b.mac} dev ${a.hostIf}`);
  }

  /** Runs a program synchronously inside a host's namespace and returns its stdout. */
  exec(host: NetnsHost, cmd: string, args: string[], timeout = TIMEOUT_MS): string {
    return runSync("ip", ["netns", "exec", host.ns, cmd, ...args], timeout);
  }

  /** Runs `cmd` (sh syntax) inside host `i`'s namespace (0-based). */
  runIn(i: number, cmd: string, timeoutMs = TIMEOUT_MS): Promise<RunResult> {
    return run(
      `ip netns exec ${this.hosts[i].ns} sh -c '${cmd.replace(/'/g, `'\\''`)}'`,
      timeoutMs,
    );
  }

  /** Starts a long-running process in host `i`'s namespace; killed by PID at teardown. */
  spawnIn(i: number, cmd: string, args: string[]): SpawnHandle {
    const child = spawn("ip", ["netns", "exec", this.hosts[i].ns, cmd, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    const handle: SpawnHandle = {
      pid: child.pid ?? -1,
      child,
      output: () => out,
      wait: (timeoutMs) =>
        Promise.race([
          exited,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref()),
        ]),
      waitListening: (port, timeoutMs) =>
        waitListening(
          child.pid ?? -1,
          port,
          () => child.exitCode !== null || child.signalCode !== null,
          () => out,
          timeoutMs,
        ),
      kill: () => {
        // `ip netns exec` execs the command, so this PID is the process itself.
        if (child.exitCode === null && child.pid !== undefined) {
          try {
            process.kill(child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      },
    };
    this.procs.push(handle);
    return handle;
  }

  teardown(): void {
    for (const p of this.procs) p.kill();
    this.procs.length = 0;
    this.cleanupLeftovers();
    this.hosts.length = 0;
  }

  /** Deletes whatever a crashed earlier run with this prefix left behind. */
  private cleanupLeftovers(): void {
    const links = runSync("ip", ["-o", "link", "show"]);
    for (const m of links.matchAll(/^\d+: ([^:@]+)[:@]/gm)) {
      if (m[1].startsWith(`${this.prefix}-`)) {
        try {
          sh(`ip link del ${m[1]}`);
        } catch {
          // deleting one end of a veth removes the other
        }
      }
    }
    const nss = runSync("ip", ["netns", "list"]);
    for (const line of nss.split("\n")) {
      const ns = line.split(" ")[0];
      if (ns.startsWith(`${this.prefix}-h`)) {
        try {
          sh(`ip netns pids ${ns} | xargs -r kill -9; ip netns del ${ns}`);
        } catch {
          // best effort
        }
      }
    }
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h;
}
