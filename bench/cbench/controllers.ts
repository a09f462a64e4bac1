// The controllers the benchmark compares, each started as a process of its own listening on
// 127.0.0.1, and stopped by PID.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ControllerSpec {
  name: string;
  /** Why it cannot run here, or null. */
  missing(): string | null;
  /** The command line listening on 127.0.0.1:port. */
  command(port: number, runDir: string): { cmd: string; args: string[]; env?: NodeJS.ProcessEnv };
}

function onPath(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
}

export const CONTROLLERS: Record<string, ControllerSpec> = {
  ofcontroller: {
    name: "ofcontroller",
    missing: () => null,
    command: (port) => ({
      cmd: process.execPath,
      args: [
        "dist/src/controller/cli.js",
        "learning-switch",
        "-l",
        `ptcp:${port}:127.0.0.1`,
        "--log-level",
        "warn",
      ],
    }),
  },
  "ovs-testcontroller": {
    name: "ovs-testcontroller",
    missing: () => (onPath("ovs-testcontroller") ? null : "ovs-testcontroller not on PATH"),
    command: (port, runDir) => ({
      cmd: "ovs-testcontroller",
      args: ["-O", "OpenFlow10", `ptcp:${port}:127.0.0.1`],
      // its unixctl socket and any log go to a directory of this run, not /var/run
      env: { ...process.env, OVS_RUNDIR: runDir, OVS_LOGDIR: runDir },
    }),
  },
  "os-ken": {
    name: "os-ken",
    missing: () => (onPath("/usr/bin/osken-manager") ? null : "/usr/bin/osken-manager missing"),
    command: (port) => ({
      cmd: "/usr/bin/osken-manager",
      args: [
        "--ofp-listen-host",
        "127.0.0.1",
        "--ofp-tcp-listen-port",
        String(port),
        "test/fixtures/osken_l2_switch.py",
      ],
    }),
  },
};

export class RunningController {
  private constructor(
    readonly child: ChildProcess,
    private readonly runDir: string,
    readonly output: string[],
  ) {}

  /** Starts the controller; with `cpu`, pinned to that CPU (taskset). */
  static async start(spec: ControllerSpec, port: number, cpu?: number): Promise<RunningController> {
    const runDir = mkdtempSync(join(tmpdir(), "cbench-"));
    const c = spec.command(port, runDir);
    const [cmd, args] =
      cpu === undefined ? [c.cmd, c.args] : ["taskset", ["-c", String(cpu), c.cmd, ...c.args]];
    const child = spawn(cmd, args, {
      env: c.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const keep = (d: Buffer) => {
      if (output.length < 200) output.push(d.toString());
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const rc = new RunningController(child, runDir, output);
    const deadline = Date.now() + 15_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        rc.stop();
        throw new Error(`${spec.name} did not start listening: ${output.join("").slice(0, 500)}`);
      }
      await sleep(100);
    }
    return rc;
  }

  /** CPU time the controller process used so far (user + system, seconds). */
  cpuSeconds(): number {
    return processCpuSeconds(this.child.pid);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      this.child.kill("SIGTERM");
      const pid = this.child.pid;
      setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }, 2000).unref();
    }
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** CPU time a process used so far (user + system, seconds), from /proc; NaN if gone. */
export function processCpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
  } catch {
    return NaN;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
