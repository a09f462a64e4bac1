// Egress onto a port that passes offloads through (virtio-net headers): which frames go whole
// with GSO/NEEDS_CSUM metadata, which take the JavaScript path, and that the metadata lets the
// kernel finish every checksum correctly (OffloadSink does what the kernel would).
import { describe, expect, it } from "vitest";
import { FlowKey } from "../../src/packet/flow-key.js";
import { ActionExecutor, compileActions, type ActionTarget } from "../../src/datapath/actions.js";
import { fold, l4Length, pseudoHeaderSum } from "../../src/packet/checksum.js";
import { Egress } from "../../src/datapath/egress.js";
import { PacketLayout, parseFrame } from "../../src/packet/parse.js";
import { RxOffload, VNET_GSO, VNET_HDR, writeVnetHdr } from "../../src/datapath/vnet.js";
import { checksumsOk, eth, ipNum, ipv4, tcp, udpFrame } from "../support/frames.js";
import { OffloadSink } from "../support/offload-sink.js";

function parsed(f: Buffer): PacketLayout {
  const l = new PacketLayout();
  parseFrame(f, f.length, 1, new FlowKey(), l);
  return l;
}

function makePartial(f: Buffer): Buffer {
  const l = parsed(f);
  f.writeUInt16BE(
    fold(pseudoHeaderSum(f, l.l3Offset, l4Length(f, l))),
    l.l4Offset + (l.l4 === 1 ? 16 : 6),
  );
  return f;
}

function bigTcp(n: number, vlan?: { vid: number; pcp: number }): Buffer {
  const data = Array.from({ length: n }, (_, i) => (i * 13) & 0xff);
  return eth(
    { type: 0x0800, vlan },
    ipv4(
      { proto: 6, src: "10.0.0.1", dst: "10.0.0.2" },
      tcp({ src: "10.0.0.1", dst: "10.0.0.2", sport: 5001, dport: 5201, flags: 0x18 }, data),
    ),
  );
}

/** What a port with vnet headers reports for a kernel-partial frame. */
function rxFor(f: Buffer, gsoType = 0, gsoSize = 0): RxOffload {
  const l = parsed(f);
  const rx = new RxOffload();
  rx.csumPartial = true;
  rx.csumStart = l.l4Offset;
  rx.csumOffset = l.l4 === 1 ? 16 : 6;
  rx.gsoType = gsoType;
  rx.gsoSize = gsoSize;
  return rx;
}

function setup(mtu = 1500) {
  const sink = new OffloadSink(2, "p2");
  sink.mtu = mtu;
  return { sink, egress: new Egress() };
}

describe("virtio-net header layout", () => {
  it("is 10 bytes, little-endian, as struct virtio_net_hdr", () => {
    expect(VNET_HDR.SIZE).toBe(10);
    const b = Buffer.alloc(10, 0xee);
    writeVnetHdr(b, 0, VNET_GSO.TCPV4 | VNET_GSO.ECN, 1448, 66, 34, 16);
    expect([...b]).toEqual([1, 0x81, 66, 0, 0xa8, 0x05, 34, 0, 16, 0]);
    writeVnetHdr(b, 0, 0, 0, 0, -1, 0);
    expect([...b]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("Egress onto an offloading port", () => {
  it("leaves a kernel-partial checksum to the kernel (NEEDS_CSUM at the L4 header)", () => {
    const { sink, egress } = setup();
    const f = makePartial(udpFrame({}, [1, 2, 3, 4, 5]));
    const l = parsed(f);
    egress.setIngress(rxFor(f), l);
    egress.transmit(sink, f, f.length, l);
    expect(sink.sent).toHaveLength(1);
    expect(sink.sent[0]).toMatchObject({ gsoType: 0, csumStart: 34, csumOffset: 6 });
    expect(checksumsOk(sink.sent[0].frame)).toEqual({ ip: true, l4: true });
    expect(egress.stats).toMatchObject({ checksumsOffloaded: 1, checksumsCompleted: 0 });
  });

  it("completes in JavaScript what only the O(1) guess calls partial (no word from the kernel)", () => {
    const { sink, egress } = setup();
    const f = makePartial(udpFrame({}, [1, 2, 3]));
    const l = parsed(f);
    egress.setIngress(undefined, l);
    egress.transmit(sink, f, f.length, l);
    expect(sink.sent).toHaveLength(0);
    expect(checksumsOk(sink.plain[0])).toEqual({ ip: true, l4: true });
    expect(egress.stats.checksumsCompleted).toBe(1);
  });

  it("hands a GSO TCP frame over whole with its gso_size, at most the egress MSS", () => {
    for (const [mtu, rxSize, want] of [
      [1500, 1448, 1448],
      [1400, 1448, 1360],
    ]) {
      const { sink, egress } = setup(mtu);
      const f = makePartial(bigTcp(20000));
      const l = parsed(f);
      egress.setIngress(rxFor(f, VNET_GSO.TCPV4, rxSize), l);
      egress.transmit(sink, f, f.length, l);
      expect(sink.sent[0]).toMatchObject({ gsoType: VNET_GSO.TCPV4, gsoSize: want });
      expect(checksumsOk(sink.sent[0].frame).l4).toBe(true);
      expect(egress.stats).toMatchObject({ gsoSent: 1, tcpSegmented: 0 });
    }
  });

  it("turns an oversized TCP frame with a complete checksum into a partial GSO frame", () => {
    const { sink, egress } = setup();
    const f = bigTcp(5000); // complete checksum, no kernel metadata (e.g. from a pcap port)
    const l = parsed(f);
    egress.setIngress(undefined, l);
    egress.transmit(sink, f, f.length, l);
    expect(sink.sent[0]).toMatchObject({ gsoType: VNET_GSO.TCPV4, gsoSize: 1460, csumStart: 34 });
    expect(checksumsOk(sink.sent[0].frame).l4).toBe(true);
  });

  it("keeps the metadata right through set_nw_dst, set_tp_dst and a VLAN push", () => {
    const { sink, egress } = setup();
    const target: ActionTarget = {
      outputPort: (_p, frame, length, layout) => egress.transmit(sink, frame, length, layout),
      flood: () => {},
      toController: () => {},
      normal: () => {},
      table: () => {},
      local: () => {},
    };
    const exec = new ActionExecutor(target);
    const prog = compileActions([
      { kind: "set-nw-dst", addr: ipNum("10.9.8.7") },
      { kind: "set-tp-dst", port: 8080 },
      { kind: "set-vlan-vid", vid: 10 },
      { kind: "output", port: 2 },
    ]);
    for (const f of [makePartial(bigTcp(9000)), makePartial(udpFrame({}, [7, 7, 7]))]) {
      const l = parsed(f);
      const gso = f.length > 1514 ? VNET_GSO.TCPV4 : 0;
      egress.setIngress(rxFor(f, gso, gso ? 1448 : 0), l);
      exec.execute(prog, f, f.length, l, 1);
    }
    expect(sink.sent.map((s) => [s.gsoType, s.csumStart])).toEqual([
      [VNET_GSO.TCPV4, 38],
      [0, 38],
    ]);
    for (const s of sink.sent) {
      expect(s.frame.readUInt16BE(12)).toBe(0x8100);
      expect(s.frame.readUInt32BE(34)).toBe(ipNum("10.9.8.7") >>> 0);
      expect(checksumsOk(s.frame)).toEqual({ ip: true, l4: true });
    }
  });

  it("passes other kernel-marked frames on as described, csum_start moved by a tag push", () => {
    const { sink, egress } = setup();
    // IPv6/TCP-shaped: the parser finds no IPv4, so the kernel's header is all there is.
    const f = eth(
      { type: 0x86dd },
      Array.from({ length: 4000 }, (_, i) => i & 0xff),
    );
    const l = parsed(f);
    const rx = new RxOffload();
    rx.gsoType = VNET_GSO.TCPV6;
    rx.gsoSize = 1428;
    rx.csumPartial = true;
    rx.csumStart = 54;
    rx.csumOffset = 16;
    egress.setIngress(rx, l);
    egress.transmit(sink, f, f.length, l);
    const pushed = Buffer.concat([
      f.subarray(0, 12),
      Buffer.from([0x81, 0, 0, 10]),
      f.subarray(12),
    ]);
    egress.transmit(sink, pushed, pushed.length, parsed(pushed));
    expect(sink.sent.map((s) => [s.gsoType, s.gsoSize, s.csumStart])).toEqual([
      [VNET_GSO.TCPV6, 1428, 54],
      [VNET_GSO.TCPV6, 1428, 58],
    ]);
  });

  it("drops oversized frames it cannot describe (UDP without UDP GSO), as before", () => {
    const { sink, egress } = setup();
    const f = udpFrame(
      {},
      Array.from({ length: 3000 }, () => 1),
    );
    const l = parsed(f);
    egress.setIngress(undefined, l);
    egress.transmit(sink, f, f.length, l);
    expect(sink.sent).toHaveLength(0);
    expect(egress.stats.oversizeDrops).toBe(1);
  });
});
