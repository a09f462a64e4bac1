// A Datapath of AfPacketPorts with virtio-net headers between hosts whose veths keep their
// default offloads: GSO frames and partial checksums go through whole, the kernel finishes
// them. Where the switch's own egress veth has tx checksumming off, the kernel must finish
// every checksum in software from the metadata the switch gave, and the receiving host then
// verifies it: a wrong csum_start or pseudo-header sum would show as InCsumErrors and stalls.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatapathAction } from "../../src/datapath/actions.js";
import { AfPacketPort } from "../../src/datapath/afpacket-port.js";
import { Datapath } from "../../src/datapath/datapath.js";
import { ipNum } from "../support/frames.js";
import { labPrefix, runSync, Topology } from "../support/netns.js";
import { afpacketMissing, skipWithout } from "../support/prereq.js";
import type { NetnsHost } from "../support/netns.js";
import { RuleLookup, ruleActions } from "../support/rule-lookup.js";
import { waitFor } from "../support/wait.js";

const skip = skipWithout(import.meta.url, afpacketMissing());

const out = (port: number): DatapathAction => ({ kind: "output", port });

function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr.on("data", (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(text);
      else reject(new Error(`${args.slice(3).join(" ")}: exit ${code}: ${text.slice(0, 400)}`));
    });
  });
}

/** InCsumErrors of TCP and UDP in a host's namespace. */
function csumErrors(lab: Topology, h: NetnsHost): number {
  const lines = lab.exec(h, "cat", ["/proc/net/snmp"]).split("\n");
  let total = 0;
  for (const proto of ["Tcp:", "Udp:"]) {
    const [names, values] = lines.filter((l) => l.startsWith(proto)).map((l) => l.split(/\s+/));
    total += Number(values[names.indexOf("InCsumErrors")]);
  }
  return total;
}

describe.skipIf(skip)("Datapath on AfPacketPorts with offload passthrough", () => {
  const lab = new Topology(labPrefix("apo"), 83);
  const lookup = new RuleLookup();
  let h1: NetnsHost;
  let h2: NetnsHost;
  let dp: Datapath;
  let ports: AfPacketPort[];

  beforeAll(() => {
    h1 = lab.addHost(1);
    h2 = lab.addHost(2);
    lab.staticArp();
    const [loopA, loopB] = lab.addVethPair("l"); // ports 3 and 4: a wire from the switch to itself
    dp = new Datapath({
      lookup,
      actionsOf: ruleActions,
      callbacks: { onMiss: () => {}, onController: () => {}, onPortChange: () => {} },
    });
    ports = [h1.switchIf, h2.switchIf, loopA, loopB].map((n, i) => new AfPacketPort(i + 1, n));
    ports.forEach((p) => dp.addPort(p));
  });

  afterAll(() => {
    dp?.close();
    lab.teardown();
  });

  /** iperf3 from h1 to `dst` (server on h2, port `serverPort`); returns bytes received. */
  async function iperf(dst: string, port: number, serverPort: number, extra: string[] = []) {
    const server = spawn(
      "ip",
      ["netns", "exec", h2.ns, "iperf3", "-s", "-1", "-p", String(serverPort)],
      { stdio: "ignore" },
    );
    try {
      await waitFor(
        () => lab.exec(h2, "ss", ["-ltnH", "sport", String(serverPort)]).includes(`${serverPort}`),
        "the iperf3 server",
      );
      const args = ["-c", dst, "-p", String(port), "--connect-timeout", "3000", "-J", ...extra];
      const text = await runAsync("ip", ["netns", "exec", h1.ns, "iperf3", ...args], 20_000);
      return (JSON.parse(text) as { end: { sum_received: { bytes: number } } }).end.sum_received
        .bytes;
    } finally {
      if (server.exitCode === null && server.pid !== undefined) process.kill(server.pid, "SIGKILL");
    }
  }

  function between1and2(): void {
    lookup.rules.length = 0;
    lookup.add({ inPort: 1 }, [out(2)]);
    lookup.add({ inPort: 2 }, [out(1)]);
  }

  it.each([false, true])("carries iperf3 TCP whole, without JS segmentation (-R %s)", async (r) => {
    between1and2();
    const before = { ...dp.egress.stats };
    const bytes = await iperf(h2.ip, 5321, 5321, ["-t", "2", ...(r ? ["-R"] : [])]);
    expect(bytes).toBeGreaterThan(10e6);
    const e = dp.egress.stats;
    expect(e.gsoSent - before.gsoSent).toBeGreaterThan(0);
    expect(e.tcpSegmented - before.tcpSegmented).toBe(0);
    const sender = ports[r ? 1 : 0];
    // GSO frames exceed a ring slot: their header came through the copy (recvmsg) path.
    expect(sender.afStats.gsoFrames).toBeGreaterThan(0);
    expect(sender.afStats.largeFrames).toBeGreaterThan(0);
    expect(ports.every((p) => p.offloads && p.counters.txErrors === 0)).toBe(true);
  });

  it("delivers a partial-checksum UDP datagram the receiver verifies", async () => {
    between1and2();
    runSync("ethtool", ["-K", h2.switchIf, "tx", "off"]); // the kernel finishes it; h2 checks it
    const errors0 = csumErrors(lab, h2);
    const offloaded0 = dp.egress.stats.checksumsOffloaded;
    const listener = spawn(
      "ip",
      [
        "netns",
        "exec",
        h2.ns,
        "/usr/bin/python3",
        "-c",
        "import socket;s=socket.socket(2,2);s.bind(('0.0.0.0',7002));s.settimeout(8);d,a=s.recvfrom(4000);print('GOT',len(d),a[0],flush=True)",
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    let got = "";
    listener.stdout.on("data", (d: Buffer) => (got += d.toString()));
    try {
      await waitFor(
        () => lab.exec(h2, "ss", ["-lunH", "sport", "7002"]).includes("7002"),
        "the UDP listener",
      );
      const send = `import socket;s=socket.socket(2,2);s.sendto(b'u'*1200,('${h2.ip}',7002))`;
      await runAsync("ip", ["netns", "exec", h1.ns, "/usr/bin/python3", "-c", send], 5000);
      await waitFor(() => got.includes("GOT"), "the datagram", 8000);
      const state = JSON.stringify({ egress: dp.egress.stats, rx: ports[0].afStats });
      expect(got, state).toContain(`GOT 1200 ${h1.ip}`);
      expect(dp.egress.stats.checksumsOffloaded, state).toBeGreaterThan(offloaded0);
      expect(csumErrors(lab, h2), state).toBe(errors0);
    } finally {
      if (listener.exitCode === null && listener.pid !== undefined)
        process.kill(listener.pid, "SIGKILL");
    }
  });

  it.each([true, false])(
    "carries TCP through a set_nw_dst/set_tp_dst NAT pair (switch veth tx csum %s)",
    async (txOn) => {
      for (const h of [h1, h2]) runSync("ethtool", ["-K", h.switchIf, "tx", txOn ? "on" : "off"]);
      const fake = h2.ip.replace(/\.\d+$/, ".99");
      lab.exec(h1, "ip", ["neigh", "replace", fake, "lladdr", h2.mac, "dev", h1.hostIf]);
      lookup.rules.length = 0;
      lookup.add({ inPort: 1, dlType: 0x0800, nwProto: 6, nwDst: ipNum(fake) }, [
        { kind: "set-nw-dst", addr: ipNum(h2.ip) },
        { kind: "set-tp-dst", port: 5323 },
        out(2),
      ]);
      lookup.add({ inPort: 2, dlType: 0x0800, nwProto: 6 }, [
        { kind: "set-nw-src", addr: ipNum(fake) },
        { kind: "set-tp-src", port: 7003 },
        out(1),
      ]);
      lookup.add({ inPort: 1 }, [out(2)]);
      lookup.add({ inPort: 2 }, [out(1)]);
      const errors0 = csumErrors(lab, h1) + csumErrors(lab, h2);
      const gso0 = dp.egress.stats.gsoSent;
      const bytes = await iperf(fake, 7003, 5323, ["-t", "1"]);
      expect(bytes).toBeGreaterThan(5e6);
      expect(dp.egress.stats.gsoSent).toBeGreaterThan(gso0);
      expect(csumErrors(lab, h1) + csumErrors(lab, h2)).toBe(errors0);
    },
  );

  it("pushes a VLAN tag on GSO frames and strips it again (through a veth loop)", async () => {
    for (const h of [h1, h2]) runSync("ethtool", ["-K", h.switchIf, "tx", "off"]);
    lookup.rules.length = 0;
    lookup.add({ inPort: 1, dlType: 0x0800, nwProto: 6 }, [
      { kind: "set-vlan-vid", vid: 10 },
      out(3),
    ]);
    lookup.add({ inPort: 4, dlVlan: 10 }, [{ kind: "strip-vlan" }, out(2)]);
    lookup.add({ inPort: 1 }, [out(2)]);
    lookup.add({ inPort: 2 }, [out(1)]);
    const errors0 = csumErrors(lab, h2);
    const loop = ports[3].afStats;
    const [vlan0, gso0] = [loop.vlanRestored, loop.gsoFrames];
    const bytes = await iperf(h2.ip, 5324, 5324, ["-t", "1"]);
    expect(bytes).toBeGreaterThan(5e6);
    expect(loop.vlanRestored).toBeGreaterThan(vlan0);
    expect(loop.gsoFrames).toBeGreaterThan(gso0); // tagged GSO frames crossed the loop whole
    expect(csumErrors(lab, h2)).toBe(errors0);
  });
});
