import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FlowKey } from "../../src/packet/flow-key.js";
import {
  ActionExecutor,
  compileActions,
  type ActionTarget,
  type DatapathAction,
} from "../../src/datapath/actions.js";
import { PacketLayout, parseFrame } from "../../src/packet/parse.js";
import {
  crc32c,
  computeL4Checksum,
  isPartialChecksum,
  pseudoHeaderSum,
  fold,
  l4Length,
} from "../../src/packet/checksum.js";
import {
  checksumsOk,
  eth,
  fullChecksum,
  ipNum,
  ipv4,
  ipv6,
  sctp,
  tcp,
  tcpFrame,
  udp,
  udpFrame,
} from "../support/frames.js";

/** Ethernet + IPv6 (traffic class `tc`, next header `nh`, fd00::1 -> fd00::2) + `l4`, whose
 * TCP or UDP checksum is computed over the IPv6 pseudo-header. */
function ipv6Frame(tc: number, nh: number, l4: number[]): Buffer {
  const csumAt = nh === 6 ? 16 : nh === 17 ? 6 : undefined;
  return eth({ type: 0x86dd }, ipv6({ tc, nh, csumAt }, l4));
}

/** The RFC 1071 sum over the IPv6 pseudo-header and the L4 bytes: 0 when the checksum is valid. */
function ipv6L4ChecksumResidue(f: Buffer): number {
  const l4 = f.subarray(54);
  const pseudo = [...f.subarray(22, 54), 0, 0, l4.length >> 8, l4.length & 0xff, 0, 0, 0, f[20]];
  return fullChecksum([...pseudo, ...l4]);
}

function sctpCrcOk(f: Buffer, l4: number): boolean {
  const p = Buffer.from(f.subarray(l4));
  const field = p.readUInt32LE(8);
  p.writeUInt32LE(0, 8);
  return crc32c(p, 0, p.length) === field;
}

interface Sent {
  kind: string;
  port: number;
  bytes: Buffer;
  maxLen?: number;
}

/** Records every output with a copy of the bytes as they were at that moment. */
class RecordingTarget implements ActionTarget {
  sent: Sent[] = [];
  locals = 0;
  outputPort(port: number, frame: Buffer, length: number) {
    this.sent.push({ kind: "port", port, bytes: Buffer.from(frame.subarray(0, length)) });
  }
  flood(frame: Buffer, length: number, _l: PacketLayout, _in: number, all: boolean) {
    this.sent.push({
      kind: all ? "all" : "flood",
      port: -1,
      bytes: Buffer.from(frame.subarray(0, length)),
    });
  }
  toController(frame: Buffer, length: number, _in: number, maxLen: number) {
    this.sent.push({
      kind: "controller",
      port: -1,
      bytes: Buffer.from(frame.subarray(0, length)),
      maxLen,
    });
  }
  normal(frame: Buffer, length: number) {
    this.sent.push({ kind: "normal", port: -1, bytes: Buffer.from(frame.subarray(0, length)) });
  }
  table(frame: Buffer, length: number) {
    this.sent.push({ kind: "table", port: -1, bytes: Buffer.from(frame.subarray(0, length)) });
  }
  local() {
    this.locals++;
  }
}

function run(actions: DatapathAction[], frame: Buffer, inPort = 1) {
  const target = new RecordingTarget();
  const exec = new ActionExecutor(target);
  const layout = new PacketLayout();
  parseFrame(frame, frame.length, inPort, new FlowKey(), layout);
  const original = Buffer.from(frame);
  exec.execute(compileActions(actions), frame, frame.length, layout, inPort);
  expect(frame).toEqual(original); // the caller's bytes are never modified
  return target;
}

function reparse(bytes: Buffer): FlowKey {
  const key = new FlowKey();
  parseFrame(bytes, bytes.length, 1, key, new PacketLayout());
  return key;
}

const out = (port: number): DatapathAction => ({ kind: "output", port });

describe("compileActions + ActionExecutor", () => {
  it("has a checksum reference that notices corruption", () => {
    const bad = tcpFrame();
    bad[bad.length - 1] ^= 1;
    expect(checksumsOk(bad)).toEqual({ ip: true, l4: false });
    bad[20] ^= 1;
    expect(checksumsOk(bad).ip).toBe(false);
  });

  it("outputs to physical and virtual ports", () => {
    const f = tcpFrame();
    const t = run(
      [
        out(2),
        { kind: "in-port" },
        { kind: "flood" },
        { kind: "all" },
        { kind: "controller", maxLen: 128 },
        { kind: "normal" },
        { kind: "table" },
        { kind: "local" },
      ],
      f,
      5,
    );
    expect(t.sent.map((s) => [s.kind, s.port])).toEqual([
      ["port", 2],
      ["port", 5],
      ["flood", -1],
      ["all", -1],
      ["controller", -1],
      ["normal", -1],
      ["table", -1],
    ]);
    expect(t.sent[4].maxLen).toBe(128);
    expect(t.locals).toBe(1);
    expect(t.sent.every((s) => s.bytes.equals(f))).toBe(true);
  });

  it("drops output to the input port unless it is in-port", () => {
    expect(run([out(3)], tcpFrame(), 3).sent).toEqual([]);
    expect(run([out(3), { kind: "in-port" }], tcpFrame(), 3).sent.map((s) => s.port)).toEqual([3]);
  });

  it("emits one copy per output with the rewrites so far", () => {
    const f = tcpFrame();
    const t = run(
      [
        out(2),
        { kind: "set-dl-dst", mac: "02:00:00:00:00:99" },
        out(3),
        { kind: "set-tp-dst", port: 8080 },
        out(4),
      ],
      f,
    );
    expect(t.sent[0].bytes).toEqual(f);
    expect(t.sent[1].bytes.subarray(0, 6).toString("hex")).toBe("020000000099");
    expect(reparse(t.sent[1].bytes).tpDst).toBe(80);
    expect(reparse(t.sent[2].bytes).tpDst).toBe(8080);
    expect(t.sent[2].bytes.subarray(0, 6).toString("hex")).toBe("020000000099");
    expect(checksumsOk(t.sent[2].bytes)).toEqual({ ip: true, l4: true });
  });

  it("sets dl_src and dl_dst", () => {
    const t = run(
      [
        { kind: "set-dl-src", mac: "aa:bb:cc:dd:ee:ff" },
        { kind: "set-dl-dst", mac: "01:02:03:04:05:06" },
        out(2),
      ],
      tcpFrame(),
    );
    expect(t.sent[0].bytes.subarray(0, 12).toString("hex")).toBe("010203040506aabbccddeeff");
  });

  it("pushes an 802.1Q tag for SET_VLAN_VID / SET_VLAN_PCP on untagged frames (other field 0)", () => {
    const f = tcpFrame();
    const vid = run([{ kind: "set-vlan-vid", vid: 10 }, out(2)], f).sent[0].bytes;
    expect(vid.length).toBe(f.length + 4);
    expect([reparse(vid).dlVlan, reparse(vid).dlVlanPcp, reparse(vid).tpDst]).toEqual([10, 0, 80]);
    expect(Buffer.concat([vid.subarray(0, 12), vid.subarray(16)])).toEqual(f);
    const pcp = run([{ kind: "set-vlan-pcp", pcp: 5 }, out(2)], f).sent[0].bytes;
    expect([reparse(pcp).dlVlan, reparse(pcp).dlVlanPcp]).toEqual([0, 5]);
  });

  it("modifies only the selected TCI bits of a tagged frame, and strips tags", () => {
    const f = tcpFrame({ vlan: { vid: 7, pcp: 3 } });
    const vid = run([{ kind: "set-vlan-vid", vid: 4000 }, out(2)], f).sent[0].bytes;
    expect([vid.length, reparse(vid).dlVlan, reparse(vid).dlVlanPcp]).toEqual([f.length, 4000, 3]);
    const pcp = run([{ kind: "set-vlan-pcp", pcp: 6 }, out(2)], f).sent[0].bytes;
    expect([reparse(pcp).dlVlan, reparse(pcp).dlVlanPcp]).toEqual([7, 6]);
    const stripped = run([{ kind: "strip-vlan" }, out(2)], f).sent[0].bytes;
    expect(stripped).toEqual(tcpFrame());
    // Strip of an untagged frame is a no-op; push after strip uses the moved layout.
    const again = run(
      [
        { kind: "strip-vlan" },
        { kind: "strip-vlan" },
        { kind: "set-vlan-vid", vid: 9 },
        { kind: "set-tp-src", port: 1 },
        out(2),
      ],
      f,
    ).sent[0].bytes;
    expect([reparse(again).dlVlan, reparse(again).tpSrc]).toEqual([9, 1]);
    expect(checksumsOk(again)).toEqual({ ip: true, l4: true });
  });

  it("rewrites IPv4 addresses with valid IP and TCP/UDP checksums", () => {
    for (const f of [tcpFrame(), udpFrame(), tcpFrame({ vlan: { vid: 2, pcp: 0 } })]) {
      const b = run(
        [
          { kind: "set-nw-src", addr: ipNum("192.168.7.1") },
          { kind: "set-nw-dst", addr: ipNum("172.16.255.254") },
          out(2),
        ],
        f,
      ).sent[0].bytes;
      const k = reparse(b);
      expect([k.nwSrc, k.nwDst]).toEqual([ipNum("192.168.7.1"), ipNum("172.16.255.254")]);
      expect(checksumsOk(b)).toEqual({ ip: true, l4: true });
    }
  });

  it("keeps a zero UDP checksum zero", () => {
    const b = run(
      [{ kind: "set-nw-dst", addr: ipNum("10.9.9.9") }, { kind: "set-tp-dst", port: 99 }, out(2)],
      udpFrame({ noChecksum: true }),
    ).sent[0].bytes;
    expect(b.readUInt16BE(14 + 20 + 6)).toBe(0);
    expect(checksumsOk(b).ip).toBe(true);
  });

  it("rewrites ports with valid checksums, and leaves L4 of later fragments alone", () => {
    const b = run(
      [{ kind: "set-tp-src", port: 1 }, { kind: "set-tp-dst", port: 65535 }, out(2)],
      udpFrame(),
    ).sent[0].bytes;
    expect([reparse(b).tpSrc, reparse(b).tpDst]).toEqual([1, 65535]);
    expect(checksumsOk(b)).toEqual({ ip: true, l4: true });
    const frag = eth(
      { type: 0x0800 },
      ipv4({ proto: 17, fragField: 0x0020 }, udp({ sport: 1, dport: 2 })),
    );
    const fb = run([{ kind: "set-tp-dst", port: 7 }, { kind: "set-nw-dst", addr: 1 }, out(2)], frag)
      .sent[0].bytes;
    expect(fb.subarray(34)).toEqual(frag.subarray(34));
    expect(checksumsOk(fb).ip).toBe(true);
  });

  it("sets nw_tos keeping ECN, with a valid IP checksum", () => {
    const f = eth({ type: 0x0800 }, ipv4({ proto: 6, tos: 0x03 }, [...tcpFrame().subarray(34)]));
    const b = run([{ kind: "set-nw-tos", tos: 0xb8 }, out(2)], f).sent[0].bytes;
    expect(b[15]).toBe(0xbb);
    expect(checksumsOk(b).ip).toBe(true);
  });

  it("has a CRC-32C that gives the standard check value", () => {
    expect(crc32c(Buffer.from("123456789"), 0, 9)).toBe(0xe3069283);
  });

  it("set_tp_src/dst rewrite TCP and UDP ports over IPv6 with valid checksums (as Open vSwitch)", () => {
    const t = ipv6Frame(0, 6, tcp({ sport: 1000, dport: 80 }, [1, 2, 3]));
    expect(ipv6L4ChecksumResidue(t)).toBe(0);
    const b = run([{ kind: "set-tp-src", port: 7 }, { kind: "set-tp-dst", port: 8080 }, out(2)], t)
      .sent[0].bytes;
    expect([reparse(b).tpSrc, reparse(b).tpDst]).toEqual([7, 8080]);
    expect(ipv6L4ChecksumResidue(b)).toBe(0);
    const u = ipv6Frame(0, 17, udp({ sport: 5, dport: 53 }, [9, 9]));
    expect(ipv6L4ChecksumResidue(u)).toBe(0);
    const ub = run([{ kind: "set-tp-dst", port: 5353 }, out(2)], u).sent[0].bytes;
    expect(reparse(ub).tpDst).toBe(5353);
    expect(ipv6L4ChecksumResidue(ub)).toBe(0);
  });

  it("set_tp_src/dst rewrite SCTP ports over IPv4 and IPv6 with the CRC-32C recomputed (as Open vSwitch)", () => {
    const v4 = eth({ type: 0x0800 }, ipv4({ proto: 132 }, sctp(2905, 2906, crc32c)));
    expect(sctpCrcOk(v4, 34)).toBe(true);
    const b4 = run([{ kind: "set-tp-dst", port: 3868 }, out(2)], v4).sent[0].bytes;
    expect([reparse(b4).tpSrc, reparse(b4).tpDst]).toEqual([2905, 3868]);
    expect(sctpCrcOk(b4, 34)).toBe(true);
    expect(checksumsOk(b4).ip).toBe(true);
    const v6 = ipv6Frame(0, 132, sctp(1, 2, crc32c));
    const b6 = run([{ kind: "set-tp-src", port: 9 }, out(2)], v6).sent[0].bytes;
    expect(reparse(b6).tpSrc).toBe(9);
    expect(sctpCrcOk(b6, 54)).toBe(true);
  });

  it("set_nw_tos rewrites the DSCP bits of the IPv6 traffic class, keeping ECN (as Open vSwitch)", () => {
    const f = ipv6Frame(0x03, 6, tcp({ sport: 1, dport: 2 }));
    const b = run([{ kind: "set-nw-tos", tos: 0xb8 }, out(2)], f).sent[0].bytes;
    expect(((b[14] & 0x0f) << 4) | (b[15] >>> 4)).toBe(0xbb);
    expect(b[14] >>> 4).toBe(6);
    expect(reparse(b).nwTos).toBe(0xb8);
    expect(ipv6L4ChecksumResidue(b)).toBe(0);
  });

  it("set_nw_src/dst leave IPv6 alone", () => {
    const f = ipv6Frame(0, 17, udp({ sport: 1, dport: 2 }));
    const b = run([{ kind: "set-nw-src", addr: 5 }, { kind: "set-nw-dst", addr: 6 }, out(2)], f)
      .sent[0].bytes;
    expect(b).toEqual(f);
  });

  it("set_tp_src/dst rewrite the ICMP and ICMPv6 type and code, checksum updated (as Open vSwitch)", () => {
    // Bytes as ovs-vswitchd 3.1 (netdev) sent them for the same actions on the same frames.
    const icmp4 = eth({ type: 0x0800 }, ipv4({ proto: 1 }, [8, 0, 0xf7, 0xfe, 0, 1, 0, 0]));
    const b4 = run(
      [{ kind: "set-tp-src", port: 13 }, { kind: "set-tp-dst", port: 1 }, out(2)],
      icmp4,
    ).sent[0].bytes;
    expect([...b4.subarray(34, 42)]).toEqual([13, 1, 0xf2, 0xfd, 0, 1, 0, 0]);
    expect(fullChecksum(b4.subarray(34, 42))).toBe(0);
    const icmp6 = ipv6Frame(0, 58, [128, 0, 0x12, 0x34, 0, 1, 0, 1]);
    const b6 = run([{ kind: "set-tp-src", port: 5 }, out(2)], icmp6).sent[0].bytes;
    expect([...b6.subarray(54, 62)]).toEqual([5, 0, 0x8d, 0x34, 0, 1, 0, 1]);
    expect([reparse(b6).tpSrc, reparse(b6).tpDst]).toEqual([5, 0]);
  });

  it("leaves non-IP frames alone for nw/tp rewrites", () => {
    const arpish = eth({ type: 0x0806 }, new Array(28).fill(1));
    const b = run(
      [
        { kind: "set-nw-dst", addr: 5 },
        { kind: "set-tp-dst", port: 5 },
        { kind: "set-nw-tos", tos: 4 },
        out(2),
      ],
      arpish,
    ).sent[0].bytes;
    expect(b).toEqual(arpish);
  });

  it("keeps partial (offload) checksums partial across rewrites, completable at egress", () => {
    const f = tcpFrame(
      {},
      new Array(301).fill(0).map((_, i) => i & 0xff),
    );
    const layout = new PacketLayout();
    parseFrame(f, f.length, 1, new FlowKey(), layout);
    // What a sender with tx checksum offload hands over: just the pseudo-header sum.
    const ps = fold(pseudoHeaderSum(f, 14, l4Length(f, layout)));
    f.writeUInt16BE(ps, 14 + 20 + 16);
    expect(isPartialChecksum(f, layout)).toBe(true);
    const b = run(
      [{ kind: "set-nw-dst", addr: ipNum("10.1.1.1") }, { kind: "set-tp-dst", port: 81 }, out(2)],
      f,
    ).sent[0].bytes;
    const bl = new PacketLayout();
    parseFrame(b, b.length, 1, new FlowKey(), bl);
    expect(isPartialChecksum(b, bl)).toBe(true);
    computeL4Checksum(b, bl);
    expect(checksumsOk(b)).toEqual({ ip: true, l4: true });
  });

  it("hands outputs before the first rewrite the caller's own frame, later ones the copy", () => {
    expect(compileActions([out(2), { kind: "flood" }]).modifies).toBe(false);
    const seen: Buffer[] = [];
    const target = new RecordingTarget();
    target.outputPort = (_port, frame) => void seen.push(frame);
    const f = tcpFrame();
    const layout = new PacketLayout();
    parseFrame(f, f.length, 1, new FlowKey(), layout);
    const prog = compileActions([out(2), { kind: "strip-vlan" }, out(3)]);
    expect(prog.modifies).toBe(true);
    new ActionExecutor(target).execute(prog, f, f.length, layout, 1);
    expect(seen[0]).toBe(f);
    expect(seen[1]).not.toBe(f);
  });

  it("refuses an action kind it does not know", () => {
    const bogus = { kind: "enqueue", port: 2 } as unknown as DatapathAction;
    expect(() => compileActions([bogus])).toThrow(/unknown datapath action enqueue/);
  });

  it("keeps checksums valid for any sequence of rewrites (property)", () => {
    const rewrite = fc.oneof(
      fc
        .integer({ min: 0, max: 0xffffffff })
        .map((a): DatapathAction => ({ kind: "set-nw-src", addr: a })),
      fc
        .integer({ min: 0, max: 0xffffffff })
        .map((a): DatapathAction => ({ kind: "set-nw-dst", addr: a })),
      fc
        .integer({ min: 0, max: 0xffff })
        .map((p): DatapathAction => ({ kind: "set-tp-src", port: p })),
      fc
        .integer({ min: 0, max: 0xffff })
        .map((p): DatapathAction => ({ kind: "set-tp-dst", port: p })),
      fc
        .integer({ min: 0, max: 0xff })
        .map((t): DatapathAction => ({ kind: "set-nw-tos", tos: t })),
      fc
        .integer({ min: 0, max: 4095 })
        .map((v): DatapathAction => ({ kind: "set-vlan-vid", vid: v })),
      fc.constant<DatapathAction>({ kind: "strip-vlan" }),
    );
    fc.assert(
      fc.property(
        fc.array(rewrite, { maxLength: 8 }),
        fc.boolean(),
        fc.uint8Array({ maxLength: 40 }),
        (acts, isTcp, data) => {
          const f = isTcp ? tcpFrame({}, [...data]) : udpFrame({}, [...data]);
          const b = run([...acts, out(2)], f).sent[0].bytes;
          const ok = checksumsOk(b);
          return ok.ip && ok.l4;
        },
      ),
    );
  });
});
