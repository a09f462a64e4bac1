// The built daemon on veths, driven by ovs-ofctl through its listener (-l): every command a
// user would try, with traffic between two namespaced hosts moving the counters.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBackend } from "../../src/datapath/port-factory.js";
import { labPrefix, Topology } from "../support/netns.js";
import { netnsMissing, skipWithout } from "../support/prereq.js";
import { sleep, waitFor } from "../support/wait.js";
import {
  ensureBuilt,
  ofctl,
  startListeningDaemon,
  startProcess,
  type Proc,
} from "../support/daemon.js";

const skip = skipWithout(import.meta.url, netnsMissing());

const ipv6Path = (ifName: string) => `/proc/sys/net/ipv6/conf/${ifName}/disable_ipv6`;

describe.skipIf(skip)("ofswitch daemon with ovs-ofctl (-l ptcp:PORT)", () => {
  let topo: Topology;
  let daemon: Proc | undefined;
  let target = "";

  const ping = (from: number, to: number, count = 2) =>
    topo.runIn(from, `ping -c ${count} -i 0.2 -W 1 ${topo.hosts[to].ip}`, 10_000);
  const flows = () => ofctl(target, "dump-flows");

  beforeAll(async () => {
    ensureBuilt();
    topo = Topology.create(labPrefix("dk"), 3);
    // IPv6 on, so the test sees the daemon turn it off and back on.
    for (const h of topo.hosts) writeFileSync(ipv6Path(h.switchIf), "0\n");
    const started = await startListeningDaemon(topo.hosts.map((h) => h.switchIf));
    daemon = started.daemon;
    target = `tcp:127.0.0.1:${started.port}`;
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    topo?.teardown();
  });

  it("disables IPv6 on its ports while running", () => {
    for (const h of topo.hosts) expect(readFileSync(ipv6Path(h.switchIf), "utf8").trim()).toBe("1");
  });

  it("show: interface k is port k, every port listed", () => {
    const out = ofctl(target, "show");
    expect(out).toMatch(/n_tables:1, n_buffers:256/);
    topo.hosts.forEach((h, i) => expect(out).toContain(` ${i + 1}(${h.switchIf}): addr:`));
    expect(out).toMatch(/capabilities: FLOW_STATS TABLE_STATS PORT_STATS ARP_MATCH_IP/);
  });

  it("dump-desc names the frame I/O backend in use (auto: AF_PACKET when the addon loads)", () => {
    const { backend } = resolveBackend("auto");
    const name = backend === "afpacket" ? "AF_PACKET" : "libpcap";
    expect(ofctl(target, "dump-desc")).toMatch(
      new RegExp(`Hardware: ofswitch software switch \\(Node\\.js [^,]+, frame I/O: ${name}\\)`),
    );
  });

  it("secure mode without flows drops traffic; flows forward it and counters move", async () => {
    expect((await ping(0, 1)).code).not.toBe(0);
    ofctl(target, "add-flow", "in_port=1,actions=output:2");
    ofctl(target, "add-flow", "in_port=2,actions=output:1");
    const r = await ping(0, 1, 3);
    expect(r.stdout).toMatch(/3 received/);
    const dump = flows();
    const counts = [...dump.matchAll(/n_packets=(\d+)/g)].map((m) => Number(m[1]));
    expect(counts.length).toBe(2);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(3);
    const agg = ofctl(target, "dump-aggregate");
    expect(agg).toMatch(/flow_count=2/);
    expect(Number(/packet_count=(\d+)/.exec(agg)?.[1])).toBeGreaterThanOrEqual(6);
    const ports = ofctl(target, "dump-ports");
    expect(ports).toMatch(/3 ports/);
    expect(Number(/port {2}1: rx pkts=(\d+)/.exec(ports)?.[1])).toBeGreaterThanOrEqual(3);
    const tables = ofctl(target, "dump-tables");
    expect(tables).toMatch(/active=2/);
  });

  it("accepts every action type in add-flow and reports them back", () => {
    const actions = [
      "mod_vlan_vid:7",
      "mod_vlan_pcp:3",
      "strip_vlan",
      "mod_dl_src:00:11:22:33:44:55",
      "mod_dl_dst:66:77:88:99:aa:bb",
      "mod_nw_src:10.1.2.3",
      "mod_nw_dst:10.3.2.1",
      "mod_nw_tos:16",
      "mod_tp_src:1000",
      "mod_tp_dst:2000",
      "output:3",
      "CONTROLLER:100",
      "NORMAL",
      "FLOOD",
      "ALL",
      "IN_PORT",
      "LOCAL",
    ];
    ofctl(target, "add-flow", `priority=900,tcp,nw_dst=10.9.9.9,actions=${actions.join(",")}`);
    const line = flows()
      .split("\n")
      .find((l) => l.includes("priority=900"));
    expect(line).toBeDefined();
    for (const a of actions) expect(line).toContain(a);
    ofctl(target, "del-flows", "--strict", "priority=900,tcp,nw_dst=10.9.9.9");
    expect(flows()).not.toContain("priority=900");
  });

  it("del-flows with --strict removes one entry, without it every covered entry", () => {
    ofctl(target, "add-flow", "priority=10,in_port=3,dl_type=0x88b5,actions=drop");
    ofctl(target, "add-flow", "priority=20,in_port=3,dl_type=0x88b5,actions=drop");
    ofctl(target, "del-flows", "--strict", "priority=10,in_port=3,dl_type=0x88b5");
    expect(flows()).not.toContain("priority=10,");
    expect(flows()).toContain("priority=20,");
    ofctl(target, "add-flow", "priority=10,in_port=3,dl_type=0x88b5,actions=drop");
    ofctl(target, "del-flows", "in_port=3");
    expect(flows()).not.toMatch(/in_port=3/);
    expect(flows()).toMatch(/in_port=1/);
  });

  it("mod-port down stops a port, up restores it; noflood keeps FLOOD off it", async () => {
    ofctl(target, "mod-port", "2", "down");
    expect(ofctl(target, "show")).toMatch(
      new RegExp(`2\\(${topo.hosts[1].switchIf}\\)[^]*?config: +PORT_DOWN`),
    );
    expect((await ping(0, 1)).code).not.toBe(0);
    ofctl(target, "mod-port", "2", "up");
    expect((await ping(0, 1)).stdout).toMatch(/2 received/);
    ofctl(target, "mod-port", topo.hosts[2].switchIf, "noflood");
    ofctl(target, "add-flow", "priority=50,dl_type=0x88b5,actions=FLOOD");
    const before = rxPackets(topo, 2);
    const before1 = rxPackets(topo, 1);
    // An Ethernet frame from host 1 (ether type 0x88b5) via packet-out in_port=1, actions=table.
    ofctl(target, "packet-out", "1", "table", frameHex(topo.hosts[0].mac));
    // The barrier ovs-ofctl waits for precedes the sends (the ports' transmit threads).
    await waitFor(() => rxPackets(topo, 1) > before1, "the frame on port 2", 5000, 50);
    await sleep(200); // a copy on port 3 would be out by now too
    expect(rxPackets(topo, 2)).toBe(before);
    expect(rxPackets(topo, 1)).toBe(before1 + 1);
    ofctl(target, "mod-port", topo.hosts[2].switchIf, "flood");
  });

  it("packet-out sends a frame out of the named port", async () => {
    const before = rxPackets(topo, 2);
    ofctl(target, "packet-out", "none", "output:3", frameHex(topo.hosts[0].mac));
    await waitFor(() => rxPackets(topo, 2) > before, "the frame on port 3", 5000, 50);
    await sleep(200); // a second copy would be out by now
    expect(rxPackets(topo, 2)).toBe(before + 1);
  });

  it("expires an idle_timeout flow; a monitor that set miss_send_len sees FLOW_REMOVED and PORT_STATUS, one that did not sees nothing (as OVS)", async () => {
    const monitor = (missLen?: string) =>
      startProcess("ovs-ofctl", [
        "-O",
        "OpenFlow10",
        `--unixctl=/tmp/ofswitch-test-monitor-${process.pid}-${missLen ?? "none"}.ctl`,
        "monitor",
        target,
        ...(missLen === undefined ? [] : [missLen]),
      ]);
    // A session on a listener is a service connection: no asynchronous messages until it asks
    // with a nonzero miss_send_len (ovs-ofctl monitor's MISS-LEN argument).
    const asked = monitor("128");
    const silent = monitor();
    try {
      await sleep(500);
      ofctl(
        target,
        "add-flow",
        "priority=77,idle_timeout=1,send_flow_rem,in_port=3,actions=output:1",
      );
      expect(flows()).toContain("idle_timeout=1");
      await asked.waitFor(/OFPT_FLOW_REMOVED.*priority.?77.*reason=idle/, 5000);
      expect(flows()).not.toContain("idle_timeout=1");
      // Carrier loss on a port (its peer goes down) reaches the controller as PORT_STATUS.
      // (Not the switch's own end: cap aborts on ENETDOWN, see docs/datapath.md.)
      const h3 = topo.hosts[2];
      await topo.runIn(2, `ip link set ${h3.hostIf} down`);
      try {
        await asked.waitFor(
          new RegExp(`OFPT_PORT_STATUS[^]*?MOD: 3\\(${h3.switchIf}\\)[^]*?LINK_DOWN`),
          5000,
        );
      } finally {
        await topo.runIn(2, `ip link set ${h3.hostIf} up`);
      }
      expect(silent.running).toBe(true);
      expect(silent.output).not.toMatch(/OFPT_FLOW_REMOVED|OFPT_PORT_STATUS|OFPT_PACKET_IN/);
    } finally {
      await asked.stop("SIGKILL");
      await silent.stop("SIGKILL");
    }
  });

  it("exits 0 on SIGTERM and restores IPv6 on its ports", async () => {
    const code = await daemon!.stop("SIGTERM");
    expect(code).toBe(0);
    for (const h of topo.hosts) expect(readFileSync(ipv6Path(h.switchIf), "utf8").trim()).toBe("0");
  });
});

/** RX packets of host `i`'s own veth end (what arrived from the switch). */
function rxPackets(topo: Topology, i: number): number {
  const h = topo.hosts[i];
  const path = `/sys/class/net/${h.hostIf}/statistics/rx_packets`;
  return Number(execFileSync("ip", ["netns", "exec", h.ns, "cat", path], { encoding: "utf8" }));
}

/** A 60-byte broadcast frame from `src` with the local experimental ether type 0x88b5. */
function frameHex(src: string): string {
  return `ffffffffffff${src.replace(/:/g, "")}88b5${"ab".repeat(46)}`;
}
