import { describe, expect, it } from "vitest";
import { FlowKey } from "../../src/packet/flow-key.js";
import { Egress } from "../../src/datapath/egress.js";
import { PacketLayout, parseFrame } from "../../src/packet/parse.js";
import { MemoryPort } from "../support/memory-port.js";
import { fold, l4Length, pseudoHeaderSum } from "../../src/packet/checksum.js";
import { checksumsOk, eth, ipv4, tcp, udpFrame } from "../support/frames.js";

function layoutOf(f: Buffer): PacketLayout {
  const l = new PacketLayout();
  parseFrame(f, f.length, 1, new FlowKey(), l);
  return l;
}

/** Replaces the L4 checksum with the pseudo-header sum, as a sender with tx offload leaves it. */
function makePartial(f: Buffer): Buffer {
  const l = layoutOf(f);
  const at = l.l4Offset + (f[23] === 6 ? 16 : 6);
  f.writeUInt16BE(fold(pseudoHeaderSum(f, l.l3Offset, l4Length(f, l))), at);
  expect(checksumsOk(f).l4).toBe(false);
  return f;
}

/** A GSO-style TCP frame: one header, `n` payload bytes, flags as given. */
function bigTcp(n: number, flags: number, seq = 0xfffff000): Buffer {
  const data = Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
  return eth(
    { type: 0x0800 },
    ipv4({ proto: 6, id: 0xfffe }, tcp({ sport: 5001, dport: 5201, seq, flags }, data)),
  );
}

function link(mtu = 1500) {
  const [sw, host] = MemoryPort.pair(1, "p1");
  sw.mtu = mtu;
  return { sw, host, egress: new Egress() };
}

describe("Egress", () => {
  it("sends frames within the MTU untouched when their checksums are complete", () => {
    const { sw, host, egress } = link();
    const f = udpFrame();
    egress.transmit(sw, f, f.length, layoutOf(f));
    expect(host.received).toEqual([f]);
    expect(egress.stats.checksumsCompleted).toBe(0);
  });

  it("completes partial TCP and UDP checksums", () => {
    const { sw, host, egress } = link();
    for (const f of [
      makePartial(bigTcp(100, 0x18)),
      makePartial(udpFrame({}, [1, 2, 3, 4, 5, 6, 7])),
    ]) {
      egress.transmit(sw, f, f.length, layoutOf(f));
    }
    expect(host.received.map((b) => checksumsOk(b))).toEqual([
      { ip: true, l4: true },
      { ip: true, l4: true },
    ]);
    expect(egress.stats.checksumsCompleted).toBe(2);
  });

  it("segments an oversized TCP frame like TSO: sizes, ids, sequence numbers, flags, checksums", () => {
    const { sw, host, egress } = link(1500);
    const n = 4000;
    const f = makePartial(bigTcp(n, 0x80 | 0x18 | 0x01)); // CWR, PSH, ACK, FIN
    egress.transmit(sw, f, f.length, layoutOf(f));
    const segs = host.received;
    expect(segs.map((s) => s.length)).toEqual([1514, 1514, 14 + 40 + (n - 2 * 1460)]);
    expect(segs.map((s) => s.readUInt16BE(18))).toEqual([0xfffe, 0xffff, 0]);
    expect(segs.map((s) => s.readUInt32BE(38))).toEqual([0xfffff000, 0xfffff5b4, 0xfffffb68]);
    expect(segs.map((s) => s[47])).toEqual([0x80 | 0x10, 0x10, 0x18 | 0x01]);
    expect(segs.every((s) => checksumsOk(s).ip && checksumsOk(s).l4)).toBe(true);
    const payload = Buffer.concat(segs.map((s) => s.subarray(54)));
    expect(payload).toEqual(f.subarray(54));
    expect(egress.stats).toMatchObject({ tcpSegmented: 1, segmentsSent: 3, oversizeDrops: 0 });
  });

  it("segments to the egress port's own MTU and keeps VLAN tags", () => {
    const { sw, host, egress } = link(1000);
    const untagged = bigTcp(3000, 0x10);
    const f = Buffer.concat([
      untagged.subarray(0, 12),
      Buffer.from("8100000a", "hex"),
      untagged.subarray(12),
    ]);
    egress.transmit(sw, f, f.length, layoutOf(f));
    expect(host.received.map((s) => s.length)).toEqual([
      1018,
      1018,
      1018,
      18 + 40 + 3000 - 3 * 960,
    ]);
    expect(host.received.every((s) => s.readUInt16BE(12) === 0x8100 && checksumsOk(s).l4)).toBe(
      true,
    );
  });

  it("counts and drops oversized frames it cannot segment", () => {
    const { sw, host, egress } = link(1500);
    const f = udpFrame({}, new Array(3000).fill(1));
    egress.transmit(sw, f, f.length, layoutOf(f));
    expect(host.received).toEqual([]);
    expect(egress.stats.oversizeDrops).toBe(1);
    expect(sw.counters.txDropped).toBe(1);
  });
});
