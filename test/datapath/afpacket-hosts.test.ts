// AfPacketPort with hosts in namespaces whose veths keep their default offloads: the kernel
// hands the port partial checksums and TCP frames far above the MTU (GSO), as it does PcapPort.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AFP_RX } from "../../src/datapath/afpacket-native.js";
import { AfPacketPort } from "../../src/datapath/afpacket-port.js";
import { isPartialChecksum } from "../../src/packet/checksum.js";
import { Egress } from "../../src/datapath/egress.js";
import { PacketLayout, parseFrame } from "../../src/packet/parse.js";
import { PcapPort } from "../../src/datapath/pcap-port.js";
import { createPort, resolveBackend } from "../../src/datapath/port-factory.js";
import { VNET_GSO } from "../../src/datapath/vnet.js";
import { FlowKey } from "../../src/packet/flow-key.js";
import { labPrefix, runSync, Topology } from "../support/netns.js";
import { afpacketMissing, capMissing, skipWithout } from "../support/prereq.js";
import type { NetnsHost } from "../support/netns.js";
import { waitFor } from "../support/wait.js";

// The far end is a libpcap port: independent code on the other side of the wire.
const skip = skipWithout(import.meta.url, afpacketMissing() ?? capMissing());

function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe.skipIf(skip)("AfPacketPort between hosts with offloads on", () => {
  const lab = new Topology(labPrefix("aph"), 81);
  let h1: NetnsHost;
  let h2: NetnsHost;
  beforeAll(() => {
    h1 = lab.addHost(1);
    h2 = lab.addHost(2);
    lab.staticArp();
  });
  afterAll(() => lab.teardown());

  it("flags frames whose UDP checksum the sender left partial", async () => {
    const a = new AfPacketPort(1, h1.switchIf);
    const got: { frame: Buffer; flags: number; csum: number[] }[] = [];
    a.open((frame, length) => {
      if (frame.readUInt16BE(12) === 0x0800 && frame[23] === 17)
        got.push({
          frame: Buffer.from(frame.subarray(0, length)),
          flags: a.rxFlags,
          csum: [a.rxOffload?.csumStart ?? -1, a.rxOffload?.csumOffset ?? -1],
        });
    });
    try {
      // The socket hands the datagram to a veth with checksum offload: CHECKSUM_PARTIAL.
      lab.exec(h1, "bash", ["-c", `echo partial > /dev/udp/${h2.ip}/9`]);
      await waitFor(() => got.length >= 1, "the UDP frame");
      const { frame, flags } = got[0];
      expect(flags & AFP_RX.CSUM_PARTIAL).toBe(AFP_RX.CSUM_PARTIAL);
      const layout = new PacketLayout();
      parseFrame(frame, frame.length, 1, new FlowKey(), layout);
      expect(isPartialChecksum(frame, layout)).toBe(true);
      expect(a.afStats.checksumPartial).toBeGreaterThanOrEqual(1);
      // The virtio-net header says where: at the UDP header, checksum 6 bytes in.
      expect(a.offloads).toBe(true);
      expect(got[0].csum).toEqual([layout.l4Offset, 6]);
    } finally {
      a.close();
    }
  });

  // vnetHdr false: egress segments and completes in JavaScript; true: the kernel does.
  it.each([false, true])("receives GSO frames whole; TCP completes (vnetHdr %s)", async (vnet) => {
    const a = new AfPacketPort(1, h1.switchIf, { vnetHdr: vnet });
    const b = new AfPacketPort(2, h2.switchIf, { vnetHdr: vnet });
    const egress = new Egress();
    const key = new FlowKey();
    const layout = new PacketLayout();
    let largest = 0;
    let gsoSeen = 0;
    a.open((frame, length) => {
      largest = Math.max(largest, length);
      if (length > a.mtu + 14 && a.rxOffload?.gsoType === VNET_GSO.TCPV4) gsoSeen++;
      parseFrame(frame, length, 1, key, layout);
      egress.setIngress(a.rxOffload, layout);
      egress.transmit(b, frame, length, layout);
    });
    b.open((frame, length) => {
      parseFrame(frame, length, 2, key, layout);
      egress.setIngress(b.rxOffload, layout);
      egress.transmit(a, frame, length, layout);
    });
    const server = spawn("ip", ["netns", "exec", h2.ns, "iperf3", "-s", "-1", "-p", "5302"], {
      stdio: "ignore",
    });
    try {
      await waitFor(
        () =>
          runSync("ip", ["netns", "exec", h2.ns, "ss", "-ltnH", "sport", "5302"]).includes("5302"),
        "the iperf3 server",
      );
      const code = await runAsync(
        "ip",
        ["netns", "exec", h1.ns, "iperf3", "-c", h2.ip, "-p", "5302", "-n", "4M"],
        20_000,
      );
      expect(code).toBe(0);
      expect(a.afStats.largeFrames).toBeGreaterThan(0);
      expect(largest).toBeGreaterThan(a.mtu + 14);
      expect(a.offloads).toBe(vnet);
      if (vnet) {
        expect(gsoSeen).toBeGreaterThan(0);
        expect(a.afStats.gsoFrames).toBeGreaterThan(0);
        expect(egress.stats.gsoSent).toBeGreaterThan(0);
        expect(egress.stats.tcpSegmented + egress.stats.checksumsCompleted).toBe(0);
      } else {
        expect(egress.stats.tcpSegmented).toBeGreaterThan(0);
        expect(egress.stats.gsoSent + egress.stats.checksumsOffloaded).toBe(0);
      }
      expect(a.counters.rxErrors + a.counters.rxOverErr).toBe(0);
    } finally {
      server.kill("SIGKILL");
      a.close();
      b.close();
    }
  });

  it("creates the backend the selector names; auto takes AF_PACKET when the addon loads", () => {
    expect(resolveBackend("auto").backend).toBe("afpacket");
    const ports = [
      createPort(1, h1.switchIf, { backend: "afpacket" }),
      createPort(2, h2.switchIf, { backend: "pcap" }),
      createPort(3, h1.switchIf),
    ];
    expect(ports.map((p) => p.constructor.name)).toEqual([
      "AfPacketPort",
      "PcapPort",
      "AfPacketPort",
    ]);
    expect(ports[1]).toBeInstanceOf(PcapPort);
    expect(() => createPort(4, `${lab.prefix}none`, { backend: "afpacket" })).toThrow(
      /does not exist/,
    );
  });
});
