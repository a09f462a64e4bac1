// In-place header rewrites for the datapath's set-field actions. Each keeps the frame's checksums
// valid incrementally (RFC 1624) and keeps `layout` pointing at the moved headers. A frame
// whose transport checksum is still partial (left to offload) stays partial, but updated for
// the new pseudo-header, so the egress fix-up completes it correctly.
import {
  crc32c,
  csumReplace16,
  csumReplace32,
  isPartialChecksum,
  isPartialChecksumIpv6,
  l4ChecksumOffset,
  partialReplace32,
} from "../packet/checksum.js";
import { ETH_TYPE_VLAN, L4, VLAN_TAG_LEN, type PacketLayout } from "../packet/parse.js";

function u16(b: Buffer, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function put16(b: Buffer, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function shiftLayout(layout: PacketLayout, by: number): void {
  layout.ethTypeOffset += by;
  if (layout.l3Offset >= 0) layout.l3Offset += by;
  if (layout.l3End >= 0) layout.l3End += by;
  if (layout.l4Offset >= 0) layout.l4Offset += by;
  if (layout.payloadOffset >= 0) layout.payloadOffset += by;
}

/**
 * Sets the 802.1Q TCI bits selected by `mask` to `value`; an untagged frame gets a tag whose
 * other bits are zero (OVS semantics). `frame` must have room for 4 more bytes. Returns the
 * new length.
 */
export function setVlanTci(
  frame: Buffer,
  length: number,
  layout: PacketLayout,
  mask: number,
  value: number,
): number {
  if (length < 14) return length;
  if (layout.vlanOffset >= 0) {
    const at = layout.vlanOffset + 2;
    put16(frame, at, (u16(frame, at) & ~mask) | (value & mask));
    return length;
  }
  frame.copyWithin(12 + VLAN_TAG_LEN, 12, length);
  put16(frame, 12, ETH_TYPE_VLAN);
  put16(frame, 14, value & mask);
  layout.vlanOffset = 12;
  shiftLayout(layout, VLAN_TAG_LEN);
  return length + VLAN_TAG_LEN;
}

/** Removes the 802.1Q tag if there is one; returns the new length. */
export function stripVlan(frame: Buffer, length: number, layout: PacketLayout): number {
  if (layout.vlanOffset < 0) return length;
  frame.copyWithin(12, 12 + VLAN_TAG_LEN, length);
  layout.vlanOffset = -1;
  shiftLayout(layout, -VLAN_TAG_LEN);
  return length - VLAN_TAG_LEN;
}

/** Writes a MAC address given as its top 16 and low 32 bits at `off` (0: dst, 6: src). */
export function setMac(frame: Buffer, off: number, hi16: number, lo32: number): void {
  put16(frame, off, hi16);
  frame[off + 2] = lo32 >>> 24;
  frame[off + 3] = (lo32 >>> 16) & 0xff;
  frame[off + 4] = (lo32 >>> 8) & 0xff;
  frame[off + 5] = lo32 & 0xff;
}

/** Replaces the IPv4 source (which=12) or destination (which=16) address. */
export function setNwAddr(frame: Buffer, layout: PacketLayout, which: number, addr: number): void {
  if (!layout.ipv4) return;
  const at = layout.l3Offset + which;
  const old = frame.readUInt32BE(at);
  const ck = l4ChecksumOffset(layout);
  if (ck >= 0) {
    const l4ck = u16(frame, ck);
    if (isPartialChecksum(frame, layout)) {
      put16(frame, ck, partialReplace32(l4ck, old, addr));
    } else if (!(layout.l4 === L4.UDP && l4ck === 0)) {
      put16(frame, ck, csumReplace32(l4ck, old, addr) || (layout.l4 === L4.UDP ? 0xffff : 0));
    }
  }
  const ipck = layout.l3Offset + 10;
  put16(frame, ipck, csumReplace32(u16(frame, ipck), old, addr));
  frame.writeUInt32BE(addr >>> 0, at);
}

/** Replaces the DSCP bits of the IPv4 TOS byte or of the IPv6 traffic class, keeping ECN (as
 * Open vSwitch's set_nw_tos, which acts on both). */
export function setNwTos(frame: Buffer, layout: PacketLayout, tos: number): void {
  const l3 = layout.l3Offset;
  if (layout.ipv6) {
    // Traffic class: the low nibble of byte 0 and the high nibble of byte 1.
    const tc = ((frame[l3] & 0x0f) << 4) | (frame[l3 + 1] >>> 4);
    const next = (tos & 0xfc) | (tc & 0x03);
    frame[l3] = (frame[l3] & 0xf0) | (next >>> 4);
    frame[l3 + 1] = ((next & 0x0f) << 4) | (frame[l3 + 1] & 0x0f);
    return;
  }
  if (!layout.ipv4) return;
  const oldWord = u16(frame, l3);
  frame[l3 + 1] = (tos & 0xfc) | (frame[l3 + 1] & 0x03);
  put16(frame, l3 + 10, csumReplace16(u16(frame, l3 + 10), oldWord, u16(frame, l3)));
}

/**
 * Replaces the TCP/UDP/SCTP source (which=0) or destination (which=2) port, over IPv4 or IPv6,
 * or, as Open vSwitch does, the ICMP/ICMPv6 type (which=0) or code (which=2): the low 8 bits.
 */
export function setTpPort(frame: Buffer, layout: PacketLayout, which: number, port: number): void {
  if (layout.l4 === L4.ICMP || layout.l4 === L4.ICMPV6) {
    setIcmpTypeCode(frame, layout.l4Offset, which === 0 ? 0 : 1, port & 0xff);
    return;
  }
  if (layout.l4 === L4.SCTP) {
    setSctpPort(frame, layout, layout.l4Offset + which, port);
    return;
  }
  const udp = layout.l4 === L4.UDP;
  if (!udp && layout.l4 !== L4.TCP) return;
  const ck = layout.l4Offset + (udp ? 6 : 16);
  const at = layout.l4Offset + which;
  const old = u16(frame, at);
  const l4ck = u16(frame, ck);
  // A partial sum covers only the pseudo-header, so a port change does not touch it.
  const partial = layout.ipv6
    ? isPartialChecksumIpv6(frame, layout, ck)
    : isPartialChecksum(frame, layout);
  if (!partial && !(udp && l4ck === 0)) {
    put16(frame, ck, csumReplace16(l4ck, old, port) || (udp ? 0xffff : 0));
  }
  put16(frame, at, port);
}

/**
 * An SCTP port, with the CRC-32C recomputed over the packet as Open vSwitch does it
 * (packet_set_sctp_port): a checksum that was wrong before stays wrong by the same bits.
 */
function setSctpPort(frame: Buffer, layout: PacketLayout, at: number, port: number): void {
  const l4 = layout.l4Offset;
  const end = layout.l3End;
  const ck = l4 + 8;
  const old = frame.readUInt32LE(ck);
  frame.writeUInt32LE(0, ck);
  const oldCorrect = crc32c(frame, l4, end);
  put16(frame, at, port);
  const now = crc32c(frame, l4, end);
  frame.writeUInt32LE((old ^ oldCorrect ^ now) >>> 0, ck);
}

/** The ICMP type (at=0) or code (at=1), with the checksum updated for that word (ICMPv6's
 * pseudo-header does not change), as Open vSwitch's packet_set_icmp. */
function setIcmpTypeCode(frame: Buffer, l4: number, at: number, value: number): void {
  const old = u16(frame, l4);
  frame[l4 + at] = value;
  put16(frame, l4 + 2, csumReplace16(u16(frame, l4 + 2), old, u16(frame, l4)));
}
