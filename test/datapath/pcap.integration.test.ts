// The datapath on real veths: two hosts in namespaces keep their default offloads (TSO/GSO,
// tx checksum offload); the switch ends are PcapPorts in this process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatapathAction } from "../../src/datapath/actions.js";
import type { PortChange, PortInfo } from "../../src/datapath/port.js";
import { Datapath } from "../../src/datapath/datapath.js";
import { PcapPort } from "../../src/datapath/pcap-port.js";
import { labPrefix, run, Topology } from "../support/netns.js";
import { capMissing, netnsMissing, skipWithout } from "../support/prereq.js";
import { RuleLookup, ruleActions } from "../support/rule-lookup.js";
import { ipNum } from "../support/frames.js";
import { waitFor } from "../support/wait.js";

const skip = skipWithout(import.meta.url, netnsMissing() ?? capMissing());

const out = (port: number): DatapathAction => ({ kind: "output", port });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface IperfJson {
  end?: { sum_received?: { bytes: number; bits_per_second: number } };
  error?: string;
}

describe.skipIf(skip)("Datapath on veths (pcap)", () => {
  let topo: Topology;
  let dp: Datapath;
  const lookup = new RuleLookup();
  const statuses: { change: PortChange; port: PortInfo; at: number }[] = [];

  beforeAll(() => {
    topo = Topology.create(labPrefix("dpi"), 2);
    dp = new Datapath({
      lookup,
      actionsOf: ruleActions,
      callbacks: {
        onMiss: () => {},
        onController: () => {},
        onPortChange: (change, port) => statuses.push({ change, port, at: performance.now() }),
      },
    });
    topo.hosts.forEach((h, i) => dp.addPort(new PcapPort(i + 1, h.switchIf)));
  });

  afterAll(() => {
    dp?.close();
    topo?.teardown();
  });

  function floodAll() {
    lookup.rules.length = 0;
    lookup.add({}, [{ kind: "flood" }]);
  }

  it("forwards ping both ways", async () => {
    floodAll();
    const r = await topo.runIn(0, `ping -c 3 -i 0.2 -W 2 ${topo.hosts[1].ip}`, 10_000);
    expect(r.stdout).toContain("3 received");
    const back = await topo.runIn(1, `ping -c 2 -i 0.2 -W 2 ${topo.hosts[0].ip}`, 10_000);
    expect(back.stdout).toContain("2 received");
  });

  for (const reverse of [false, true]) {
    it(`carries TCP with default offloads (iperf3 -t 3${reverse ? " -R" : ""})`, async () => {
      floodAll();
      const before = dp.egress.stats.tcpSegmented;
      const server = topo.spawnIn(1, "iperf3", ["-s", "-1"]);
      await server.waitListening(5201);
      const r = await topo.runIn(
        0,
        `iperf3 -c ${topo.hosts[1].ip} -t 3 -J --connect-timeout 3000 ${reverse ? "-R" : ""}`,
        15_000,
      );
      server.kill();
      const j = JSON.parse(r.stdout) as IperfJson;
      expect(j.error).toBeUndefined();
      const got = j.end?.sum_received;
      console.log(
        `iperf3${reverse ? " -R" : ""}: ${((got?.bits_per_second ?? 0) / 1e9).toFixed(3)} Gbit/s, ` +
          `egress ${JSON.stringify(dp.egress.stats)}`,
      );
      expect(got?.bytes ?? 0).toBeGreaterThan(10e6);
      // The senders' TSO really produced oversized frames that the datapath segmented.
      expect(dp.egress.stats.tcpSegmented).toBeGreaterThan(before);
    });
  }

  it("matches and forwards 802.1Q-tagged frames with their tags", async () => {
    lookup.rules.length = 0;
    lookup.add({ inPort: 1, dlVlan: 10, dlVlanPcp: 5 }, [out(2)]);
    lookup.add({ inPort: 1, dlVlan: 20 }, []); // dropped
    // The kernel here lacks 802.1Q (no VLAN sub-interfaces), so host 1 sends tagged frames
    // through a packet socket and host 2 captures them (libpcap restores stripped tags).
    const dump = topo.spawnIn(1, "tcpdump", [
      "-l",
      "-nn",
      "-e",
      "-c",
      "3",
      "-i",
      topo.hosts[1].hostIf,
      "vlan",
    ]);
    await sleep(500);
    const h1 = topo.hosts[0];
    const h2 = topo.hosts[1];
    const py = [
      "import socket,struct",
      `s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind(("${h1.hostIf}",0))`,
      `d=bytes.fromhex("${h2.mac.replace(/:/g, "")}");m=bytes.fromhex("${h1.mac.replace(/:/g, "")}")`,
      'ip=bytes.fromhex("4500001c00010000400100000a0000010a000002")+bytes.fromhex("0800f7ff00000000")',
      "for vid,pcp in ((20,0),(10,5),(20,0),(10,5),(10,5)):",
      '  s.send(d+m+struct.pack("!HHH",0x8100,(pcp<<13)|vid,0x0800)+ip)',
    ].join("\n");
    const sent = await topo.runIn(0, `/usr/bin/python3 -c '${py.replace(/'/g, "")}'`);
    expect(sent.code).toBe(0);
    await dump.wait(5000);
    dump.kill();
    const lines = dump
      .output()
      .split("\n")
      .filter((l) => l.includes("802.1Q"));
    expect(lines.length).toBe(3);
    expect(lines.every((l) => l.includes("vlan 10, p 5"))).toBe(true);
  });

  it("delivers set_nw_dst/set_tp_dst rewrites with checksums the receiver accepts", async () => {
    const [h1, h2] = topo.hosts;
    const fake = h2.ip.replace(/\.\d+$/, ".99");
    lookup.rules.length = 0;
    lookup.add({ inPort: 1, dlType: 0x0800, nwProto: 17, tpDst: 7000 }, [
      { kind: "set-nw-dst", addr: ipNum(h2.ip) },
      { kind: "set-tp-dst", port: 7001 },
      out(2),
    ]);
    lookup.add({}, [{ kind: "flood" }]);
    await topo.runIn(0, `ip neigh replace ${fake} lladdr ${h2.mac} dev ${h1.hostIf}`);
    const listener = topo.spawnIn(1, "/usr/bin/python3", [
      "-c",
      "import socket;s=socket.socket(2,2);s.bind(('0.0.0.0',7001));print('BOUND',flush=True);s.settimeout(8);d,a=s.recvfrom(2000);print('GOT',len(d),a[0],flush=True)",
    ]);
    // Datagrams sent before the bind meet a closed port (a Python start took > 0.4 s under load).
    await waitFor(() => listener.output().includes("BOUND"), "the UDP listener's bind");
    const snmpBefore = await topo.runIn(1, "cat /proc/net/snmp");
    const send = `import socket;s=socket.socket(2,2);[s.sendto(b'x'*1000,('${fake}',7000)) for i in range(3)]`;
    expect((await topo.runIn(0, `/usr/bin/python3 -c "${send}"`)).code).toBe(0);
    await listener.wait(8000);
    expect(listener.output()).toContain(`GOT 1000 ${h1.ip}`);
    const csumErrors = (snmp: string) => {
      const udp = snmp.split("\n").filter((l) => l.startsWith("Udp:"));
      const names = udp[0].split(/\s+/);
      return Number(udp[1].split(/\s+/)[names.indexOf("InCsumErrors")]);
    };
    const snmpAfter = await topo.runIn(1, "cat /proc/net/snmp");
    expect(csumErrors(snmpAfter.stdout)).toBe(csumErrors(snmpBefore.stdout));
  });

  it("notices a link going down and up within a second", async () => {
    dp.startLinkMonitor(250);
    statuses.length = 0;
    const h2 = topo.hosts[1];
    const t0 = performance.now();
    await topo.runIn(1, `ip link set ${h2.hostIf} down`);
    for (let i = 0; i < 20 && statuses.length === 0; i++) await sleep(100);
    expect(statuses[0]).toMatchObject({ change: "modified", port: { portNo: 2, linkDown: true } });
    expect(statuses[0].at - t0).toBeLessThan(1000);
    await topo.runIn(1, `ip link set ${h2.hostIf} up`);
    for (let i = 0; i < 30 && statuses.length < 2; i++) await sleep(100);
    expect(statuses[1]).toMatchObject({ change: "modified", port: { portNo: 2, linkDown: false } });
    dp.stopLinkMonitor();
  });

  it("survives its own interface going down and up (the kernel's ENETDOWN on its socket)", async () => {
    floodAll();
    dp.startLinkMonitor(250);
    const s2 = topo.hosts[1].switchIf;
    try {
      expect((await run(`ip link set ${s2} down`)).code).toBe(0);
      await sleep(700);
      expect((await run(`ip link set ${s2} up`)).code).toBe(0);
      const t0 = performance.now();
      const r = await topo.runIn(0, `ping -c 1 -i 0.05 -w 3 ${topo.hosts[1].ip}`, 10_000);
      expect(r.code).toBe(0);
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      dp.stopLinkMonitor();
    }
  });
});
