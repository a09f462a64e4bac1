// The client side of the control socket (ofswitch-ctl): which socket to talk to, and one
// request/response over it, bounded by a timeout.
import { readdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { controlDir, defaultControlPath, type ControlReply } from "./control-socket.js";

/** Why a call failed: "usage" (the target or command was wrong: exit 2), "connect" or
 * "timeout" (no answer: exit 1), "refused" (the switch answered with an error: exit 2). */
export class ControlCallError extends Error {
  override readonly name = "ControlCallError";
  constructor(
    readonly kind: "usage" | "connect" | "timeout" | "refused",
    message: string,
  ) {
    super(message);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Default sockets in `dir` whose process still runs (a killed daemon leaves its file). */
export function runningSwitches(dir = controlDir()): { pid: number; path: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^ofswitch\.(\d+)\.ctl$/.exec(n))
    .filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), path: join(dir, m[0]) }))
    .filter((s) => alive(s.pid))
    .sort((a, b) => a.pid - b.pid);
}

/**
 * The socket for `-t TARGET`: a path (anything with a "/"), or the PID of an ofswitch using its
 * default socket. Without a target: the one running ofswitch's default socket.
 */
export function resolveControlTarget(target: string | undefined, dir = controlDir()): string {
  if (target !== undefined) {
    if (target.includes("/")) return target;
    if (/^\d+$/.test(target)) return defaultControlPath(Number(target), dir);
    throw new ControlCallError(
      "usage",
      `-t must be a socket path or the PID of an ofswitch process, not "${target}"`,
    );
  }
  const found = runningSwitches(dir);
  if (found.length === 1) return found[0].path;
  if (found.length === 0) {
    throw new ControlCallError(
      "connect",
      `no running ofswitch has a control socket in ${dir} (is it running? started with ` +
        "--ctl-socket PATH? then use -t PATH)",
    );
  }
  throw new ControlCallError(
    "usage",
    `${found.length} ofswitch processes are running (PIDs ${found.map((f) => f.pid).join(", ")}): ` +
      "choose one with -t PID or -t PATH",
  );
}

/** Sends one command and resolves with the switch's answer. */
export function callControl(
  path: string,
  method: string,
  params: string[],
  timeoutMs = 10_000,
): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffered = "";
    let done = false;
    const finish = (err: ControlCallError | undefined, reply?: ControlReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply as ControlReply);
    };
    const timer = setTimeout(
      () =>
        finish(new ControlCallError("timeout", `no answer from ${path} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${JSON.stringify({ id: 1, method, params })}\n`));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      const hint =
        e.code === "EACCES"
          ? " (the control socket is root's: run ofswitch-ctl as root)"
          : e.code === "ENOENT" || e.code === "ECONNREFUSED"
            ? " (is ofswitch running with this control socket?)"
            : "";
      finish(new ControlCallError("connect", `cannot connect to ${path}: ${e.message}${hint}`));
    });
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf("\n");
      if (nl < 0) return;
      let msg: { result?: ControlReply | null; error?: string | null };
      try {
        msg = JSON.parse(buffered.slice(0, nl)) as typeof msg;
      } catch {
        finish(new ControlCallError("connect", `${path} answered something that is not JSON`));
        return;
      }
      if (msg.error) finish(new ControlCallError("refused", msg.error));
      else if (msg.result && typeof msg.result.text === "string") finish(undefined, msg.result);
      else finish(new ControlCallError("connect", `${path} answered without a result`));
    });
    socket.on("close", () =>
      finish(new ControlCallError("connect", `${path} closed the connection without answering`)),
    );
  });
}
