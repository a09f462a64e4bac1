// A trace's input: a packet described in ovs-ofctl's flow syntax becomes the frame it describes
// (checked with our parser and with Open vSwitch's, through `ovs-ofctl ofp-print` of a
// PACKET_IN carrying it), hex bytes become a frame, and bad descriptions get one clear line.
import { describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { OFPR, OFPT, OFP_NO_BUFFER } from "../../src/openflow/of10/constants.js";
import { FlowKey } from "../../src/packet/flow-key.js";
import { PacketLayout, parseFrame } from "../../src/packet/parse.js";
import {
  TraceInputError,
  formatFlowKey,
  frameFromHex,
  packetFromFlow,
} from "../../src/switch/trace-packet.js";
import { checksumsOk } from "../support/frames.js";
import { haveOvsOfctl, ofpPrint } from "../openflow/ofp-print.js";
import { skipWithout } from "../support/prereq.js";

function tuple(flow: string): string {
  const { inPort, frame } = packetFromFlow(flow);
  const key = new FlowKey();
  parseFrame(frame, frame.length, inPort, key, new PacketLayout());
  return formatFlowKey(key);
}

/** Open vSwitch's reading of the frame: the flow line of ofp-print's PACKET_IN. */
function ovsReads(flow: string): string {
  const { inPort, frame } = packetFromFlow(flow);
  const msg = encodeMessage({
    type: OFPT.PACKET_IN,
    xid: 1,
    bufferId: OFP_NO_BUFFER,
    totalLen: frame.length,
    inPort,
    reason: OFPR.NO_MATCH,
    data: frame,
  });
  const out = ofpPrint(msg);
  const line = out
    .split("\n")
    .find(
      (l) =>
        /^(tcp|udp|icmp|arp|ip|vlan|dl_|in_port|packet|eth)/.test(l.trim()) && l.includes("dl_src"),
    );
  return line?.trim() ?? out;
}

describe("trace input: flow descriptions", () => {
  it("tcp with every field: the parser reads back what was described", () => {
    expect(
      tuple(
        "in_port=3,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,dl_vlan=10,dl_vlan_pcp=5," +
          "tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=32,tp_src=1234,tp_dst=80",
      ),
    ).toBe(
      "in_port=3,dl_vlan=10,dl_vlan_pcp=5,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb," +
        "dl_type=0x0800,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=6,nw_tos=32,tp_src=1234,tp_dst=80",
    );
  });

  it("fields left out are zero; untagged unless dl_vlan is given", () => {
    expect(tuple("in_port=1")).toBe(
      "in_port=1,dl_vlan=0xffff,dl_vlan_pcp=0,dl_src=00:00:00:00:00:00," +
        "dl_dst=00:00:00:00:00:00,dl_type=0x05ff,(802.3 frame without SNAP)",
    );
    expect(tuple("in_port=1,udp,tp_dst=53")).toMatch(/nw_proto=17,nw_tos=0,tp_src=0,tp_dst=53$/);
    expect(tuple("in_port=2,icmp,icmp_type=8,icmp_code=0")).toMatch(
      /nw_proto=1,.*tp_src=8,tp_dst=0$/,
    );
    expect(tuple("in_port=2,icmp,tp_src=3,tp_dst=1")).toMatch(/tp_src=3,tp_dst=1$/);
    expect(tuple("in_port=2,ip,nw_proto=47")).toMatch(/nw_proto=47,nw_tos=0,tp_src=0,tp_dst=0$/);
    expect(tuple("in_port=2,dl_type=0x88cc")).toMatch(/dl_type=0x88cc$/);
    expect(tuple("in_port=2,dl_type=0x05ff")).toMatch(
      /dl_type=0x05ff,\(802.3 frame without SNAP\)$/,
    );
  });

  it("arp: nw_proto is the opcode (request by default), nw_src/nw_dst the protocol addresses", () => {
    expect(tuple("in_port=1,arp,dl_src=02:00:00:00:00:01,nw_src=10.0.0.1,nw_dst=10.0.0.2")).toBe(
      "in_port=1,dl_vlan=0xffff,dl_vlan_pcp=0,dl_src=02:00:00:00:00:01," +
        "dl_dst=00:00:00:00:00:00,dl_type=0x0806,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=1",
    );
    expect(tuple("in_port=1,arp,nw_proto=2")).toMatch(/nw_proto=2$/);
  });

  it("IPv4, TCP, UDP checksums are right (a sent trace packet must be a valid packet)", () => {
    for (const f of [
      "in_port=1,tcp,nw_src=10.1.2.3,nw_dst=10.3.2.1,tp_src=5,tp_dst=6",
      "in_port=1,udp,nw_src=10.1.2.3,nw_dst=10.3.2.1,tp_src=5,tp_dst=6",
      "in_port=1,dl_vlan=7,tcp,nw_dst=192.168.1.1,tp_dst=443",
      "in_port=1,icmp,icmp_type=8",
    ]) {
      const { frame } = packetFromFlow(f);
      expect(checksumsOk(frame), f).toEqual({ ip: true, l4: true });
      expect(frame.length, f).toBeGreaterThanOrEqual(60);
    }
  });

  it.skipIf(skipWithout(import.meta.url, haveOvsOfctl ? undefined : "ovs-ofctl is not installed"))(
    "Open vSwitch's parser reads the same packets (ovs-ofctl ofp-print of a PACKET_IN)",
    () => {
      const tcp = ovsReads(
        "in_port=3,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,tcp," +
          "nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=32,tp_src=1234,tp_dst=80",
      );
      expect(tcp).toMatch(/^tcp,/);
      for (const part of [
        "dl_src=00:11:22:33:44:55",
        "dl_dst=66:77:88:99:aa:bb",
        "nw_src=10.0.0.1",
        "nw_dst=10.0.0.2",
        "nw_tos=32",
        "tp_src=1234",
        "tp_dst=80",
        "tcp_flags=syn",
      ]) {
        expect(tcp).toContain(part);
      }
      expect(ovsReads("in_port=1,dl_vlan=10,dl_vlan_pcp=5,udp,tp_dst=53")).toMatch(
        /^udp,.*dl_vlan=10,dl_vlan_pcp=5.*tp_dst=53/,
      );
      expect(ovsReads("in_port=1,icmp,icmp_type=8,icmp_code=0")).toMatch(
        /^icmp,.*icmp_type=8,icmp_code=0/,
      );
      expect(ovsReads("in_port=1,arp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=2")).toMatch(
        /^arp,.*arp_spa=10\.0\.0\.1,arp_tpa=10\.0\.0\.2,arp_op=2/,
      );
    },
  );

  const bad: [string, RegExp][] = [
    ["tcp,tp_dst=80", /in_port=N is required/],
    ["in_port=0", /in_port must be a switch port/],
    ["in_port=1,foo=2", /unknown field "foo"/],
    ["in_port=1,sctp", /"sctp" is neither field=value nor one of ip, icmp, tcp, udp, arp/],
    ["in_port=1,in_port=2", /in_port is given twice/],
    ["in_port=1,tp_dst=80", /tp_dst needs tcp, udp or icmp/],
    ["in_port=1,nw_dst=10.0.0.1", /nw_dst needs dl_type ip or arp/],
    ["in_port=1,arp,nw_tos=4", /nw_tos needs dl_type ip/],
    ["in_port=1,tcp,icmp_type=3", /icmp_type needs icmp/],
    ["in_port=1,tcp,nw_dst=10.0.0.300", /nw_dst=10\.0\.0\.300: expected an IPv4 address/],
    ["in_port=1,dl_src=00:11:22", /dl_src=00:11:22: expected a MAC address/],
    ["in_port=1,tcp,tp_dst=65536", /tp_dst=65536: expected a number from 0 to 65535/],
    ["in_port=1,dl_vlan=5000", /dl_vlan=5000: expected 0 to 4095/],
    ["in_port=1,dl_vlan_pcp=3", /dl_vlan_pcp needs dl_vlan/],
    ["in_port=1,ip,nw_tos=3", /the two ECN bits must be 0/],
    ["in_port=1,dl_type=0x0100", /an 802\.3 length, not an EtherType/],
    ["in_port=1,icmp,tp_src=1,icmp_type=2", /tp_src and icmp_type are the same field/],
  ];
  for (const [flow, message] of bad) {
    it(`refuses ${flow}`, () => {
      expect(() => packetFromFlow(flow)).toThrow(TraceInputError);
      expect(() => packetFromFlow(flow)).toThrow(message);
    });
  }
});

describe("trace input: hex bytes", () => {
  it("accepts hex with separators and a 0x prefix", () => {
    expect(frameFromHex("0x000102030405 060708090a0b:08:00")).toEqual(
      Buffer.from("000102030405060708090a0b0800", "hex"),
    );
  });

  it("refuses odd digits, non-hex and runts", () => {
    expect(() => frameFromHex("abc")).toThrow(/hex bytes/);
    expect(() => frameFromHex("zz")).toThrow(/hex bytes/);
    expect(() => frameFromHex("0011")).toThrow(/2 bytes: shorter than an Ethernet header/);
  });
});
