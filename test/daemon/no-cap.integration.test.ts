// The AF_PACKET backend without the libpcap binding: the daemon runs under a loader hook that
// makes `cap` fail to load (as where it did not build), forwards between two hosts, survives an
// interface flap, and never even asks for cap; asked for the libpcap backend it says in one
// line what is wrong and exits 2.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureBuilt } from "../support/daemon.js";
import { labPrefix, runSync } from "../support/netns.js";
import { afpacketMissing, programsMissing, skipWithout } from "../support/prereq.js";
import {
  iperf,
  logLines,
  msUntilPing,
  startSwitchLab,
  type SwitchLab,
} from "../support/switch-lab.js";
import { sleep } from "../support/wait.js";

const skip = skipWithout(import.meta.url, afpacketMissing() ?? programsMissing("iperf3"));
const HOOK = fileURLToPath(new URL("../support/no-cap.mjs", import.meta.url));

describe.skipIf(skip)("ofswitch where the libpcap binding does not load", () => {
  let lab: SwitchLab;

  beforeAll(async () => {
    lab = await startSwitchLab(labPrefix("nc"), { nodeArgs: ["--import", HOOK] });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("the hook really makes cap fail to load", () => {
    const r = spawnSync(
      "node",
      ["--import", HOOK, "-e", "require('module').createRequire(process.cwd() + '/')('cap')"],
      { cwd: fileURLToPath(new URL("../..", import.meta.url)), encoding: "utf8", timeout: 10_000 },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no-cap hook: refused (cap|.*cap\.node)/);
  });

  it("runs the AF_PACKET backend, forwards, and survives a flap, without ever loading cap", async () => {
    const added = logLines(lab.daemon).filter((l) => l.msg === "port added");
    expect(added.map((l) => l.backend)).toEqual(["afpacket", "afpacket"]);
    expect(await msUntilPing(lab.topo)).toBeLessThan(5000);
    const s2 = lab.topo.hosts[1].switchIf;
    runSync("ip", ["link", "set", s2, "down"]);
    await sleep(700);
    runSync("ip", ["link", "set", s2, "up"]);
    expect(await msUntilPing(lab.topo)).toBeLessThan(2000);
    const run = await iperf(lab.topo, 2);
    expect(run.bytes).toBeGreaterThan(5e6);
    expect(lab.daemon.output).not.toMatch(/no-cap hook/);
    expect(lab.daemon.output).not.toMatch(/libpcap/);
  });

  it("refuses --port-backend pcap with one line and exit status 2", () => {
    ensureBuilt();
    const r = spawnSync(
      "node",
      ["--import", HOOK, CLI, "-i", lab.topo.hosts[0].switchIf, "--port-backend", "pcap"],
      { encoding: "utf8", timeout: 15_000 },
    );
    expect(r.status).toBe(2);
    const lines = r.stderr.split("\n").filter((l) => l && !l.startsWith("no-cap hook"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ofswitch: the libpcap binding \(cap\) did not load \(Cannot find module/,
    );
  });
});
