// Parses an Ethernet frame into the OpenFlow 1.0 12-tuple without allocating: the caller owns
// one FlowKey and one PacketLayout and passes them in for every frame. Open vSwitch's
// flow_extract is the reference where OF1.0 is silent (802.3/SNAP, truncated headers).
import { DL_TYPE_NOT_ETH_TYPE, ETH_TYPE_MIN, VLAN_NONE, type FlowKey } from "./flow-key.js";

export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_VLAN = 0x8100;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;

export const TCP_HEADER_MIN = 20;
export const UDP_HEADER_LEN = 8;
export const ICMP_HEADER_MIN = 4;
const IPV4_HEADER_MIN = 20;
const ARP_ETH_IPV4_LEN = 28;
const LLC_SNAP_LEN = 8;

/** Which L4 header the layout's l4Offset points at (only set when its header is complete). */
export const L4 = { NONE: 0, TCP: 1, UDP: 2, ICMP: 3 } as const;

/**
 * Offsets into the frame that actions need, refilled by every parseFrame call. -1 means the
 * header is absent (or truncated, for l3/l4).
 */
export class PacketLayout {
  /** Offset of the 802.1Q TPID (always 12 when tagged), or -1. */
  vlanOffset = -1;
  /** Offset of the Ethernet type that names the L3 protocol (after any tag/SNAP header). */
  ethTypeOffset = -1;
  /** Start of the IPv4 or ARP header, or -1 when absent or truncated. */
  l3Offset = -1;
  /** True when l3Offset points at a complete IPv4 header. */
  ipv4 = false;
  /** End of the IPv4 datagram (l3Offset + total length, clipped to the frame), or -1. */
  l3End = -1;
  /** Start of the TCP/UDP/ICMP header when the datagram is a first (or only) fragment. */
  l4Offset = -1;
  l4 = 0;
  /** First byte after the L4 header (TCP data offset honoured), or -1. */
  payloadOffset = -1;
  /** True when the IPv4 datagram is a non-first fragment (no L4 header in it). */
  laterFragment = false;

  reset(): void {
    this.vlanOffset = -1;
    this.ethTypeOffset = -1;
    this.l3Offset = -1;
    this.ipv4 = false;
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
  else if (type === ETH_TYPE_ARP) parseArp(frame, len, off, key, layout);
}

function parseArp(frame: Buffer, len: number, off: number, key: FlowKey, layout: PacketLayout) {
  if (len < off + ARP_ETH_IPV4_LEN) return;
  // Only Ethernet/IPv4 ARP: hardware type 1, protocol 0x0800, address lengths 6 and 4.
  if (u16(frame, off) !== 1 || u16(frame, off + 2) !== ETH_TYPE_IPV4) return;
  if (frame[off + 4] !== 6 || frame[off + 5] !== 4) return;
  layout.l3Offset = off;
  key.nwProto = frame[off + 7];
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
  const l4 = off + ihl;
  if (proto === IP_PROTO_TCP) {
    if (end < l4 + TCP_HEADER_MIN) return;
    layout.l4 = L4.TCP;
    layout.l4Offset = l4;
    layout.payloadOffset = Math.min(end, l4 + Math.max(TCP_HEADER_MIN, (frame[l4 + 12] >>> 4) * 4));
    key.tpSrc = u16(frame, l4);
    key.tpDst = u16(frame, l4 + 2);
  } else if (proto === IP_PROTO_UDP) {
    if (end < l4 + UDP_HEADER_LEN) return;
    layout.l4 = L4.UDP;
    layout.l4Offset = l4;
    layout.payloadOffset = l4 + UDP_HEADER_LEN;
    key.tpSrc = u16(frame, l4);
    key.tpDst = u16(frame, l4 + 2);
  } else if (proto === IP_PROTO_ICMP) {
    if (end < l4 + ICMP_HEADER_MIN) return;
    layout.l4 = L4.ICMP;
    layout.l4Offset = l4;
    layout.payloadOffset = l4 + ICMP_HEADER_MIN;
    key.tpSrc = frame[l4];
    key.tpDst = frame[l4 + 1];
  }
}
