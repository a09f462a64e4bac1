// Child processes for the end-to-end harness: every command has a time bound, every background
// process is remembered by PID and stopped by PID, and teardown steps run in reverse order once.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** Resolve with a non-zero exit status instead of throwing. */
  allowFail?: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly result: RunResult,
    why: string,
  ) {
    super(`${argv.join(" ")}: ${why}\n${tail(result.stderr || result.stdout, 800)}`);
  }
}

function tail(text: string, chars: number): string {
  return text.length <= chars ? text.trim() : `...${text.slice(-chars).trim()}`;
}

/** Argument vector that runs `argv` inside network namespace `ns` (same PID: ip execs it). */
export function inNs(ns: string, argv: string[]): string[] {
  return ["ip", "netns", "exec", ns, ...argv];
}

/** Runs a command to completion; kills it (SIGKILL) when it outlives `timeoutMs`. */
export function run(argv: string[], opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(" ")}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout, stderr, ms: performance.now() - started };
      if (timedOut) reject(new CommandError(argv, result, `timed out after ${opts.timeoutMs} ms`));
      else if (code !== 0 && !opts.allowFail)
        reject(new CommandError(argv, result, `exit ${code ?? signal}`));
      else resolve(result);
    });
  });
}

/** A process the harness started and must stop. */
export class Background {
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;
  private stdoutText = "";

  constructor(
    readonly name: string,
    readonly pid: number,
    child: ReturnType<typeof spawn>,
    readonly logFile: string | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.on("exit", (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      if (this.stdoutText.length < 4 << 20) this.stdoutText += d;
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** What it printed on stdout (only when started without a log file). */
  get stdout(): string {
    return this.stdoutText;
  }

  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when it has exited. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<void> {
    if (!this.running) return;
    signalPid(this.pid, signal);
    const killer = setTimeout(() => signalPid(this.pid, "SIGKILL"), graceMs);
    const bound = new Promise((r) => setTimeout(r, graceMs + 2000));
    await Promise.race([this.exited, bound]);
    clearTimeout(killer);
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Teardown steps, run last-in first-out exactly once (normal end, error or signal). Every
 * background process is registered here when it starts.
 */
export class Teardown {
  private steps: { what: string; fn: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  add(what: string, fn: () => Promise<void> | void): () => void {
    const step = { what, fn };
    this.steps.push(step);
    return () => {
      this.steps = this.steps.filter((s) => s !== step);
    };
  }

  /** Starts `argv` in the background; output goes to `logFile`, or is kept when absent. */
  start(name: string, argv: string[], opts: { env?: NodeJS.ProcessEnv; logFile?: string } = {}) {
    const fd = opts.logFile === undefined ? undefined : openSync(opts.logFile, "a");
    const child = spawn(argv[0], argv.slice(1), {
      env: opts.env ?? process.env,
      stdio: ["ignore", fd ?? "pipe", fd ?? "ignore"],
    });
    if (fd !== undefined) closeSync(fd);
    if (child.pid === undefined) throw new Error(`${name}: could not start ${argv.join(" ")}`);
    const proc = new Background(name, child.pid, child, opts.logFile);
    const forget = this.add(`stop ${name} (pid ${child.pid})`, () => proc.stop());
    void proc.exited.then(forget);
    return proc;
  }

  /** Runs every step, newest first; a failing step is reported and the rest still run. */
  runAll(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.fn();
        } catch (err) {
          console.error(`teardown: ${step.what}: ${(err as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
