import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FlowKey } from "../../src/packet/flow-key.js";
import { L4, PacketLayout, parseFrame } from "../../src/packet/parse.js";
import {
  arp,
  eth,
  icmp,
  ipNum,
  ipv4,
  mac,
  tcp,
  tcpFrame,
  udp,
  udpFrame,
} from "../support/frames.js";

function parse(frame: Buffer, inPort = 3, length = frame.length) {
  const key = new FlowKey();
  const layout = new PacketLayout();
  parseFrame(frame, length, inPort, key, layout);
  return { key, layout };
}

function dlSrc(key: FlowKey): number[] {
  const out = Buffer.alloc(6);
  key.dlSrcInto(out, 0);
  return [...out];
}

// An ARP request as hex, in the form tcpdump -xx prints it (who-has 10.0.0.2 tell 10.0.0.1).
const ARP_REQUEST_HEX = Buffer.from(
  "ffffffffffff6a1c0b6f3a2e08060001080006040001" + "6a1c0b6f3a2e0a000001000000000000" + "0a000002",
  "hex",
);

describe("parseFrame", () => {
  it("parses TCP over IPv4 with ports, addresses and DSCP (ECN masked)", () => {
    const f = eth(
      { type: 0x0800, src: "aa:bb:cc:dd:ee:01", dst: "aa:bb:cc:dd:ee:02" },
      ipv4(
        { proto: 6, tos: 0xb9, src: "10.1.2.3", dst: "10.4.5.6" },
        tcp({ sport: 40000, dport: 443 }),
      ),
    );
    const { key, layout } = parse(f, 7);
    expect(key.inPort).toBe(7);
    expect(dlSrc(key)).toEqual(mac("aa:bb:cc:dd:ee:01"));
    expect(key.dlVlan).toBe(0xffff);
    expect(key.dlVlanPcp).toBe(0);
    expect(key.dlType).toBe(0x0800);
    expect(key.nwTos).toBe(0xb8);
    expect(key.nwProto).toBe(6);
    expect(key.nwSrc).toBe(ipNum("10.1.2.3"));
    expect(key.nwDst).toBe(ipNum("10.4.5.6"));
    expect([key.tpSrc, key.tpDst]).toEqual([40000, 443]);
    expect(layout).toMatchObject({ l3Offset: 14, l4Offset: 34, payloadOffset: 54, l4: L4.TCP });
    expect(layout.vlanOffset).toBe(-1);
  });

  it("honours IHL (IPv4 options) when locating L4", () => {
    const f = eth(
      { type: 0x0800 },
      ipv4({ proto: 17, options: [1, 1, 1, 0] }, udp({ sport: 68, dport: 67 }, [0])),
    );
    const { key, layout } = parse(f);
    expect(layout.l4Offset).toBe(38);
    expect([key.tpSrc, key.tpDst]).toEqual([68, 67]);
  });

  it("parses UDP and ICMP (type/code into tp_src/tp_dst)", () => {
    const u = parse(udpFrame({ sport: 5353, dport: 53 })).key;
    expect([u.nwProto, u.tpSrc, u.tpDst]).toEqual([17, 5353, 53]);
    const i = parse(eth({ type: 0x0800 }, ipv4({ proto: 1 }, icmp(3, 4, [0, 0, 0, 0])))).key;
    expect([i.nwProto, i.tpSrc, i.tpDst]).toEqual([1, 3, 4]);
  });

  it("gives other IP protocols no transport fields", () => {
    const { key, layout } = parse(eth({ type: 0x0800 }, ipv4({ proto: 47 }, [0, 0, 8, 0, 1, 2])));
    expect(key.nwProto).toBe(47);
    expect([key.tpSrc, key.tpDst]).toEqual([0, 0]);
    expect(layout.l4Offset).toBe(-1);
  });

  it("parses L4 of a first fragment but not of later fragments", () => {
    const first = eth(
      { type: 0x0800 },
      ipv4({ proto: 17, fragField: 0x2000 }, udp({ sport: 1, dport: 2 })),
    );
    expect(parse(first).key.tpDst).toBe(2);
    const later = eth(
      { type: 0x0800 },
      ipv4({ proto: 17, fragField: 0x0010 }, udp({ sport: 1, dport: 2 })),
    );
    const { key, layout } = parse(later);
    expect([key.nwProto, key.tpSrc, key.tpDst]).toEqual([17, 0, 0]);
    expect(layout.laterFragment).toBe(true);
  });

  it("parses 802.1Q tags into dl_vlan/dl_vlan_pcp and the inner type", () => {
    const f = tcpFrame({ vlan: { vid: 10, pcp: 5 }, dport: 22 });
    const { key, layout } = parse(f);
    expect([key.dlVlan, key.dlVlanPcp, key.dlType, key.tpDst]).toEqual([10, 5, 0x0800, 22]);
    expect(layout).toMatchObject({ vlanOffset: 12, ethTypeOffset: 16, l3Offset: 18 });
  });

  it("parses Ethernet/IPv4 ARP: opcode in nw_proto, sender/target IPs", () => {
    const { key } = parse(ARP_REQUEST_HEX);
    expect([key.dlType, key.nwProto]).toEqual([0x0806, 1]);
    expect(key.nwSrc).toBe(ipNum("10.0.0.1"));
    expect(key.nwDst).toBe(ipNum("10.0.0.2"));
    const reply = parse(eth({ type: 0x0806 }, arp(2, "10.0.0.2", "10.0.0.1"))).key;
    expect(reply.nwProto).toBe(2);
  });

  it("ignores the addresses of non-Ethernet/IPv4 ARP", () => {
    const body = arp(1, "10.0.0.1", "10.0.0.2");
    body[1] = 6; // hardware type IEEE 802
    const { key } = parse(eth({ type: 0x0806 }, body));
    expect([key.dlType, key.nwProto, key.nwSrc, key.nwDst]).toEqual([0x0806, 0, 0, 0]);
  });

  it("maps 802.3 frames without SNAP to dl_type 0x05ff", () => {
    const llc = eth({ type: 0x0026 }, [0x42, 0x42, 0x03, 0, 0, 0, 0, 0]); // STP BPDU over LLC
    expect(parse(llc).key.dlType).toBe(0x05ff);
    const snapOtherOui = eth({ type: 0x0020 }, [0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00]);
    expect(parse(snapOtherOui).key.dlType).toBe(0x05ff);
  });

  it("takes the SNAP type for OUI 0 and parses IPv4 behind it", () => {
    const inner = ipv4({ proto: 17 }, udp({ sport: 7, dport: 9 }));
    const f = eth({ type: 8 + inner.length }, [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...inner]);
    const { key, layout } = parse(f);
    expect([key.dlType, key.nwProto, key.tpSrc, key.tpDst]).toEqual([0x0800, 17, 7, 9]);
    expect(layout.l3Offset).toBe(22);
  });

  it("keeps what is present of truncated frames and zeroes the rest", () => {
    const full = tcpFrame({ dport: 80 });
    const noTcp = parse(full, 1, 14 + 20 + 10).key; // TCP header cut short
    expect([noTcp.dlType, noTcp.nwProto, noTcp.tpDst]).toEqual([0x0800, 6, 0]);
    const noIp = parse(full, 1, 14 + 19).key;
    expect([noIp.dlType, noIp.nwProto, noIp.nwSrc]).toEqual([0x0800, 0, 0]);
    const tiny = parse(full, 1, 8).key;
    expect([tiny.dlType, tiny.dlVlan, tiny.words[1]]).toEqual([0, 0xffff, 0]);
    const shortTag = parse(Buffer.from("0000000000020000000000018100000a", "hex")).key;
    expect([shortTag.dlType, shortTag.dlVlan]).toEqual([0x8100, 0xffff]);
  });

  it("rejects IPv4 with a bad version or IHL", () => {
    const f = tcpFrame();
    f[14] = 0x65;
    expect(parse(f).key.nwProto).toBe(0);
    f[14] = 0x44;
    expect(parse(f).key.nwProto).toBe(0);
  });

  it("clears fields left over from the previous frame", () => {
    const key = new FlowKey();
    const layout = new PacketLayout();
    parseFrame(tcpFrame({ vlan: { vid: 3, pcp: 1 } }), 60, 1, key, layout);
    const a = eth({ type: 0x0806 }, arp(1, "1.2.3.4", "5.6.7.8"));
    parseFrame(a, a.length, 2, key, layout);
    expect([key.dlVlan, key.dlVlanPcp, key.tpSrc, key.tpDst, key.nwTos]).toEqual([
      0xffff, 0, 0, 0, 0,
    ]);
    expect(layout.vlanOffset).toBe(-1);
  });

  it("never throws on arbitrary bytes or lengths", () => {
    const key = new FlowKey();
    const layout = new PacketLayout();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(100), (bytes, n) => {
        const b = Buffer.from(bytes);
        parseFrame(b, n, 1, key, layout);
        // A valid-looking prefix exercises the deeper branches too.
        const t = Buffer.concat([tcpFrame({ vlan: { vid: 1, pcp: 0 } }).subarray(0, 18), b]);
        parseFrame(t, t.length, 1, key, layout);
        return key.inPort === 1;
      }),
    );
  });
});
