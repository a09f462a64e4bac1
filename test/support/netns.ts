// Hosts in network namespaces on veth pairs, for integration tests. Each topology uses a
// unique name prefix; teardown() removes everything it made and kills every process it
// started (by PID) and is safe to call after a failed setup. Commands run asynchronously:
// a switch in the test process must keep forwarding while a host pings through it.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";

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
  kill(): void;
}

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

/** Warns loudly (the suite must not pass silently without its integration tests). */
export function warnSkip(file: string, reason: string): void {
  console.warn(`\n!!! SKIPPING ${file}: ${reason}: integration tests did not run !!!\n`);
}

export function run(cmd: string, timeoutMs = 10_000): Promise<RunResult> {
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

function sh(cmd: string): void {
  execFileSync("sh", ["-c", cmd], { stdio: "pipe", timeout: 10_000 });
}

export class Topology {
  readonly hosts: NetnsHost[] = [];
  private readonly procs: SpawnHandle[] = [];

  private constructor(readonly prefix: string) {}

  /**
   * Creates `n` hosts named PREFIX-hI in namespaces, each on a veth pair whose switch end
   * (PREFIX-I-s, left in this namespace, up) the caller attaches to the switch.
   * `prefix`: at most 8 characters, unique per test file.
   */
  static create(prefix: string, n: number, subnet = 10 + (hash(prefix) % 200)): Topology {
    if (prefix.length > 8) throw new Error("prefix too long for interface names");
    const t = new Topology(prefix);
    try {
      t.cleanupLeftovers();
      for (let i = 1; i <= n; i++) {
        const ns = `${prefix}-h${i}`;
        const switchIf = `${prefix}-${i}s`;
        const hostIf = `${prefix}-${i}h`;
        const ip = `10.${subnet}.0.${i}`;
        sh(`ip netns add ${ns}`);
        t.hosts.push({ ns, hostIf, switchIf, ip, mac: "" });
        sh(`ip link add ${switchIf} type veth peer name ${hostIf}`);
        sh(`ip link set ${hostIf} netns ${ns}`);
        sh(`ip -n ${ns} addr add ${ip}/24 dev ${hostIf}`);
        sh(
          `ip -n ${ns} link set lo up && ip -n ${ns} link set ${hostIf} up && ip link set ${switchIf} up`,
        );
        // No IPv6 chatter (router solicitations, DAD) to disturb counters.
        sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`);
        sh(`sysctl -qw net.ipv6.conf.${switchIf}.disable_ipv6=1`);
        t.hosts[i - 1].mac = execFileSync(
          "ip",
          ["netns", "exec", ns, "cat", `/sys/class/net/${hostIf}/address`],
          {
            encoding: "utf8",
          },
        ).trim();
      }
    } catch (e) {
      t.teardown();
      throw e;
    }
    return t;
  }

  /** Runs `cmd` (sh syntax) inside host `i`'s namespace (0-based). */
  runIn(i: number, cmd: string, timeoutMs = 10_000): Promise<RunResult> {
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
    const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
    for (const m of links.matchAll(/^\d+: ([^:@]+)[:@]/gm)) {
      if (m[1].startsWith(`${this.prefix}-`)) {
        try {
          sh(`ip link del ${m[1]}`);
        } catch {
          // deleting one end of a veth removes the other
        }
      }
    }
    const nss = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
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

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h;
}
