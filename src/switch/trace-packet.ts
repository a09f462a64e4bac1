// What a packet trace starts from: a packet described in ovs-ofctl's flow syntax
// (`in_port=1,tcp,dl_src=...,nw_dst=10.0.0.2,tp_dst=80`), made into the frame it describes, or
// a frame given as hex bytes. The trace then runs the switch's own parser on that frame, so the
// 12-tuple it reports is the one the datapath would extract.
import { ipv4FromString, ipv4ToString, macToBytes, macToString } from "../openflow/wire.js";
import { DL_TYPE_NOT_ETH_TYPE, FlowKey, VLAN_NONE } from "../packet/flow-key.js";
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  ETH_TYPE_VLAN,
  IP_PROTO_ICMP,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  L4,
  PacketLayout,
  parseFrame,
} from "../packet/parse.js";
import { computeIpv4Checksum, computeL4Checksum, fold, sumBytes } from "../packet/checksum.js";

/** A packet to trace: the port it arrives on and its bytes. */
export interface TracePacket {
  inPort: number;
  frame: Buffer;
}

/** A description the trace cannot use; the message says which part and why. */
export class TraceInputError extends Error {
  override readonly name = "TraceInputError";
}

const SHORTHANDS: Record<string, { dlType: number; nwProto?: number }> = {
  ip: { dlType: ETH_TYPE_IPV4 },
  icmp: { dlType: ETH_TYPE_IPV4, nwProto: IP_PROTO_ICMP },
  tcp: { dlType: ETH_TYPE_IPV4, nwProto: IP_PROTO_TCP },
  udp: { dlType: ETH_TYPE_IPV4, nwProto: IP_PROTO_UDP },
  arp: { dlType: ETH_TYPE_ARP },
};

/** Room for the largest frame a description makes (tagged Ethernet, IPv4, TCP: 58 bytes). */
const FRAME_LEN = 64;

const FIELDS = [
  "in_port",
  "dl_src",
  "dl_dst",
  "dl_vlan",
  "dl_vlan_pcp",
  "dl_type",
  "nw_src",
  "nw_dst",
  "nw_proto",
  "nw_tos",
  "tp_src",
  "tp_dst",
  "icmp_type",
  "icmp_code",
] as const;
type Field = (typeof FIELDS)[number];

function number(field: string, text: string, max: number): number {
  const v = /^0x[0-9a-f]+$/i.test(text)
    ? parseInt(text, 16)
    : /^\d+$/.test(text)
      ? Number(text)
      : NaN;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new TraceInputError(`${field}=${text}: expected a number from 0 to ${max}`);
  }
  return v;
}

function mac(field: string, text: string): Buffer {
  try {
    return macToBytes(text);
  } catch {
    throw new TraceInputError(`${field}=${text}: expected a MAC address like 00:11:22:33:44:55`);
  }
}

function ipv4(field: string, text: string): number {
  try {
    return ipv4FromString(text);
  } catch {
    throw new TraceInputError(`${field}=${text}: expected an IPv4 address like 10.0.0.1`);
  }
}

/**
 * The frame `text` describes (ovs-ofctl's OF1.0 field names and the shorthands ip, icmp, tcp,
 * udp, arp). Fields left out are zero, as in Open vSwitch's ofproto/trace; in_port is required.
 * For ARP, nw_proto is the opcode (default 1, request) and nw_src/nw_dst the sender and target
 * protocol addresses, as OpenFlow 1.0 matches them. Without dl_type the frame's type field is
 * 0, an 802.3 length: the datapath reads it as dl_type 0x05ff, and the trace says so.
 */
export function packetFromFlow(text: string): TracePacket {
  const given = new Map<Field, string>();
  let dlType: number | undefined;
  let nwProto: number | undefined;
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) {
      const sh = SHORTHANDS[part];
      if (!sh) {
        throw new TraceInputError(
          `"${part}" is neither field=value nor one of ${Object.keys(SHORTHANDS).join(", ")}`,
        );
      }
      dlType = sh.dlType;
      nwProto = sh.nwProto ?? nwProto;
      continue;
    }
    const name = part.slice(0, eq) as Field;
    if (!FIELDS.includes(name)) {
      throw new TraceInputError(`unknown field "${name}" (fields: ${FIELDS.join(", ")})`);
    }
    if (given.has(name)) throw new TraceInputError(`${name} is given twice`);
    given.set(name, part.slice(eq + 1));
  }
  const get = <T>(f: Field, parse: (v: string) => T, dflt: T): T => {
    const v = given.get(f);
    return v === undefined ? dflt : parse(v);
  };
  if (!given.has("in_port")) throw new TraceInputError("in_port=N is required");
  const inPort = get("in_port", (v) => number("in_port", v, 0xfeff), 0);
  if (inPort < 1) throw new TraceInputError("in_port must be a switch port (1 to 65279)");
  dlType = get("dl_type", (v) => number("dl_type", v, 0xffff), dlType ?? 0);
  nwProto = get("nw_proto", (v) => number("nw_proto", v, 0xff), nwProto ?? 0);
  const isIp = dlType === ETH_TYPE_IPV4;
  const isArp = dlType === ETH_TYPE_ARP;
  const needs = (fields: Field[], ok: boolean, what: string) => {
    for (const f of fields) {
      if (given.has(f) && !ok) throw new TraceInputError(`${f} needs ${what}`);
    }
  };
  needs(["nw_src", "nw_dst", "nw_proto"], isIp || isArp, "dl_type ip or arp (e.g. ip, tcp, arp)");
  needs(["nw_tos"], isIp, "dl_type ip");
  const l4 = isIp && (nwProto === IP_PROTO_TCP || nwProto === IP_PROTO_UDP);
  needs(["tp_src", "tp_dst"], l4 || (isIp && nwProto === IP_PROTO_ICMP), "tcp, udp or icmp");
  needs(["icmp_type", "icmp_code"], isIp && nwProto === IP_PROTO_ICMP, "icmp");
  if (dlType < 0x0600 && dlType !== 0 && dlType !== DL_TYPE_NOT_ETH_TYPE) {
    throw new TraceInputError(
      `dl_type=${dlType}: an 802.3 length, not an EtherType (0x05ff: an 802.3 frame)`,
    );
  }

  const vlan = get("dl_vlan", (v) => number("dl_vlan", v, 0xffff), VLAN_NONE);
  if (vlan !== VLAN_NONE && vlan > 0xfff) {
    throw new TraceInputError(`dl_vlan=${vlan}: expected 0 to 4095, or 0xffff for no tag`);
  }
  const pcp = get("dl_vlan_pcp", (v) => number("dl_vlan_pcp", v, 7), 0);
  if (given.has("dl_vlan_pcp") && vlan === VLAN_NONE) {
    throw new TraceInputError("dl_vlan_pcp needs dl_vlan (a tagged packet)");
  }
  const tos = get("nw_tos", (v) => number("nw_tos", v, 0xff), 0);
  if ((tos & 3) !== 0) throw new TraceInputError(`nw_tos=${tos}: the two ECN bits must be 0`);
  const src = get("nw_src", (v) => ipv4("nw_src", v), 0);
  const dst = get("nw_dst", (v) => ipv4("nw_dst", v), 0);
  // ICMP type and code are OF1.0's tp_src and tp_dst; either name may be used, not both.
  const port = (f: "tp_src" | "tp_dst", alias: "icmp_type" | "icmp_code"): number => {
    if (given.has(f) && given.has(alias))
      throw new TraceInputError(`${f} and ${alias} are the same field`);
    const max = nwProto === IP_PROTO_ICMP ? 0xff : 0xffff;
    return get(
      alias,
      (v) => number(alias, v, 0xff),
      get(f, (v) => number(f, v, max), 0),
    );
  };
  const tpSrc = port("tp_src", "icmp_type");
  const tpDst = port("tp_dst", "icmp_code");

  const dlSrc = get("dl_src", (v) => mac("dl_src", v), Buffer.alloc(6));
  const dlDst = get("dl_dst", (v) => mac("dl_dst", v), Buffer.alloc(6));
  const frame = Buffer.alloc(FRAME_LEN);
  dlDst.copy(frame, 0);
  dlSrc.copy(frame, 6);
  let off = 12;
  if (vlan !== VLAN_NONE) {
    frame.writeUInt16BE(ETH_TYPE_VLAN, off);
    frame.writeUInt16BE((pcp << 13) | vlan, off + 2);
    off += 4;
  }
  // dl_type 0 or 0x05ff (OF1.0's "not an EtherType"): an 802.3 frame, its length field here.
  frame.writeUInt16BE(dlType === DL_TYPE_NOT_ETH_TYPE ? 46 : dlType, off);
  off += 2;
  let end = Math.max(60, off);
  if (isIp) {
    const l4Len =
      nwProto === IP_PROTO_TCP ? 20 : nwProto === IP_PROTO_UDP || nwProto === IP_PROTO_ICMP ? 8 : 0;
    frame[off] = 0x45;
    frame[off + 1] = tos;
    frame.writeUInt16BE(20 + l4Len, off + 2);
    frame[off + 8] = 64; // TTL
    frame[off + 9] = nwProto;
    frame.writeUInt32BE(src, off + 12);
    frame.writeUInt32BE(dst, off + 16);
    const l4 = off + 20;
    if (nwProto === IP_PROTO_ICMP) {
      frame[l4] = tpSrc;
      frame[l4 + 1] = tpDst;
    } else if (l4Len > 0) {
      frame.writeUInt16BE(tpSrc, l4);
      frame.writeUInt16BE(tpDst, l4 + 2);
    }
    if (nwProto === IP_PROTO_TCP) {
      frame[l4 + 12] = 0x50; // data offset: 5 words
      frame[l4 + 13] = 0x02; // SYN
      frame.writeUInt16BE(0xffff, l4 + 14); // window
    } else if (nwProto === IP_PROTO_UDP) {
      frame.writeUInt16BE(8, l4 + 4);
    }
    end = Math.max(60, l4 + l4Len);
  } else if (isArp) {
    frame.writeUInt16BE(1, off); // Ethernet
    frame.writeUInt16BE(ETH_TYPE_IPV4, off + 2);
    frame[off + 4] = 6;
    frame[off + 5] = 4;
    frame.writeUInt16BE(given.has("nw_proto") ? nwProto : 1, off + 6); // opcode
    dlSrc.copy(frame, off + 8);
    frame.writeUInt32BE(src, off + 14);
    frame.writeUInt32BE(dst, off + 24);
    end = Math.max(60, off + 28);
  }
  const out = frame.subarray(0, end);
  if (isIp) {
    const layout = new PacketLayout();
    parseFrame(out, out.length, inPort, new FlowKey(), layout);
    computeIpv4Checksum(out, layout.l3Offset);
    if (layout.l4 === L4.TCP || layout.l4 === L4.UDP) computeL4Checksum(out, layout);
    else if (layout.l4 === L4.ICMP) icmpChecksum(out, layout);
  }
  return { inPort, frame: Buffer.from(out) };
}

function icmpChecksum(frame: Buffer, layout: PacketLayout): void {
  const at = layout.l4Offset;
  const c = ~fold(sumBytes(frame, at, layout.l3End, 0)) & 0xffff;
  frame[at + 2] = c >>> 8;
  frame[at + 3] = c & 0xff;
}

/** A frame given as hex digits (spaces, colons and a 0x prefix allowed), at least 14 bytes. */
export function frameFromHex(text: string): Buffer {
  const hex = text.replace(/^0x/i, "").replace(/[\s:.-]/g, "");
  if (!/^([0-9a-f]{2})+$/i.test(hex)) {
    throw new TraceInputError("the packet must be hex bytes (an even number of 0-9a-f digits)");
  }
  const frame = Buffer.from(hex, "hex");
  if (frame.length < 14) {
    throw new TraceInputError(
      `the packet is ${frame.length} bytes: shorter than an Ethernet header`,
    );
  }
  if (frame.length > 65535) throw new TraceInputError("the packet is longer than 65535 bytes");
  return frame;
}

const scratch = Buffer.alloc(6);

/** The key's Ethernet addresses as "aa:bb:cc:dd:ee:ff". */
export function keyMacs(key: FlowKey): { dlSrc: string; dlDst: string } {
  key.dlSrcInto(scratch, 0);
  const dlSrc = macToString(scratch);
  key.dlDstInto(scratch, 0);
  return { dlSrc, dlDst: macToString(scratch) };
}

/** The 12-tuple as ovs-ofctl writes a flow (every field, as the datapath parsed it). */
export function formatFlowKey(key: FlowKey): string {
  const { dlSrc, dlDst } = keyMacs(key);
  const parts = [
    `in_port=${key.inPort}`,
    `dl_vlan=${key.dlVlan === VLAN_NONE ? "0xffff" : key.dlVlan}`,
    `dl_vlan_pcp=${key.dlVlanPcp}`,
    `dl_src=${dlSrc}`,
    `dl_dst=${dlDst}`,
    `dl_type=0x${key.dlType.toString(16).padStart(4, "0")}`,
  ];
  if (key.dlType === ETH_TYPE_IPV4 || key.dlType === ETH_TYPE_ARP) {
    parts.push(`nw_src=${ipv4ToString(key.nwSrc)}`, `nw_dst=${ipv4ToString(key.nwDst)}`);
    parts.push(`nw_proto=${key.nwProto}`);
  }
  if (key.dlType === ETH_TYPE_IPV4) {
    parts.push(`nw_tos=${key.nwTos}`, `tp_src=${key.tpSrc}`, `tp_dst=${key.tpDst}`);
  }
  if (key.dlType === DL_TYPE_NOT_ETH_TYPE) parts.push("(802.3 frame without SNAP)");
  return parts.join(",");
}
