import { describe, expect, it } from "vitest";
import { Datapath } from "../../src/datapath/datapath.js";
import { CompiledActions, NO_PORT, type DatapathAction } from "../../src/datapath/actions.js";
import { PORT_CONFIG, type PortChange, type PortInfo } from "../../src/datapath/port.js";
import { MemoryPort } from "../support/memory-port.js";
import { RxOffload, VNET_GSO } from "../../src/datapath/vnet.js";
import { eth, arp, tcpFrame, tcpv6GsoFrame, udpFrame } from "../support/frames.js";
import { OffloadSink } from "../support/offload-sink.js";
import { RuleLookup, ruleActions } from "../support/rule-lookup.js";

const out = (port: number): DatapathAction => ({ kind: "output", port });

function setup(n = 3) {
  const lookup = new RuleLookup();
  const misses: { inPort: number; length: number; dlType: number }[] = [];
  const controller: { inPort: number; maxLen: number; bytes: Buffer }[] = [];
  const statuses: { change: PortChange; port: PortInfo }[] = [];
  const dp = new Datapath({
    lookup,
    actionsOf: ruleActions,
    callbacks: {
      onMiss: (_f, length, inPort, key) => misses.push({ inPort, length, dlType: key.dlType }),
      onController: (frame, length, inPort, maxLen) =>
        controller.push({ inPort, maxLen, bytes: Buffer.from(frame.subarray(0, length)) }),
      onPortChange: (change, port) => statuses.push({ change, port }),
    },
  });
  const sw: MemoryPort[] = [];
  const hosts: MemoryPort[] = [];
  for (let i = 1; i <= n; i++) {
    const [s, h] = MemoryPort.pair(i, `p${i}`, `02:00:00:00:00:0${i}`);
    dp.addPort(s);
    sw.push(s);
    hosts.push(h);
  }
  return { dp, lookup, sw, hosts, misses, controller, statuses };
}

function send(h: MemoryPort, f: Buffer) {
  h.send(f, f.length);
}

describe("Datapath", () => {
  it("forwards by flow, counts the hit and caches the compiled actions", () => {
    const { lookup, hosts, sw } = setup();
    const rule = lookup.add({ inPort: 1 }, [out(2)]);
    const f = tcpFrame();
    send(hosts[0], f);
    send(hosts[0], f);
    expect(hosts[1].received).toEqual([f, f]);
    expect(hosts[2].received).toEqual([]);
    expect([rule.packets, rule.bytes]).toEqual([2, 2 * f.length]);
    expect(rule.compiled).toBeInstanceOf(CompiledActions);
    const first = rule.compiled;
    send(hosts[0], f);
    expect(rule.compiled).toBe(first);
    rule.setActions([out(3)]);
    send(hosts[0], f);
    expect(hosts[2].received).toEqual([f]);
    expect(sw[0].counters.rxPackets).toBe(4);
    expect(sw[1].counters.txPackets).toBe(3);
  });

  it("reports misses with the parsed key, unless the port has NO_PACKET_IN", () => {
    const { dp, hosts, misses } = setup();
    const f = eth({ type: 0x0806 }, arp(1, "10.0.0.1", "10.0.0.2"));
    send(hosts[1], f);
    expect(misses).toEqual([{ inPort: 2, length: f.length, dlType: 0x0806 }]);
    dp.setPortConfig(2, PORT_CONFIG.NO_PACKET_IN, PORT_CONFIG.NO_PACKET_IN);
    send(hosts[1], f);
    expect(misses.length).toBe(1);
    expect(dp.stats).toMatchObject({ missed: 2, packetInSuppressed: 1 });
  });

  it("floods to all ports but the input and NO_FLOOD ones; ALL includes NO_FLOOD", () => {
    const { dp, lookup, hosts } = setup(4);
    lookup.add({ inPort: 1 }, [{ kind: "flood" }]);
    lookup.add({ inPort: 2 }, [{ kind: "all" }]);
    dp.setPortConfig(3, PORT_CONFIG.NO_FLOOD, PORT_CONFIG.NO_FLOOD);
    dp.setPortConfig(4, PORT_CONFIG.DOWN, PORT_CONFIG.DOWN);
    send(hosts[0], tcpFrame());
    expect(hosts.map((h) => h.received.length)).toEqual([0, 1, 0, 0]);
    send(hosts[1], tcpFrame());
    expect(hosts.map((h) => h.received.length)).toEqual([1, 1, 1, 0]);
  });

  it("enforces PORT_DOWN / NO_RECV on receive and NO_FWD / PORT_DOWN on output", () => {
    const { dp, lookup, hosts, sw } = setup();
    lookup.add({}, [{ kind: "all" }]);
    dp.setPortConfig(1, PORT_CONFIG.NO_RECEIVE, PORT_CONFIG.NO_RECEIVE);
    send(hosts[0], tcpFrame());
    expect(hosts.map((h) => h.received.length)).toEqual([0, 0, 0]);
    expect(sw[0].counters.rxDropped).toBe(1);
    dp.setPortConfig(1, 0, PORT_CONFIG.NO_RECEIVE);
    dp.setPortConfig(2, PORT_CONFIG.NO_FORWARD, PORT_CONFIG.NO_FORWARD);
    send(hosts[0], tcpFrame());
    expect(hosts.map((h) => h.received.length)).toEqual([0, 0, 1]);
    lookup.rules[0].setActions([out(2)]);
    send(hosts[0], tcpFrame());
    expect(sw[1].counters.txDropped).toBe(1);
    expect(dp.setPortConfig(9, 0, 0)).toBe(false);
  });

  it("PORT_DOWN sets the interface down and up (Port.setAdminUp) only when DOWN changes", () => {
    const { dp, lookup, sw, hosts } = setup();
    lookup.add({}, [{ kind: "all" }]);
    const calls: boolean[] = [];
    // The flag is already set when the interface goes down: no frame passes in between.
    sw[1].setAdminUp = (up) => {
      calls.push(up);
      send(hosts[0], tcpFrame());
    };
    dp.setPortConfig(2, PORT_CONFIG.DOWN, PORT_CONFIG.DOWN);
    dp.setPortConfig(2, PORT_CONFIG.DOWN, PORT_CONFIG.DOWN | PORT_CONFIG.NO_FLOOD);
    expect(hosts[1].received).toHaveLength(0);
    expect(hosts[2].received).toHaveLength(1);
    dp.setPortConfig(2, PORT_CONFIG.NO_FLOOD, PORT_CONFIG.NO_FLOOD);
    dp.setPortConfig(2, 0, PORT_CONFIG.DOWN);
    expect(calls).toEqual([false, true]);
    expect(sw[1].config).toBe(PORT_CONFIG.NO_FLOOD);
  });

  it("PORT_DOWN the system refuses: DOWN unchanged, the other bits set, the error handed on", () => {
    const { dp, sw } = setup();
    sw[1].setAdminUp = () => {
      throw new Error("EPERM");
    };
    const errors: unknown[] = [];
    const mask = PORT_CONFIG.DOWN | PORT_CONFIG.NO_FLOOD;
    expect(dp.setPortConfig(2, mask, mask, (e) => errors.push(e))).toBe(true);
    expect(sw[1].config).toBe(PORT_CONFIG.NO_FLOOD);
    expect(errors.map((e) => (e as Error).message)).toEqual(["EPERM"]);
  });

  it("sends to the controller with the action's maxLen, after the rewrites before it", () => {
    const { lookup, hosts, controller } = setup();
    lookup.add({}, [
      { kind: "set-tp-dst", port: 99 },
      { kind: "controller", maxLen: 64 },
    ]);
    send(hosts[2], udpFrame());
    expect(controller.length).toBe(1);
    expect(controller[0]).toMatchObject({ inPort: 3, maxLen: 64 });
    expect(controller[0].bytes.readUInt16BE(36)).toBe(99);
  });

  it("learns MACs for NORMAL: floods unknown and broadcast, unicasts known, ages out", () => {
    const { dp, lookup, hosts } = setup();
    lookup.add({}, [{ kind: "normal" }]);
    const a = "02:aa:00:00:00:01";
    const b = "02:bb:00:00:00:02";
    send(hosts[0], eth({ src: a, dst: b, type: 0x0800 }, [0x45]));
    expect(hosts.map((h) => h.received.length)).toEqual([0, 1, 1]); // b unknown: flooded
    send(hosts[1], eth({ src: b, dst: a, type: 0x0800 }, [0x45]));
    expect(hosts.map((h) => h.received.length)).toEqual([1, 1, 1]); // a learned on port 1
    send(hosts[0], eth({ src: a, dst: b, type: 0x0800 }, [0x45]));
    expect(hosts.map((h) => h.received.length)).toEqual([1, 2, 1]);
    send(hosts[0], eth({ src: a, dst: "ff:ff:ff:ff:ff:ff", type: 0x0806 }, [0]));
    expect(hosts.map((h) => h.received.length)).toEqual([1, 3, 2]);
    dp.now += 301;
    send(hosts[0], eth({ src: "02:cc:00:00:00:03", dst: b, type: 0x0800 }, [0x45]));
    expect(hosts.map((h) => h.received.length)).toEqual([1, 4, 3]); // b aged out: flooded
  });

  it("runs packet_out actions, with TABLE resubmitting to the flow table", () => {
    const { dp, lookup, hosts, misses } = setup();
    lookup.add({ inPort: 3 }, [out(1)]);
    dp.execute([out(2), { kind: "table" }], tcpFrame(), undefined, 3);
    expect(hosts.map((h) => h.received.length)).toEqual([1, 1, 0]);
    dp.execute([{ kind: "in-port" }], tcpFrame(), undefined, 2);
    expect(hosts[1].received.length).toBe(2);
    dp.execute([{ kind: "table" }], tcpFrame(), undefined, 0xfffd);
    dp.execute([{ kind: "table" }], tcpFrame());
    expect(misses.map((m) => m.inPort)).toEqual([0xfffd, NO_PORT]);
    // TABLE in a flow's own actions goes nowhere.
    lookup.rules[0].setActions([{ kind: "table" }, { kind: "local" }]);
    send(hosts[2], tcpFrame());
    expect(dp.stats).toMatchObject({ tableDrops: 1, localDrops: 1 });
  });

  it("counts runts, and counts and logs (at most once per interval) exceptions", () => {
    const { dp, hosts, sw } = setup();
    send(hosts[0], Buffer.alloc(10));
    expect(dp.stats.runts).toBe(1);
    expect(sw[0].counters.rxFrameErr).toBe(1);
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const bad = new Datapath({
      lookup: new RuleLookup(),
      actionsOf: ruleActions,
      callbacks: {
        onMiss: () => {
          throw new Error("boom");
        },
        onController: () => {},
        onPortChange: () => {},
      },
      log: { error: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }) },
    });
    const [s, h] = MemoryPort.pair(1, "x");
    bad.addPort(s);
    for (let i = 0; i < 5; i++) send(h, tcpFrame());
    expect(bad.stats.errors).toBe(5);
    expect(lines).toHaveLength(1);
    expect(lines[0].msg).toMatch(/datapath fault/);
    expect(lines[0].obj).toMatchObject({ port: "x", portNo: 1, where: "receive" });
    expect((lines[0].obj.err as Error).message).toBe("boom");
    // A port whose poll throws is counted the same way.
    s.refresh = () => {
      throw new Error("sysfs");
    };
    bad.tick();
    expect(bad.stats.errors).toBe(6);
  });

  it("reports link changes as modified and vanished ports as deleted", () => {
    const { dp, sw, statuses } = setup();
    dp.tick();
    expect(statuses).toEqual([]);
    sw[1].linkUp = false;
    dp.tick();
    expect(statuses.map((s) => [s.change, s.port.portNo, s.port.linkDown])).toEqual([
      ["modified", 2, true],
    ]);
    sw[2].close();
    dp.tick();
    expect(statuses[1]).toMatchObject({ change: "deleted", port: { portNo: 3 } });
    expect(dp.ports().map((p) => p.portNo)).toEqual([1, 2]);
  });
});

describe("Datapath when interfaces vanish and return", () => {
  it("keeps a vanished port's number and adds it back as a new port when it returns", () => {
    const { dp, lookup, sw, hosts, statuses } = setup();
    lookup.add({}, [{ kind: "flood" }]);
    sw[1].config = PORT_CONFIG.NO_FLOOD;
    send(hosts[1], tcpFrame());
    sw[1].present = false;
    dp.tick();
    expect(statuses.map((s) => [s.change, s.port.portNo])).toEqual([["deleted", 2]]);
    expect(dp.ports().map((p) => p.portNo)).toEqual([1, 3]);
    expect(dp.waitingPorts().map((p) => p.portNo)).toEqual([2]);
    expect(dp.port(2)).toBeUndefined();
    expect(() => dp.addPort(MemoryPort.pair(2, "other")[0])).toThrow(/port 2 already exists/);
    lookup.rules[0].setActions([out(2)]);
    send(hosts[0], tcpFrame());
    expect(dp.stats.noSuchPort).toBe(1);
    dp.tick();
    expect(statuses).toHaveLength(1);
    sw[1].present = true;
    dp.tick();
    expect(statuses.map((s) => [s.change, s.port.portNo])).toEqual([
      ["deleted", 2],
      ["added", 2],
    ]);
    // A new port to OpenFlow: config and counters start over; the order stays by number.
    expect(dp.ports().map((p) => p.portNo)).toEqual([1, 2, 3]);
    expect(sw[1].config).toBe(0);
    expect(sw[1].counters.rxPackets).toBe(0);
    send(hosts[0], tcpFrame());
    expect(hosts[1].received).toHaveLength(1);
  });

  it("removes a waiting port for good on request, and on close", () => {
    const { dp, sw } = setup();
    sw[2].present = false;
    dp.tick();
    expect(dp.removePort(3)).toBe(sw[2]);
    expect(dp.waitingPorts()).toEqual([]);
    sw[1].present = false;
    dp.tick();
    dp.close();
    expect(dp.waitingPorts()).toEqual([]);
    expect(dp.ports()).toEqual([]);
  });
});

describe("Datapath standalone forwarding of a miss", () => {
  it("keeps the frame's receive offload state, so IPv6 GSO frames go out whole", () => {
    const results: boolean[] = [];
    let viaExecute = false;
    const dp: Datapath = new Datapath({
      lookup: new RuleLookup(),
      actionsOf: ruleActions,
      callbacks: {
        onMiss: (frame, length, inPort) => {
          if (viaExecute) dp.execute([{ kind: "normal" }], frame, length, inPort);
          else results.push(dp.forwardMissNormal(frame, length, inPort));
        },
        onController: () => {},
        onPortChange: () => {},
      },
    });
    const a = new OffloadSink(1, "a");
    const b = new OffloadSink(2, "b");
    dp.addPort(a);
    dp.addPort(b);
    const g = tcpv6GsoFrame(8000);
    const rx = new RxOffload();
    Object.assign(rx, { gsoType: VNET_GSO.TCPV6, gsoSize: g.gsoSize, csumPartial: true });
    Object.assign(rx, { csumStart: g.csumStart, csumOffset: g.csumOffset });
    a.rxOffload = rx;
    dp.receive(a, g.frame, g.frame.length);
    expect(results).toEqual([true]);
    expect(b.sent.map((s) => [s.gsoType, s.gsoSize, s.frame.length])).toEqual([
      [VNET_GSO.TCPV6, 1428, g.frame.length],
    ]);
    expect(dp.egress.stats.oversizeDrops).toBe(0);
    // What the switch did before: a packet_out of NORMAL has no receive state and drops it.
    viaExecute = true;
    dp.receive(a, g.frame, g.frame.length);
    expect(dp.egress.stats.oversizeDrops).toBe(1);
    expect(dp.forwardMissNormal(g.frame, g.frame.length, 1)).toBe(false);
  });
});
