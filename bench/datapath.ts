// Datapath micro-benchmarks: frames parsed per second (TCP/UDP/ARP/VLAN mix), and frames per
// second through Datapath.receive (parse + lookup + compiled actions + egress) into a sink port
// for common action lists; plus software TCP segmentation of 64 KiB GSO frames.
// Run after `npx tsc -p .`:  node dist/bench/datapath.js [seconds-per-case]
import type { DatapathAction } from "../src/datapath/actions.js";
import { FlowKey } from "../src/packet/flow-key.js";
import { Datapath } from "../src/datapath/datapath.js";
import { PacketLayout, parseFrame } from "../src/packet/parse.js";
import { PortCounters, type Port, type PortInfo } from "../src/datapath/port.js";
import { arp, eth, ipv4, tcp, tcpFrame, udpFrame } from "../test/support/frames.js";
import { RuleLookup, ruleActions } from "../test/support/rule-lookup.js";

const seconds = Number(process.argv[2] ?? 2);

/** A port that only counts what it is given (no copy, no I/O). */
class SinkPort implements Port {
  config = 0;
  mtu = 1500;
  hwAddr = "02:00:00:00:00:99";
  readonly counters = new PortCounters();
  constructor(
    readonly portNo: number,
    readonly name: string,
  ) {}
  open(): void {}
  send(_frame: Buffer, length: number): boolean {
    this.counters.txPackets++;
    this.counters.txBytes += length;
    return true;
  }
  refresh() {
    return "unchanged" as const;
  }
  info(): PortInfo {
    return {
      portNo: this.portNo,
      name: this.name,
      hwAddr: this.hwAddr,
      config: 0,
      linkDown: false,
      speedMbps: 0,
      duplex: "unknown",
    };
  }
  close(): void {}
}

/** A Datapath with one rule (`actions`) and two sink ports; frames are fed to port 1. */
function sinkDatapath(actions: DatapathAction[]): { dp: Datapath; p1: SinkPort } {
  const lookup = new RuleLookup();
  lookup.add({}, actions);
  const dp = new Datapath({
    lookup,
    actionsOf: ruleActions,
    callbacks: { onMiss() {}, onController() {}, onPortChange() {} },
  });
  const p1 = new SinkPort(1, "in");
  dp.addPort(p1);
  dp.addPort(new SinkPort(2, "out"));
  return { dp, p1 };
}

/** Runs `fn(i)` in batches until `seconds` pass; returns operations per second. */
function rate(label: string, fn: (i: number) => void): number {
  for (let i = 0; i < 200_000; i++) fn(i); // warm-up
  const batch = 100_000;
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let i = 0; i < batch; i++) fn(n + i);
    n += batch;
    t = performance.now();
  }
  const r = n / ((t - t0) / 1000);
  console.log(`${label.padEnd(56)} ${(r / 1e6).toFixed(2)} M/s`);
  return r;
}

function main() {
  console.log(`node ${process.version}, ${seconds} s per case`);
  const mix = [
    tcpFrame({}, new Array(1400).fill(0)),
    udpFrame({}, new Array(200).fill(0)),
    eth({ type: 0x0806, dst: "ff:ff:ff:ff:ff:ff" }, arp(1, "10.0.0.1", "10.0.0.2")),
    tcpFrame({ vlan: { vid: 10, pcp: 3 } }, new Array(60).fill(0)),
  ];
  const key = new FlowKey();
  const layout = new PacketLayout();
  rate("parseFrame (TCP/UDP/ARP/VLAN mix)", (i) => {
    const f = mix[i & 3];
    parseFrame(f, f.length, 1, key, layout);
  });

  const cases: [string, DatapathAction[]][] = [
    ["output", []],
    ["set_dl_dst + output", [{ kind: "set-dl-dst", mac: "02:00:00:00:00:42" }]],
    ["set_nw_dst + output", [{ kind: "set-nw-dst", addr: 0x0a000063 }]],
    ["set_vlan_vid + output (tag push)", [{ kind: "set-vlan-vid", vid: 5 }]],
  ];
  const frame = tcpFrame({}, new Array(1400).fill(0));
  for (const [label, rewrites] of cases) {
    const { dp, p1 } = sinkDatapath([...rewrites, { kind: "output", port: 2 }]);
    rate(`receive -> ${label} (1454-byte TCP)`, () => dp.receive(p1, frame, frame.length));
  }

  // Egress work caused by offloads: completing a partial checksum, segmenting a GSO frame.
  const gso = eth(
    { type: 0x0800 },
    ipv4({ proto: 6 }, tcp({ sport: 1, dport: 2 }, new Array(65000).fill(7))),
  );
  const { dp, p1 } = sinkDatapath([{ kind: "output", port: 2 }]);
  const r = rate("receive -> output, 65 KB GSO frame segmented", () =>
    dp.receive(p1, gso, gso.length),
  );
  console.log(`${"  = payload segmented".padEnd(56)} ${((r * 65000 * 8) / 1e9).toFixed(2)} Gbit/s`);
}

main();
