// Internet checksums (RFC 1071) for rewrites and egress fix-ups: incremental updates (RFC 1624)
// for header rewrites, and full sums for frames whose transport checksum the sender left to
// hardware (CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, uncomplemented).
import { L4, type PacketLayout } from "./parse.js";

/** Folds a 32-bit-or-wider one's-complement accumulator to 16 bits (0 stays 0). */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** One's-complement sum (unfolded) of bytes [start, end) of `buf`, added to `initial`. */
export function sumBytes(buf: Uint8Array, start: number, end: number, initial: number): number {
  let sum = initial;
  let i = start;
  // Four words per round keeps the loop short; the accumulator stays far below 2^53.
  for (; i + 7 < end; i += 8) {
    sum +=
      ((buf[i] << 8) | buf[i + 1]) +
      ((buf[i + 2] << 8) | buf[i + 3]) +
      ((buf[i + 4] << 8) | buf[i + 5]) +
      ((buf[i + 6] << 8) | buf[i + 7]);
  }
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  return sum;
}

/** RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data changes. */
export function csumReplace16(check: number, oldWord: number, newWord: number): number {
  return ~fold((~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

export function csumReplace32(check: number, oldWord: number, newWord: number): number {
  const c = csumReplace16(check, oldWord >>> 16, newWord >>> 16);
  return csumReplace16(c, oldWord & 0xffff, newWord & 0xffff);
}

/** The same change applied to an uncomplemented partial sum (a CHECKSUM_PARTIAL field). */
export function partialReplace32(partial: number, oldWord: number, newWord: number): number {
  return fold(
    partial +
      (~(oldWord >>> 16) & 0xffff) +
      (~oldWord & 0xffff) +
      (newWord >>> 16) +
      (newWord & 0xffff),
  );
}

/** Offset of the TCP or UDP checksum field of an IPv4 datagram, or -1 when the frame has none
 * to maintain (these helpers know the IPv4 pseudo-header only). */
export function l4ChecksumOffset(layout: PacketLayout): number {
  if (!layout.ipv4) return -1;
  if (layout.l4 === L4.TCP) return layout.l4Offset + 16;
  if (layout.l4 === L4.UDP) return layout.l4Offset + 6;
  return -1;
}

/** Length of the TCP/UDP segment according to the IPv4 header (not the captured bytes). */
export function l4Length(frame: Uint8Array, layout: PacketLayout): number {
  const l3 = layout.l3Offset;
  return ((frame[l3 + 2] << 8) | frame[l3 + 3]) - (layout.l4Offset - l3);
}

/** Unfolded pseudo-header sum: addresses, protocol and the given L4 length. */
export function pseudoHeaderSum(frame: Uint8Array, l3: number, l4Len: number): number {
  return sumBytes(frame, l3 + 12, l3 + 20, frame[l3 + 9] + l4Len);
}

/**
 * True when the TCP/UDP checksum field holds just the pseudo-header sum, i.e. the sender
 * expected hardware to finish it. O(1): the payload is not read.
 */
export function isPartialChecksum(frame: Uint8Array, layout: PacketLayout): boolean {
  const at = l4ChecksumOffset(layout);
  if (at < 0) return false;
  const field = (frame[at] << 8) | frame[at + 1];
  return field === fold(pseudoHeaderSum(frame, layout.l3Offset, l4Length(frame, layout)));
}

/** Computes the TCP/UDP checksum from scratch over the segment as captured. */
export function computeL4Checksum(frame: Uint8Array, layout: PacketLayout): void {
  const at = l4ChecksumOffset(layout);
  if (at < 0) return;
  const start = layout.l4Offset;
  const end = layout.l3End;
  frame[at] = 0;
  frame[at + 1] = 0;
  let c = ~fold(sumBytes(frame, start, end, pseudoHeaderSum(frame, layout.l3Offset, end - start)));
  c &= 0xffff;
  if (c === 0 && layout.l4 === L4.UDP) c = 0xffff;
  frame[at] = c >>> 8;
  frame[at + 1] = c & 0xff;
}

/** Recomputes the IPv4 header checksum of the header at `l3`. */
export function computeIpv4Checksum(frame: Uint8Array, l3: number): void {
  const ihl = (frame[l3] & 0x0f) * 4;
  frame[l3 + 10] = 0;
  frame[l3 + 11] = 0;
  const c = ~fold(sumBytes(frame, l3, l3 + ihl, 0)) & 0xffff;
  frame[l3 + 10] = c >>> 8;
  frame[l3 + 11] = c & 0xff;
}

/** True when the TCP/UDP checksum field of an IPv6 datagram (upper-layer protocol `proto`)
 * holds just the pseudo-header sum (RFC 8200 §8.1), as isPartialChecksum for IPv4. O(1). */
export function isPartialChecksumIpv6(
  frame: Uint8Array,
  layout: PacketLayout,
  at: number,
): boolean {
  const l3 = layout.l3Offset;
  const proto = layout.l4 === L4.TCP ? 6 : 17;
  const sum = sumBytes(frame, l3 + 8, l3 + 40, proto + (layout.l3End - layout.l4Offset));
  return ((frame[at] << 8) | frame[at + 1]) === fold(sum);
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as SCTP's checksum uses it. */
const CRC32C_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The CRC-32C of bytes [start, end) of `buf`, as an unsigned number. */
export function crc32c(buf: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC32C_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
