// Spawning the built daemon (`node dist/src/cli.js ...`) and real controllers for integration
// tests: build on demand when dist/ is missing or older than the sources, wait (bounded) for
// log lines, stop every process by PID.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { waitFor } from "./wait.js";

// test/support/ under the repository, or dist/test/support/ when compiled for a bench.
const COMPILED = new URL(".", import.meta.url).pathname.endsWith("/dist/test/support/");
export const ROOT = new URL(COMPILED ? "../../.." : "../..", import.meta.url).pathname;
export const CLI = join(ROOT, "dist/src/cli.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Runs `tsc -p .` when dist/src/cli.js is missing or older than anything under src/. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestMtime(join(ROOT, "src"))) return;
  execFileSync("npx", ["tsc", "-p", "."], { cwd: ROOT, stdio: "pipe", timeout: 120_000 });
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class Proc {
  private out = "";
  private exitCode: number | null | undefined = undefined;
  private readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) =>
      child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? null : code);
        resolve(this.exitCode);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The JSON log lines of the output so far (other lines left out). */
  logLines(): Record<string, unknown>[] {
    return this.out.split("\n").flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** The JSON log lines whose message is `msg`. */
  logged(msg: string): Record<string, unknown>[] {
    return this.logLines().filter((l) => l.msg === msg);
  }

  /**
   * Occurrences of `re` in the complete lines of the output so far: a line still being written
   * does not count, so a caller that waited for it can then parse it.
   */
  count(re: RegExp): number {
    const complete = this.out.slice(0, this.out.lastIndexOf("\n") + 1);
    return [...complete.matchAll(new RegExp(re.source, "g"))].length;
  }

  /** Waits until `re` has occurred at least `times` times in the output. */
  waitFor(re: RegExp, timeoutMs = 10_000, times = 1): Promise<void> {
    return waitFor(
      () => {
        if (this.count(re) >= times) return true;
        if (!this.running) throw new Error(`process exited before ${re}:\n${this.out}`);
        return false;
      },
      () => `${re} within ${timeoutMs} ms:\n${this.out}`,
      timeoutMs,
      50,
    );
  }

  /**
   * Waits until this process listens on TCP `port`: a peer started just before can then
   * connect at once. Fails at once if the process exits.
   */
  waitListening(port: number, timeoutMs = 10_000): Promise<void> {
    return waitListening(
      this.pid,
      port,
      () => !this.running,
      () => this.out,
      timeoutMs,
    );
  }

  /** Sends `signal` to the PID and waits (bounded) for the exit; SIGKILL if it does not go. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 5000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
    const code = await Promise.race([
      this.exited,
      new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref()),
    ]);
    if (code !== "timeout") return code;
    try {
      process.kill(this.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await this.exited;
    throw new Error(`process ${this.pid} did not exit on ${signal}:\n${this.out}`);
  }
}

/**
 * Whether process `pid` listens on TCP `port`: a LISTEN socket on the port in its own network
 * namespace (/proc/PID/net/tcp and tcp6) that is one of its descriptors, so a stranger on a
 * reused port does not count.
 */
function listensOn(pid: number, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  try {
    for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
      if (!existsSync(table)) continue; // IPv6 off
      for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
        const f = line.trim().split(/\s+/); // sl local rem st ... uid timeout inode
        if (f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A") inodes.add(`socket:[${f[9]}]`);
      }
    }
    if (inodes.size === 0) return false;
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false; // exited meanwhile
  }
}

/**
 * Waits (bounded) until process `pid` listens on TCP `port`; fails at once when `exited()`.
 * `output()` goes into the error.
 */
export function waitListening(
  pid: number,
  port: number,
  exited: () => boolean,
  output: () => string,
  timeoutMs = 10_000,
): Promise<void> {
  return waitFor(
    () => {
      if (listensOn(pid, port)) return true;
      if (exited())
        throw new Error(`process ${pid} exited before listening on ${port}:\n${output()}`);
      return false;
    },
    () => `process ${pid} to listen on ${port} within ${timeoutMs} ms:\n${output()}`,
    timeoutMs,
    20,
  );
}

/**
 * Starts the built daemon; resolves once it logged that it runs. `nodeArgs` go to node. A
 * daemon that does not get there in time is stopped: the caller never got it to stop.
 */
export async function startDaemon(args: string[], nodeArgs: string[] = []): Promise<Proc> {
  const p = new Proc(
    spawn("node", [...nodeArgs, CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }),
  );
  try {
    await p.waitFor(/ofswitch running/, 10_000);
  } catch (e) {
    await p.stop("SIGKILL").catch(() => undefined);
    throw e;
  }
  return p;
}

export function startProcess(cmd: string, args: string[]): Proc {
  return new Proc(spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
}

/** Runs ovs-ofctl (OpenFlow 1.0) against `target`; returns stdout, throws on failure. */
export function ofctl(target: string, ...args: string[]): string {
  return ofctlWith([], target, ...args);
}

/** ovs-ofctl with options of its own first (e.g. --private-key=FILE for ssl: targets). */
export function ofctlWith(options: string[], target: string, ...args: string[]): string {
  return execFileSync(
    "ovs-ofctl",
    ["-O", "OpenFlow10", ...options, ...args.slice(0, 1), target, ...args.slice(1)],
    {
      encoding: "utf8",
      timeout: 10_000,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

/** The daemon on `interfaces` in fail mode secure, listening on a free loopback port. */
export async function startListeningDaemon(
  interfaces: string[],
): Promise<{ daemon: Proc; port: number }> {
  const port = await freePort();
  const daemon = await startDaemon([
    ...interfaces.flatMap((i) => ["-i", i]),
    "-l",
    `ptcp:${port}`,
    "--fail-mode",
    "secure",
  ]);
  return { daemon, port };
}
