// Parses an Ethernet frame into the OpenFlow 1.0 12-tuple without allocating: the caller owns
// one FlowKey and one PacketLayout and passes them in for every frame. Open vSwitch's
// flow_extract is the reference where OF1.0 is silent (802.3/SNAP, truncated headers) and beyond
// it: as OVS, RARP is parsed as ARP, SCTP has ports, and IPv6 fills nw_tos (the traffic class's
// DSCP), nw_proto (the next header after any extension headers) and tp_src/tp_dst (TCP, UDP and
// SCTP ports, ICMPv6 type and code); nw_src/nw_dst stay zero for IPv6 (OF1.0 has 32 bits).
import { DL_TYPE_NOT_ETH_TYPE, ETH_TYPE_MIN, VLAN_NONE, type FlowKey } from "./flow-key.js";

export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_RARP = 0x8035;
export const ETH_TYPE_IPV6 = 0x86dd;
export const ETH_TYPE_VLAN = 0x8100;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const IP_PROTO_SCTP = 132;
export const IP_PROTO_ICMPV6 = 58;

export const TCP_HEADER_MIN = 20;
export const UDP_HEADER_LEN = 8;
export const ICMP_HEADER_MIN = 4;
export const SCTP_HEADER_LEN = 12;
const IPV6_HEADER_LEN = 40;
// IPv6 extension headers Open vSwitch walks to the upper-layer protocol (ESP is opaque).
const IPV6_HOPOPTS = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;
const IPV6_DSTOPTS = 60;
const IPV4_HEADER_MIN = 20;
const ARP_ETH_IPV4_LEN = 28;
const LLC_SNAP_LEN = 8;

/** Which L4 header the layout's l4Offset points at (only set when its header is complete). */
export const L4 = { NONE: 0, TCP: 1, UDP: 2, ICMP: 3, SCTP: 4, ICMPV6: 5 } as const;
/** The bytes of each L4 kind's header that must be present for its fields, by L4 value. */
const L4_HEADER_MIN = Int32Array.of(
  0,
  TCP_HEADER_MIN,
  UDP_HEADER_LEN,
  ICMP_HEADER_MIN,
  SCTP_HEADER_LEN,
  ICMP_HEADER_MIN,
);

/**
 * Offsets into the frame that actions need, refilled by every parseFrame call. -1 means the
 * header is absent (or truncated, for l3/l4).
 */
export class PacketLayout {
  /** Offset of the 802.1Q TPID (always 12 when tagged), or -1. */
  vlanOffset = -1;
  /** Offset of the Ethernet type that names the L3 protocol (after any tag/SNAP header). */
  ethTypeOffset = -1;
  /** Start of the IPv4, IPv6 or ARP header, or -1 when absent or truncated. */
  l3Offset = -1;
  /** True when l3Offset points at a complete IPv4 header. */
  ipv4 = false;
  /** True when l3Offset points at an IPv6 header whose payload the frame holds whole. */
  ipv6 = false;
  /** End of the IP datagram (l3Offset + its length, clipped to the frame for IPv4), or -1. */
  l3End = -1;
  /** Start of the TCP/UDP/SCTP/ICMP(v6) header when the datagram is a first (or only)
   * fragment. `l4` says which; checksum helpers and offloads act on IPv4 ones only. */
  l4Offset = -1;
  l4 = 0;
  /** First byte after the L4 header (TCP data offset honoured), or -1. */
  payloadOffset = -1;
  /** True when the IP datagram is a non-first fragment (no L4 header in it). */
  laterFragment = false;

  reset(): void {
    this.vlanOffset = -1;
    this.ethTypeOffset = -1;
    this.l3Offset = -1;
    this.ipv4 = false;
    this.ipv6 = false;
    this.l3End = -1;
    this.l4Offset = -1;
    this.l4 = L4.NONE;
    this.payloadOffset = -1;
    this.laterFragment = false;
  }
}

function u16(b: Buffer, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function u32(b: Buffer, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Fills `key` (cleared first) and `layout` from the first `length` bytes of `frame`.
 * Never throws: a truncated or malformed header leaves the fields it would have set at zero.
 */
export function parseFrame(
  frame: Buffer,
  length: number,
  inPort: number,
  key: FlowKey,
  layout: PacketLayout,
): void {
  key.clear();
  layout.reset();
  key.inPort = inPort;
  key.dlVlan = VLAN_NONE;
  const len = Math.min(length, frame.length);
  if (len >= 6) key.setDlDstFrom(frame, 0);
  if (len >= 12) key.setDlSrcFrom(frame, 6);
  if (len < ETH_HEADER_LEN) return;

  let off = 12;
  let type = u16(frame, off);
  if (type === ETH_TYPE_VLAN && len >= off + 2 + VLAN_TAG_LEN) {
    const tci = u16(frame, off + 2);
    key.dlVlan = tci & 0x0fff;
    key.dlVlanPcp = tci >>> 13;
    layout.vlanOffset = off;
    off += VLAN_TAG_LEN;
    type = u16(frame, off);
  }
  layout.ethTypeOffset = off;
  off += 2;

  if (type < ETH_TYPE_MIN) {
    // 802.3 length field: only LLC/SNAP with OUI 0 names an Ethernet type.
    type = DL_TYPE_NOT_ETH_TYPE;
    if (
      len >= off + LLC_SNAP_LEN &&
      frame[off] === 0xaa &&
      frame[off + 1] === 0xaa &&
      frame[off + 2] === 0x03 &&
      frame[off + 3] === 0 &&
      frame[off + 4] === 0 &&
      frame[off + 5] === 0
    ) {
      const snapType = u16(frame, off + 6);
      if (snapType >= ETH_TYPE_MIN) {
        layout.ethTypeOffset = off + 6;
        type = snapType;
        off += LLC_SNAP_LEN;
      }
    }
    if (type === DL_TYPE_NOT_ETH_TYPE) {
      key.dlType = type;
      return;
    }
  }
  key.dlType = type;

  if (type === ETH_TYPE_IPV4) parseIpv4(frame, len, off, key, layout);
  else if (type === ETH_TYPE_IPV6) parseIpv6(frame, len, off, key, layout);
  else if (type === ETH_TYPE_ARP || type === ETH_TYPE_RARP) parseArp(frame, len, off, key, layout);
}

function parseArp(frame: Buffer, len: number, off: number, key: FlowKey, layout: PacketLayout) {
  if (len < off + ARP_ETH_IPV4_LEN) return;
  // Only Ethernet/IPv4 ARP: hardware type 1, protocol 0x0800, address lengths 6 and 4.
  if (u16(frame, off) !== 1 || u16(frame, off + 2) !== ETH_TYPE_IPV4) return;
  if (frame[off + 4] !== 6 || frame[off + 5] !== 4) return;
  layout.l3Offset = off;
  // OVS matches the opcode's low 8 bits only, and takes 0 for opcodes above 0xff.
  if (frame[off + 6] === 0) key.nwProto = frame[off + 7];
  key.nwSrc = u32(frame, off + 14);
  key.nwDst = u32(frame, off + 24);
}

function parseIpv4(frame: Buffer, len: number, off: number, key: FlowKey, layout: PacketLayout) {
  if (len < off + IPV4_HEADER_MIN) return;
  const vihl = frame[off];
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >>> 4 !== 4 || ihl < IPV4_HEADER_MIN || len < off + ihl) return;
  const totalLen = u16(frame, off + 2);
  if (totalLen < ihl) return;
  layout.l3Offset = off;
  layout.ipv4 = true;
  // Ethernet padding beyond the datagram is not L4; a capture cut short ends earlier.
  const end = Math.min(len, off + totalLen);
  layout.l3End = end;
  key.nwTos = frame[off + 1] & 0xfc;
  const proto = frame[off + 9];
  key.nwProto = proto;
  key.nwSrc = u32(frame, off + 12);
  key.nwDst = u32(frame, off + 16);
  if ((u16(frame, off + 6) & 0x1fff) !== 0) {
    layout.laterFragment = true;
    return;
  }
  parseL4(frame, end, off + ihl, proto, IP_PROTO_ICMP, key, layout);
  // A first fragment (MF set): its L4 header stays in the layout for the actions, but the key
  // has no ports, as for every fragment (OF1.0 figure 3; Open vSwitch's "normal" fragment
  // handling), so all fragments of a datagram meet the same entry.
  if ((frame[off + 6] & 0x20) !== 0) key.tpPorts = 0;
}

/**
 * IPv6 as Open vSwitch's flow_extract: nothing beyond dl_type unless the frame holds the whole
 * payload; the extension headers walked to the upper-layer protocol; a non-first fragment
 * gets nw_proto 44 (fragment), and no fragment gets ports in the key. Addresses do not fit OF1.0's nw_src/nw_dst.
 */
function parseIpv6(frame: Buffer, len: number, off: number, key: FlowKey, layout: PacketLayout) {
  if (len < off + IPV6_HEADER_LEN || frame[off] >>> 4 !== 6) return;
  const end = off + IPV6_HEADER_LEN + u16(frame, off + 4);
  if (end > len) return;
  let proto = frame[off + 6];
  let at = off + IPV6_HEADER_LEN;
  let fragment = false;
  for (;;) {
    if (proto === IPV6_FRAGMENT) {
      if (end < at + 8) return;
      // Offset, reserved bits and M: anything but 0 (an atomic fragment) is a fragment.
      const offsetAndFlags = u16(frame, at + 2);
      if (offsetAndFlags !== 0) fragment = true;
      if ((offsetAndFlags & 0xfff8) !== 0) {
        layout.laterFragment = true;
        break;
      }
      proto = frame[at];
      at += 8;
    } else if (
      proto === IPV6_HOPOPTS ||
      proto === IPV6_ROUTING ||
      proto === IPV6_DSTOPTS ||
      proto === IPV6_AH
    ) {
      if (end < at + 2) return;
      const extLen = proto === IPV6_AH ? (frame[at + 1] + 2) * 4 : (frame[at + 1] + 1) * 8;
      proto = frame[at];
      at += extLen;
      if (end < at) return;
    } else break;
  }
  layout.l3Offset = off;
  layout.ipv6 = true;
  layout.l3End = end;
  key.nwTos = (u16(frame, off) >>> 4) & 0xfc; // the traffic class's DSCP
  key.nwProto = proto;
  if (layout.laterFragment) return;
  parseL4(frame, end, at, proto, IP_PROTO_ICMPV6, key, layout);
  if (fragment) key.tpPorts = 0; // a first fragment: no ports in the key, as for IPv4
}

/** The transport header at `l4` (before `end`): TCP, UDP and SCTP ports; ICMP type and code
 * for `icmp` (ICMP under IPv4, ICMPv6 under IPv6). A truncated header leaves them zero. */
function parseL4(
  frame: Buffer,
  end: number,
  l4: number,
  proto: number,
  icmp: number,
  key: FlowKey,
  layout: PacketLayout,
) {
  // Plain assignments, no destructuring: this runs for every frame and must not allocate.
  let kind: number = L4.NONE;
  if (proto === IP_PROTO_TCP) kind = L4.TCP;
  else if (proto === IP_PROTO_UDP) kind = L4.UDP;
  else if (proto === IP_PROTO_SCTP) kind = L4.SCTP;
  else if (proto === icmp) kind = proto === IP_PROTO_ICMP ? L4.ICMP : L4.ICMPV6;
  else return;
  const hdr = L4_HEADER_MIN[kind];
  if (end < l4 + hdr) return;
  layout.l4 = kind;
  layout.l4Offset = l4;
  if (kind === L4.TCP) {
    // The data offset, as far as the datagram goes.
    layout.payloadOffset = Math.min(end, l4 + Math.max(hdr, (frame[l4 + 12] >>> 4) * 4));
  } else layout.payloadOffset = l4 + hdr;
  if (kind === L4.ICMP || kind === L4.ICMPV6) {
    key.tpSrc = frame[l4];
    key.tpDst = frame[l4 + 1];
  } else key.tpPorts = u32(frame, l4);
}
