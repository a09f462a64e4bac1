// The learning switch drives a real Open vSwitch (userspace datapath, OpenFlow 1.0, fail_mode
// secure, so nothing passes without the controller) between two namespaced hosts: ping, then a
// short iperf3 run. ovs-vswitchd runs in a namespace of its own; the controller (in this
// process, root namespace) is reached over a veth from that namespace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { OFPAT, OFPPC } from "../../src/openflow/of10/constants.js";
import { Controller, type SwitchHandle } from "../../src/controller/index.js";
import { learningSwitch } from "../../src/controller/apps/learning-switch.js";
import { Topology, labPrefix } from "../support/netns.js";
import { netnsMissing, skipWithout } from "../support/prereq.js";
import { logSink } from "./fake-switch.js";
import { OvsNamespace, missingOvs, offloadsOff } from "./ovs-netns.js";

const skip = skipWithout(import.meta.url, netnsMissing() ?? missingOvs());

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: timeout`)), ms)),
  ]);
}

describe.skipIf(skip)("learning switch with Open vSwitch", () => {
  const log = logSink();
  const controller = new Controller({ logger: pino({ level: "info" }, log) });
  let topo: Topology | undefined;
  let ovs: OvsNamespace | undefined;
  let sw: SwitchHandle;
  let controllerPort = 0;
  const host = (i: number) => topo!.hosts[i];

  beforeAll(async () => {
    topo = Topology.create(labPrefix("cv"), 2);
    ovs = new OvsNamespace(labPrefix("cv"), `172.31.${process.pid % 250}`);
    for (const h of topo.hosts) {
      offloadsOff(h.ns, h.hostIf);
      ovs.adopt(h.switchIf);
    }
    learningSwitch(controller);
    const joined = new Promise<SwitchHandle>((resolve) => controller.on("join", resolve));
    controllerPort = (await controller.listen(`ptcp:0:${ovs.hostIp}`)).port;
    ovs.vsctl([
      "add-br",
      "br0",
      "--",
      "set",
      "bridge",
      "br0",
      "datapath_type=netdev",
      "protocols=OpenFlow10",
      "fail_mode=secure",
      "other-config:datapath-id=00000000000000c1",
    ]);
    ovs.vsctl(["add-port", "br0", host(0).switchIf, "--", "add-port", "br0", host(1).switchIf]);
    ovs.vsctl(["set-controller", "br0", `tcp:${ovs.hostIp}:${controllerPort}`]);
    sw = await withTimeout(joined, 15_000, "Open vSwitch joining the controller");
  }, 40_000);

  afterAll(async () => {
    await controller.close();
    ovs?.teardown();
    topo?.teardown();
  });

  it("joins with its datapath id and ports", () => {
    expect(sw.datapathId).toBe(0xc1n);
    const names = [...sw.ports.values()].map((port) => port.name).sort();
    expect(names).toEqual(["br0", host(0).switchIf, host(1).switchIf].sort());
  });

  it("ping passes, and the controller installed exact-match flows with a 60 s idle timeout", async () => {
    const r = await topo!.runIn(0, `ping -c 3 -i 0.2 -W 2 ${host(1).ip}`, 15_000);
    expect(r.stdout).toMatch(/3 received/);
    const flows = await sw.flowStats();
    const ipFlows = flows.filter((f) => f.match.dlType === 0x0800 && f.match.nwProto === 1);
    expect(ipFlows.length).toBeGreaterThanOrEqual(1);
    for (const f of ipFlows) {
      expect(f.idleTimeout).toBe(60);
      expect(f.match.wildcards).toBe(0);
      expect(f.actions[0]).toMatchObject({ type: OFPAT.OUTPUT });
    }
  }, 20_000);

  it("a short iperf3 TCP run moves data through the flows", async () => {
    const server = topo!.spawnIn(1, "iperf3", ["-s", "-1", "-B", host(1).ip]);
    let out = "";
    for (let attempt = 0; attempt < 20 && out === ""; attempt++) {
      const r = await topo!.runIn(0, `iperf3 -c ${host(1).ip} -t 2 -J`, 20_000);
      if (r.code === 0) out = r.stdout;
      else await new Promise((res) => setTimeout(res, 100)); // server not listening yet
    }
    await server.wait(5000);
    const result = JSON.parse(out) as { end: { sum_received: { bytes: number } } };
    expect(result.end.sum_received.bytes).toBeGreaterThan(1_000_000);
    expect(log.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  }, 25_000);

  it("connect(): reaches Open vSwitch listening on ptcp:, and every stats request is answered", async () => {
    // ptcp:0: Open vSwitch binds a free port, found with ss in its namespace.
    ovs!.vsctl([
      "set-controller",
      "br0",
      `tcp:${ovs!.hostIp}:${controllerPort}`,
      `ptcp:0:${ovs!.ovsIp}`,
    ]);
    let listenPort: number | undefined;
    for (let attempt = 0; attempt < 50 && listenPort === undefined; attempt++) {
      listenPort = ovs!.listeningPorts(ovs!.ovsIp)[0];
      if (listenPort === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(listenPort, "Open vSwitch did not listen on ptcp:0").toBeDefined();
    const second = new Controller({ logger: pino({ level: "info" }, logSink()) });
    try {
      let handle: SwitchHandle | undefined;
      for (let attempt = 0; attempt < 50 && handle === undefined; attempt++) {
        handle = await second.connect(`tcp:${ovs!.ovsIp}:${listenPort}`).catch(async () => {
          await new Promise((r) => setTimeout(r, 100)); // listener not up yet
          return undefined;
        });
      }
      expect(handle?.datapathId).toBe(0xc1n);
      const desc = await handle!.descStats();
      expect(desc.mfrDesc).toMatch(/Nicira/);
      const [table] = await handle!.tableStats();
      expect(table.activeCount).toBeGreaterThanOrEqual(1);
      const aggregate = await handle!.aggregateStats();
      expect(aggregate.flowCount).toBe(table.activeCount);
      const ports = await handle!.portStats();
      expect(ports.length).toBe(3); // two veths and the bridge's local port
      expect(await handle!.queueStats()).toEqual([]);
      await handle!.barrier();
      // A service (ptcp) connection starts with miss_send_len 0 in Open vSwitch; set it, read it.
      handle!.setConfig({ flags: 0, missSendLen: 256 });
      expect(await handle!.getConfig()).toEqual({ flags: 0, missSendLen: 256 });
    } finally {
      await second.close();
    }
  }, 20_000);

  it("portMod: Open vSwitch applies it (seen by ovs-ofctl show)", async () => {
    const port = [...sw.ports.values()].find((p) => p.name === host(1).switchIf)!;
    // OF1.0 switches send no PORT_STATUS to the connection that made the change.
    sw.portMod({ portNo: port.portNo, config: OFPPC.NO_FLOOD, mask: OFPPC.NO_FLOOD });
    await sw.barrier();
    const show = ovs!.ofctl(["-O", "OpenFlow10", "show", "br0"]);
    const block = show.split(/\n(?= \d+\()/).find((b) => b.includes(`(${port.name})`))!;
    expect(block).toMatch(/config:\s+NO_FLOOD/);
  });
});
