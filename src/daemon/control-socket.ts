// The control socket (`--ctl-socket`, like Open vSwitch's unixctl and ovs-appctl): a Unix
// stream socket, mode 0600 so only root (the daemon's user) may use it, on which `ofswitch-ctl`
// asks a running switch questions. It is not an OpenFlow listener (see `-l punix:` for that).
//
// Protocol: one JSON object per line each way, JSON-RPC 1.0 style as ovs-appctl speaks it:
//   request  {"id": 1, "method": "status", "params": ["--json"]}
//   response {"id": 1, "result": {"text": "...", "data": {...}}, "error": null}
//        or  {"id": 1, "result": null, "error": "one line saying what was wrong"}
// A connection may carry many requests; they are answered in order.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import type { Logger } from "pino";

/** Where control sockets go unless --ctl-socket says otherwise ($OFSWITCH_RUNDIR overrides). */
export function controlDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OFSWITCH_RUNDIR || "/run/ofswitch";
}

/** The default control socket of the ofswitch process `pid`. */
export function defaultControlPath(pid: number = process.pid, dir = controlDir()): string {
  return join(dir, `ofswitch.${pid}.ctl`);
}

export interface ControlReply {
  /** What ofswitch-ctl prints. */
  text: string;
  /** The same answer for programs (`ofswitch-ctl --json`). */
  data?: unknown;
}

/** A command's refusal: its message goes back as the response's error (one line). */
export class ControlError extends Error {
  override readonly name = "ControlError";
}

export interface ControlCommand {
  name: string;
  /** Arguments as `help` shows them, e.g. "FLOW | HEX [--in-port N]". */
  args: string;
  summary: string;
  run(params: string[]): ControlReply | Promise<ControlReply>;
}

/** Requests longer than this are refused and the connection closed. */
export const MAX_REQUEST_BYTES = 1 << 20;
/** Answers a client has left unread beyond this close its connection. */
export const MAX_UNREAD_BYTES = 4 << 20;

interface Request {
  id: unknown;
  method: string;
  params: string[];
}

function parseRequest(line: string): Request | string {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return "request is not JSON";
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
    return "request is not a JSON object";
  }
  const { id, method, params } = msg as Record<string, unknown>;
  if (typeof method !== "string") return 'request has no "method" string';
  const list = params ?? [];
  if (!Array.isArray(list) || !list.every((p) => typeof p === "string")) {
    return '"params" must be an array of strings';
  }
  return { id: id ?? null, method, params: list as string[] };
}

export class ControlServer {
  private readonly commands = new Map<string, ControlCommand>();
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  register(cmd: ControlCommand): void {
    if (this.commands.has(cmd.name))
      throw new Error(`control command ${cmd.name} registered twice`);
    this.commands.set(cmd.name, cmd);
  }

  list(): ControlCommand[] {
    return [...this.commands.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Listens on `path`, mode 0600. A stale socket there (no one listening) is replaced; a live one
   * or anything that is not a socket is refused with an error saying so.
   */
  async start(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    await this.clearStale();
    const server = createServer((socket) => this.accept(socket));
    const listening = new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.once("listening", () => {
        server.removeAllListeners("error");
        resolve();
      });
    });
    // bind() creates the socket file synchronously inside listen(): with this umask it is
    // created 0600, never wider, and the umask is restored before anything else runs.
    const umask = process.umask(0o177);
    try {
      server.listen(this.path);
    } finally {
      process.umask(umask);
    }
    await listening;
    chmodSync(this.path, 0o600);
    server.on("error", (err) => this.log.error({ err }, "control socket error"));
    this.server = server;
    this.log.info({ path: this.path }, "control socket ready (ofswitch-ctl)");
  }

  private async clearStale(): Promise<void> {
    let isSocket: boolean;
    try {
      isSocket = lstatSync(this.path).isSocket();
    } catch {
      return; // nothing there
    }
    if (!isSocket) {
      throw new Error(`control socket ${this.path}: the path exists and is not a socket`);
    }
    const live = await new Promise<boolean>((resolve) => {
      const probe = connect(this.path);
      probe.once("connect", () => {
        probe.destroy();
        resolve(true);
      });
      probe.once("error", () => resolve(false));
    });
    if (live) {
      throw new Error(`control socket ${this.path} is in use by another running process`);
    }
    unlinkSync(this.path);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  private accept(socket: Socket): void {
    this.clients.add(socket);
    socket.on("close", () => this.clients.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setEncoding("utf8");
    let buffered = "";
    let queue: Promise<void> = Promise.resolve();
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.end(`${JSON.stringify({ id: null, result: null, error: "request too long" })}\n`);
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === "") continue;
        queue = queue.then(async () => {
          const response = await this.answer(line);
          if (socket.destroyed) return;
          socket.write(`${JSON.stringify(response)}\n`);
          // A client that asks without reading the answers is not served without bound.
          if (socket.writableLength > MAX_UNREAD_BYTES) socket.destroy();
        });
      }
    });
  }

  /** The response to one request line (never throws). */
  async answer(
    line: string,
  ): Promise<{ id: unknown; result: ControlReply | null; error: string | null }> {
    const req = parseRequest(line);
    if (typeof req === "string") return { id: null, result: null, error: req };
    const cmd = this.commands.get(req.method);
    if (cmd === undefined) {
      return {
        id: req.id,
        result: null,
        error: `unknown command "${req.method}" (ofswitch-ctl help lists the commands)`,
      };
    }
    try {
      return { id: req.id, result: await cmd.run(req.params), error: null };
    } catch (e) {
      if (!(e instanceof ControlError)) {
        this.log.error({ err: e, command: req.method }, "control command failed");
      }
      const message = e instanceof Error ? e.message : String(e);
      return { id: req.id, result: null, error: message.split("\n")[0] };
    }
  }
}
