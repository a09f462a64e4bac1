// `ofswitch-ctl trace` against the running daemon on veths, programmed with ovs-ofctl: a hit
// with rewrites, a miss, a flood with a port marked NO_FLOOD (ovs-ofctl mod-port noflood); a
// trace changes no counter ovs-ofctl can see, and `--send` puts the packet on the wire, where
// tcpdump on the receiving host sees it rewritten.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, ensureBuilt, freePort, ofctl, startDaemon, type Proc } from "../support/daemon.js";
import { labPrefix, Topology } from "../support/netns.js";
import { afpacketMissing, firstMissing, programsMissing, skipWithout } from "../support/prereq.js";

const skip = skipWithout(
  import.meta.url,
  firstMissing(afpacketMissing(), programsMissing("ovs-ofctl", "tcpdump")),
);
const CTL = join(ROOT, "dist/src/ctl.js");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)("ofswitch-ctl trace on a running switch", () => {
  let topo: Topology;
  let dir = "";
  let daemon: Proc | undefined;
  let socket = "";
  let target = "";

  const ctl = (...args: string[]) => {
    const r = spawnSync("node", [CTL, "-t", socket, ...args], {
      encoding: "utf8",
      timeout: 15_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const trace = (...args: string[]) => {
    const r = ctl("trace", ...args);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };
  /** A flow description from host 1 to host 2's addresses. */
  const web = () => {
    const [a, b] = topo.hosts;
    return `in_port=1,dl_src=${a.mac},dl_dst=${b.mac},tcp,nw_src=${a.ip},nw_dst=${b.ip},tp_src=40000,tp_dst=80`;
  };

  beforeAll(async () => {
    ensureBuilt();
    topo = Topology.create(labPrefix("tr"), 3);
    dir = mkdtempSync(join(tmpdir(), "ofswitch-trace-"));
    socket = join(dir, "s.ctl");
    const port = await freePort();
    target = `tcp:127.0.0.1:${port}`;
    daemon = await startDaemon([
      ...topo.hosts.flatMap((h) => ["-i", h.switchIf]),
      ...["-l", `ptcp:${port}`, "--fail-mode", "secure", "--ctl-socket", socket],
    ]);
    const [, b] = topo.hosts;
    ofctl(
      target,
      "add-flow",
      `priority=200,cookie=0x2a,tcp,in_port=1,nw_dst=${b.ip},tp_dst=80,` +
        `actions=mod_nw_dst:10.99.0.9,mod_tp_dst:8080,output:2`,
    );
    ofctl(target, "add-flow", "priority=100,in_port=1,dl_dst=ff:ff:ff:ff:ff:ff,actions=FLOOD");
    ofctl(target, "mod-port", "3", "noflood");
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    topo?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a hit: the entry ovs-ofctl installed, each rewrite, the output port", () => {
    const out = trace(web());
    const [a, b] = topo.hosts;
    expect(out).toContain(
      `Flow: in_port=1,dl_vlan=0xffff,dl_vlan_pcp=0,dl_src=${a.mac},dl_dst=${b.mac},`,
    );
    expect(out).toContain("Table: hit (2 entries)");
    expect(out).toContain(
      `  priority=200,tcp,in_port=1,nw_dst=${b.ip},tp_dst=80\n  cookie=0x2a, n_packets=0`,
    );
    expect(out).toContain("  actions=mod_nw_dst:10.99.0.9,mod_tp_dst:8080,output:2");
    expect(out).toContain(`  1. mod_nw_dst:10.99.0.9\n       nw_dst: ${b.ip} -> 10.99.0.9`);
    expect(out).toContain("  2. mod_tp_dst:8080\n       tp_dst: 80 -> 8080");
    expect(out).toContain(`  3. output:2\n       -> port 2 (${b.switchIf})`);
    expect(out).toContain("Result: out on 2 (nothing was sent)");
  });

  it("a flood leaves out the input port and the port marked NO_FLOOD", () => {
    const [a, b, c] = topo.hosts;
    const out = trace(
      `in_port=1,dl_src=${a.mac},dl_dst=ff:ff:ff:ff:ff:ff,arp,nw_src=${a.ip},nw_dst=${b.ip}`,
    );
    expect(out).toContain("  priority=100,in_port=1,dl_dst=ff:ff:ff:ff:ff:ff");
    expect(out).toContain(`dropped at port 1 (${a.switchIf}): FLOOD: the input port`);
    expect(out).toContain(`-> port 2 (${b.switchIf})  [FLOOD]`);
    expect(out).toContain(`dropped at port 3 (${c.switchIf}): FLOOD: port is no-flood`);
    expect(out).toContain("Result: out on 2 (nothing was sent)");
  });

  it("a miss: no controller in fail mode secure, so it is dropped", () => {
    const out = trace(web().replace("tp_dst=80", "tp_dst=443"));
    expect(out).toContain("Table: miss (no entry matches; 2 entries)");
    expect(out).toContain("Miss: no controller takes packet-ins, fail mode secure: dropped");
    expect(out).toContain("Result: dropped (nothing was sent)");
  });

  it("tracing moves no counter ovs-ofctl can see", async () => {
    const flows = () => ofctl(target, "dump-flows").replace(/duration=[\d.]+s, /g, "");
    const ports = () => ofctl(target, "dump-ports");
    const [f0, p0] = [flows(), ports()];
    for (let i = 0; i < 5; i++) trace(web());
    await sleep(200);
    expect(flows()).toBe(f0);
    expect(ports()).toBe(p0);
  });

  it("--send puts the rewritten packet on the wire", async () => {
    const b = topo.hosts[1];
    const dump = topo.spawnIn(1, "tcpdump", [
      "-c",
      "1",
      "-nn",
      "-i",
      b.hostIf,
      "tcp",
      "port",
      "8080",
    ]);
    for (let i = 0; i < 100 && !dump.output().includes("listening on"); i++) await sleep(100);
    expect(dump.output()).toContain("listening on");
    const out = trace("--send", web());
    expect(out).toContain("Result: out on 2 (sent: the packet was run through the switch)");
    expect(await dump.wait(10_000)).toBe(0);
    expect(dump.output()).toMatch(
      new RegExp(
        `${topo.hosts[0].ip.replace(/\./g, "\\.")}\\.40000 > 10\\.99\\.0\\.9\\.8080: Flags \\[S\\]`,
      ),
    );
    expect(ofctl(target, "dump-flows")).toMatch(/cookie=0x2a, .*n_packets=1,/);
  });

  it("bad input: one line, exit 2", () => {
    for (const [args, message] of [
      [["in_port=7,udp"], /^ofswitch-ctl: trace: in_port=7: no such port \(ports: 1 /],
      [["in_port=1,tcp,tp_dst=x"], /^ofswitch-ctl: trace: tp_dst=x: expected a number/],
      [["in_port=1", "zz"], /^ofswitch-ctl: trace: the packet must be hex bytes/],
      [["--bogus", "in_port=1"], /^ofswitch-ctl: trace: unknown option --bogus/],
      [[], /^ofswitch-ctl: usage: trace /],
    ] as [string[], RegExp][]) {
      const r = ctl("trace", ...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
