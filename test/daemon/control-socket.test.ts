// The control socket's protocol and file handling, with a registry of test commands: what a
// client gets for good and bad requests, and what happens to whatever already sits at the path.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ControlCallError,
  callControl,
  resolveControlTarget,
  runningSwitches,
} from "../../src/daemon/control-client.js";
import {
  ControlError,
  ControlServer,
  MAX_REQUEST_BYTES,
  defaultControlPath,
} from "../../src/daemon/control-socket.js";
import { memoryLogger } from "../support/log-sink.js";

/** Sends raw lines on one connection; resolves with the response lines once `n` came. */
function exchange(path: string, data: string, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(buf)}`));
    }, 5000);
    s.setEncoding("utf8");
    s.on("connect", () => s.write(data));
    s.on("data", (d: string) => {
      buf += d;
      const lines = buf.split("\n").filter((l) => l !== "");
      if (lines.length >= n) {
        clearTimeout(timer);
        s.destroy();
        resolve(lines);
      }
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(buf.split("\n").filter((l) => l !== ""));
    });
    s.on("error", reject);
  });
}

describe("control socket", () => {
  let dir: string;
  let server: ControlServer;
  const others: Server[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ofswitch-ctl-"));
    server = new ControlServer(join(dir, "sub", "s.ctl"), memoryLogger().log);
    server.register({
      name: "echo",
      args: "WORD...",
      summary: "says it back",
      run: (params) => ({ text: params.join(" "), data: params }),
    });
    server.register({
      name: "slow",
      args: "",
      summary: "answers later",
      run: async () => {
        await new Promise((r) => setTimeout(r, 50));
        return { text: "slow" };
      },
    });
    server.register({
      name: "refuse",
      args: "",
      summary: "always refuses",
      run: () => {
        throw new ControlError("no, because\nsecond line");
      },
    });
  });

  afterEach(async () => {
    await server.stop();
    for (const o of others.splice(0)) await new Promise((r) => o.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates its directory and a 0600 socket, and removes the socket on stop", async () => {
    await server.start();
    const st = statSync(server.path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    await server.stop();
    expect(() => statSync(server.path)).toThrow(/ENOENT/);
  });

  it("answers requests in order on one connection, with ids, text and data", async () => {
    await server.start();
    const lines = await exchange(
      server.path,
      '{"id":7,"method":"slow"}\n{"id":"x","method":"echo","params":["a","b"]}\n',
      2,
    );
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { id: 7, result: { text: "slow" }, error: null },
      { id: "x", result: { text: "a b", data: ["a", "b"] }, error: null },
    ]);
  });

  it("bad requests get an error and the connection stays usable", async () => {
    await server.start();
    const lines = await exchange(
      server.path,
      [
        "not json",
        "[1,2]",
        '{"id":1}',
        '{"id":2,"method":"echo","params":[1]}',
        '{"id":3,"method":"nope"}',
        '{"id":4,"method":"refuse"}',
        '{"id":5,"method":"echo","params":["ok"]}',
        "",
      ].join("\n"),
      7,
    );
    const replies = lines.map((l) => JSON.parse(l) as { id: unknown; error: string | null });
    expect(replies.map((r) => r.error)).toEqual([
      "request is not JSON",
      "request is not a JSON object",
      'request has no "method" string',
      '"params" must be an array of strings',
      'unknown command "nope" (ofswitch-ctl help lists the commands)',
      "no, because",
      null,
    ]);
    expect(replies[6].id).toBe(5);
  });

  it("refuses a request longer than the limit and closes", async () => {
    await server.start();
    const lines = await exchange(server.path, "x".repeat(MAX_REQUEST_BYTES + 10), 1);
    expect(JSON.parse(lines[0])).toMatchObject({ error: "request too long" });
  });

  it("closes a client that asks without reading the answers; others are still served", async () => {
    server.register({
      name: "big",
      args: "",
      summary: "a long answer",
      run: () => ({ text: "x".repeat(64 * 1024) }),
    });
    await server.start();
    const asked = 400; // 25 MiB of answers
    const received = await new Promise<number>((resolve, reject) => {
      const s = connect(server.path);
      let bytes = 0;
      s.on("connect", () => {
        s.pause();
        s.write('{"id":1,"method":"big"}\n'.repeat(asked));
        // Read only after the server had time to give up on us.
        setTimeout(() => {
          s.on("data", (d: Buffer) => (bytes += d.length));
          s.resume();
        }, 1000);
      });
      s.on("close", () => resolve(bytes));
      s.on("error", () => undefined);
      setTimeout(() => reject(new Error("the connection was never closed")), 10_000);
    });
    expect(received).toBeLessThan((asked * 64 * 1024) / 2);
    expect((await callControl(server.path, "echo", ["still", "here"])).text).toBe("still here");
  });

  it("refuses a path where another process listens, and a path that is not a socket", async () => {
    const path = join(dir, "live.ctl");
    const live = createServer();
    await new Promise<void>((r) => live.listen(path, r));
    others.push(live);
    await expect(new ControlServer(path, memoryLogger().log).start()).rejects.toThrow(
      /in use by another running process/,
    );
    expect(statSync(path).isSocket()).toBe(true); // left alone

    const file = join(dir, "file.ctl");
    writeFileSync(file, "x");
    await expect(new ControlServer(file, memoryLogger().log).start()).rejects.toThrow(
      /exists and is not a socket/,
    );
  });

  it("a socket file nobody listens on is replaced", async () => {
    const path = join(dir, "dead.ctl");
    // A socket file without a listener: bind without listen, as a crashed process leaves one.
    execFileSync("python3", [
      "-c",
      `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)})`,
    ]);
    expect(statSync(path).isSocket()).toBe(true);
    const s = new ControlServer(path, memoryLogger().log);
    s.register({ name: "echo", args: "", summary: "", run: () => ({ text: "up" }) });
    await s.start();
    expect((await callControl(path, "echo", [])).text).toBe("up");
    await s.stop();
  });

  it("the client: answers, refusals and unreachable sockets are told apart", async () => {
    await server.start();
    expect(await callControl(server.path, "echo", ["hi"])).toEqual({ text: "hi", data: ["hi"] });
    await expect(callControl(server.path, "refuse", [])).rejects.toMatchObject({
      kind: "refused",
      message: "no, because",
    });
    await expect(callControl(join(dir, "none.ctl"), "echo", [])).rejects.toMatchObject({
      kind: "connect",
    });
    // A listener that never answers: the timeout.
    // Reads (so it sees the client go) and never answers.
    const mute = createServer((s) => s.on("error", () => {}).resume());
    const mutePath = join(dir, "mute.ctl");
    await new Promise<void>((r) => mute.listen(mutePath, r));
    others.push(mute);
    await expect(callControl(mutePath, "echo", [], 200)).rejects.toBeInstanceOf(ControlCallError);
    await expect(callControl(mutePath, "echo", [], 200)).rejects.toMatchObject({ kind: "timeout" });
  });

  it("-t: a path, a PID, or the only running switch in the directory", async () => {
    expect(resolveControlTarget("/x/y.ctl", dir)).toBe("/x/y.ctl");
    expect(resolveControlTarget("1234", dir)).toBe(join(dir, "ofswitch.1234.ctl"));
    expect(() => resolveControlTarget("name", dir)).toThrow(/socket path or the PID/);
    expect(() => resolveControlTarget(undefined, dir)).toThrow(/no running ofswitch/);
    // Our own PID is alive; PID 2^22+1 is above pid_max's ceiling, so never alive.
    writeFileSync(join(dir, `ofswitch.${4194305}.ctl`), "");
    writeFileSync(defaultControlPath(process.pid, dir), "");
    expect(runningSwitches(dir)).toEqual([
      { pid: process.pid, path: defaultControlPath(process.pid, dir) },
    ]);
    expect(resolveControlTarget(undefined, dir)).toBe(defaultControlPath(process.pid, dir));
    writeFileSync(join(dir, "ofswitch.1.ctl"), ""); // init: alive
    expect(() => resolveControlTarget(undefined, dir)).toThrow(/2 ofswitch processes are running/);
  });
});
