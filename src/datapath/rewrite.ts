// In-place header rewrites for the datapath's set-field actions. Each keeps the frame's checksums
// valid incrementally (RFC 1624) and keeps `layout` pointing at the moved headers. A frame
// whose transport checksum is still partial (left to offload) stays partial, but updated for
// the new pseudo-header, so the egress fix-up completes it correctly.
import {
  csumReplace16,
  csumReplace32,
  isPartialChecksum,
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

/** Replaces the DSCP bits of the IPv4 TOS byte, keeping ECN. */
export function setNwTos(frame: Buffer, layout: PacketLayout, tos: number): void {
  if (!layout.ipv4) return;
  const l3 = layout.l3Offset;
  const oldWord = u16(frame, l3);
  frame[l3 + 1] = (tos & 0xfc) | (frame[l3 + 1] & 0x03);
  put16(frame, l3 + 10, csumReplace16(u16(frame, l3 + 10), oldWord, u16(frame, l3)));
}

/** Replaces the TCP/UDP source (which=0) or destination (which=2) port. */
export function setTpPort(frame: Buffer, layout: PacketLayout, which: number, port: number): void {
  const ck = l4ChecksumOffset(layout);
  if (ck < 0) return;
  const at = layout.l4Offset + which;
  const old = u16(frame, at);
  const l4ck = u16(frame, ck);
  // A partial sum covers only the pseudo-header, so a port change does not touch it.
  if (!isPartialChecksum(frame, layout) && !(layout.l4 === L4.UDP && l4ck === 0)) {
    put16(frame, ck, csumReplace16(l4ck, old, port) || (layout.l4 === L4.UDP ? 0xffff : 0));
  }
  put16(frame, at, port);
}
