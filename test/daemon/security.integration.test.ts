// Who may control the built daemon: a plain-TCP listener on a non-loopback address only with
// --allow-insecure-listen (and then a warning naming it); the management socket (punix:) only
// to its owner (root), by the socket's own permissions, and it is there only while the daemon
// runs.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { labPrefix, Topology } from "../support/netns.js";
import { netnsMissing, skipWithout } from "../support/prereq.js";
import { CLI, ensureBuilt, freePort, ofctl, startDaemon, type Proc } from "../support/daemon.js";

const skip = skipWithout(import.meta.url, netnsMissing());

describe.skipIf(skip)("ofswitch daemon: who may control it", () => {
  let topo: Topology;
  const procs: Proc[] = [];
  const track = (p: Proc) => (procs.push(p), p);
  const ports = () => topo.hosts.flatMap((h) => ["-i", h.switchIf]);

  beforeAll(() => {
    ensureBuilt();
    topo = Topology.create(labPrefix("ds"), 2);
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop("SIGTERM").catch(() => undefined);
  });

  afterAll(() => topo?.teardown());

  it("ptcp: on 0.0.0.0 starts only with --allow-insecure-listen, and warns naming the listener", async () => {
    const port = await freePort();
    const d = track(
      await startDaemon([...ports(), "-l", `ptcp:${port}:0.0.0.0`, "--allow-insecure-listen"]),
    );
    expect(d.output).toMatch(/"level":40.*"listener":"ptcp:\d+:0\.0\.0\.0".*control the switch/);
    expect(ofctl(`tcp:127.0.0.1:${port}`, "show")).toMatch(/n_tables:1/);
  });

  it("punix: mode 0600: ovs-ofctl show unix:PATH works as root and is refused to nobody by the socket's permissions; removed on exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ofswitch-mgmt-"));
    chmodSync(dir, 0o755); // nobody may reach the socket: only its own mode stands in the way
    const path = join(dir, "ofswitch.mgmt");
    try {
      const d = track(
        await startDaemon([...ports(), "-l", `punix:${path}`, "--fail-mode", "secure"]),
      );
      const st = statSync(path);
      expect(st.isSocket()).toBe(true);
      expect((st.mode & 0o777).toString(8)).toBe("600");
      expect(st.uid).toBe(0);
      expect(ofctl(`unix:${path}`, "show")).toMatch(/n_tables:1/);
      ofctl(`unix:${path}`, "add-flow", "in_port=1,actions=output:2");
      ofctl(`unix:${path}`, "add-flow", "in_port=2,actions=output:1");
      expect((await topo.runIn(0, `ping -c 2 -i 0.2 -W 1 ${topo.hosts[1].ip}`)).stdout).toMatch(
        /2 received/,
      );
      const asNobody = () =>
        spawnSync(
          "runuser",
          ["-u", "nobody", "--", "ovs-ofctl", "-O", "OpenFlow10", "show", `unix:${path}`],
          { encoding: "utf8", timeout: 10_000 },
        );
      const refused = asNobody();
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/Permission denied/);
      // the control: with the socket's mode opened, the same command succeeds
      chmodSync(path, 0o666);
      expect(asNobody().stdout).toMatch(/n_tables:1/);
      chmodSync(path, 0o600);
      // management sessions are logged at debug only: no info line per ovs-ofctl
      expect(d.output).not.toMatch(/"level":30[^\n]*session (established|closed)/);
      expect(await d.stop()).toBe(0);
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("punix: refused with one line when PATH is not a socket or is in use; a stale socket is replaced", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ofswitch-mgmt-"));
    const path = join(dir, "mgmt");
    const run = (...extra: string[]) =>
      spawnSync("node", [CLI, ...ports(), ...extra], { encoding: "utf8", timeout: 15_000 });
    try {
      writeFileSync(path, "not a socket");
      let r = run("-l", `punix:${path}`);
      expect([r.status, r.stderr.trim().split("\n").length]).toEqual([2, 1]);
      expect(r.stderr).toMatch(/punix:.*exists and is not a socket/);
      expect(readFileSync(path, "utf8")).toBe("not a socket"); // left alone
      rmSync(path);
      r = run("-l", `punix:${join(dir, "no-such-dir", "mgmt")}`);
      expect([r.status, r.stderr.trim().split("\n").length]).toEqual([2, 1]);
      expect(r.stderr).toMatch(/directory .* does not exist/);
      // a stale socket (its process died without removing it) is replaced
      spawnSync("python3", ["-c", `import socket; socket.socket(socket.AF_UNIX).bind("${path}")`], {
        timeout: 5000,
      });
      expect(statSync(path).isSocket()).toBe(true);
      const d = track(await startDaemon([...ports(), "-l", `punix:${path}`]));
      expect(d.output).toMatch(/stale socket/);
      expect(ofctl(`unix:${path}`, "show")).toMatch(/n_tables:1/);
      // a second switch on the same path: in use, refused, the first keeps it
      r = run("-l", `punix:${path}`);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/in use/);
      expect(ofctl(`unix:${path}`, "show")).toMatch(/n_tables:1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
