// A cbench-style storm (issue 12): 16 switches connect in groups of 8, 10 ms apart, and each
// floods packet-ins as fast as its socket takes them from the moment it has answered
// FEATURES_REQUEST, while the later ones are still connecting. The load comes from the
// benchmark's own emulated switches (bench/cbench.ts --external), in a process of their own so
// that they flood this controller's event loop for real. Every switch must complete its
// handshake within a bounded time however busy the others keep the controller, and none may be
// starved: before the fix a busy connection was read up to libuv's 32 reads (2 MB, ~25,000
// packet-ins) per event-loop turn, so a new switch's HELLO sat unread for seconds and the early
// switches got 20-80x the service of the late ones.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Controller } from "../../src/controller/index.js";
import { learningSwitch } from "../../src/controller/apps/learning-switch.js";
import { ROOT, ensureBuilt } from "../support/daemon.js";

const BENCH = join(ROOT, "dist/bench/cbench.js");

interface Run {
  joined: number;
  joinMsMax: number;
  aborted: string | null;
  perSwitch: number[];
  switchMin: number;
  switchMedian: number;
}

let controller: Controller | undefined;
afterEach(async () => {
  await controller?.close();
  controller = undefined;
});

beforeAll(() => ensureBuilt(), 120_000);

/** Runs one throughput round of the benchmark against the controller on `port`. */
function storm(port: number): Promise<Run> {
  const args = [BENCH, "--external", "--port", String(port), "--rounds", "1"];
  args.push("--modes", "throughput", "--loops", "3", "--ms", "700", "--warmup", "1");
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`benchmark still running after 30 s:\n${out}`));
    }, 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith('{"bench":"cbench",'));
      if (code !== 0 || line === undefined)
        reject(new Error(`benchmark failed (${code}):\n${out}`));
      else resolve(JSON.parse(line) as Run);
    });
  });
}

describe("a cbench-style storm", () => {
  it("every switch joins promptly and is served, however busy the others are", async () => {
    controller = new Controller({ logger: pino({ level: "silent" }) });
    learningSwitch(controller);
    const joins = new Set<string>();
    controller.on("join", (sw) => void joins.add(sw.dpid));
    const { port } = await controller.listen("ptcp:0");
    const run = await storm(port);
    expect(run.aborted).toBeNull();
    expect(run.joined).toBe(16);
    expect(joins.size).toBe(16);
    // A handshake is a few event-loop turns; 2 s leaves a loaded 2-core machine ample room.
    expect(run.joinMsMax).toBeLessThan(2000);
    // Round-robin service: no switch gets less than a quarter of the median switch's share.
    expect(run.switchMin).toBeGreaterThan(0);
    expect(run.switchMin).toBeGreaterThanOrEqual(run.switchMedian / 4);
  });
});
