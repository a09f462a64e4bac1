// The ofcontroller command, run as built (dist/): bad arguments, and a real run that a fake
// switch joins.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { OFPT } from "../../src/openflow/of10/constants.js";
import { ROOT, ensureBuilt, freePort } from "../support/daemon.js";
import { FakeSwitch } from "./fake-switch.js";

const CLI = join(ROOT, "dist/src/controller/cli.js");

beforeAll(() => ensureBuilt(), 120_000);

function run(args: string[]) {
  return spawnSync("node", [CLI, ...args], { encoding: "utf8", timeout: 10_000 });
}

describe("ofcontroller", () => {
  for (const args of [
    [],
    ["router"],
    ["hub", "--bogus"],
    ["learning-switch", "-l", "tcp:1.2.3.4:1"],
    ["learning-switch", "-c", "ptcp:1"],
    ["learning-switch", "--idle-timeout", "-3"],
    ["hub", "--log-level", "loud"],
    ["hub", "-l", "pssl:"],
    ["hub", "-c", "ssl:127.0.0.1", "--private-key", "/nonexistent.pem"],
    [
      "hub",
      "-l",
      "pssl:",
      "--private-key",
      "/nonexistent.pem",
      "--certificate",
      "/x",
      "--ca-cert",
      "/y",
    ],
    ["hub", "-l", "punix:"],
  ]) {
    it(`exits 2 with one line for: ${args.join(" ") || "(no arguments)"}`, () => {
      const r = run(args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^ofcontroller: /);
    });
  }

  it("--help exits 0", () => {
    const r = run(["learning-switch", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--listen/);
  });

  it("learning-switch listens, a switch joins and gets a flood for an unknown destination", async () => {
    const port = await freePort();
    const child = spawn("node", [CLI, "learning-switch", "-l", `ptcp:${port}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      await expect.poll(() => stderr, { timeout: 5000 }).toMatch(/listening for switches/);
      const sw = await FakeSwitch.joined(port, 0x42n);
      const frame = Buffer.from("ffffffffffff02000000000108060001", "hex");
      sw.send({
        type: OFPT.PACKET_IN,
        xid: 0,
        bufferId: 3,
        totalLen: 16,
        inPort: 1,
        reason: 0,
        data: frame,
      });
      expect((await sw.expect(OFPT.PACKET_OUT)).bufferId).toBe(3);
      sw.close();
      await expect.poll(() => stderr, { timeout: 5000 }).toMatch(/switch left/);
      expect(stderr).toMatch(/"dpid":"0000000000000042"/);
    } finally {
      child.kill("SIGTERM");
    }
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(0);
  });

  it("--connect reaches a switch that listens, and reaches it again after it went away", async () => {
    const port = await freePort();
    const accepted: FakeSwitch[] = [];
    const server = createServer((s) => void FakeSwitch.adopt(s).then((sw) => accepted.push(sw)));
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    const child = spawn("node", [CLI, "hub", "-c", `tcp:127.0.0.1:${port}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      await expect.poll(() => accepted.length, { timeout: 5000 }).toBe(1);
      await accepted[0].handshake(0x43n);
      await expect.poll(() => stderr, { timeout: 5000 }).toMatch(/switch joined/);
      accepted[0].close();
      await expect.poll(() => accepted.length, { timeout: 5000 }).toBe(2);
      await accepted[1].handshake(0x43n);
      await expect.poll(() => stderr.match(/switch joined/g)?.length, { timeout: 5000 }).toBe(2);
      accepted[1].close();
    } finally {
      child.kill("SIGTERM");
      server.close();
    }
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/"level":50/);
  });
});
