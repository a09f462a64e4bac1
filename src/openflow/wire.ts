// Byte-level helpers shared by the codec, the flow table and the datapath: MAC and IPv4
// address conversion and OpenFlow's fixed-size NUL-padded strings.
import type { MacAddress } from "./of10/types.js";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The six bytes at buf[off..off+6) as "aa:bb:cc:dd:ee:ff". */
export function macToString(buf: Uint8Array, off = 0): MacAddress {
  return (
    HEX[buf[off]] +
    ":" +
    HEX[buf[off + 1]] +
    ":" +
    HEX[buf[off + 2]] +
    ":" +
    HEX[buf[off + 3]] +
    ":" +
    HEX[buf[off + 4]] +
    ":" +
    HEX[buf[off + 5]]
  );
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/** Writes "aa:bb:cc:dd:ee:ff" (either case) as six bytes at buf[off]. Throws TypeError on
 * anything else: a bad address is the caller's bug, not a protocol error. */
export function writeMac(buf: Uint8Array, off: number, mac: MacAddress): void {
  if (typeof mac !== "string" || mac.length !== 17) throw new TypeError(`bad MAC address: ${mac}`);
  for (let i = 0; i < 6; i++) {
    const p = i * 3;
    const hi = hexDigit(mac.charCodeAt(p));
    const lo = hexDigit(mac.charCodeAt(p + 1));
    if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(p + 2) !== 58)) {
      throw new TypeError(`bad MAC address: ${mac}`);
    }
    buf[off + i] = (hi << 4) | lo;
  }
}

/**
 * Reads "aa:bb:cc:dd:ee:ff" (either case) into `out[0..5]`; anything unparsable reads as six
 * zero bytes (never throws). Returns whether `mac` was already canonical (17 characters,
 * lower-case), so callers can keep the string instead of rebuilding it.
 */
export function parseMac(mac: MacAddress, out: Uint8Array | number[]): boolean {
  let canonical = mac.length === 17;
  for (let i = 0; i < 6; i++) {
    const p = i * 3;
    const hi = hexDigit(mac.charCodeAt(p));
    const lo = hexDigit(mac.charCodeAt(p + 1));
    if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(p + 2) !== 58)) {
      out.fill(0);
      return false;
    }
    out[i] = (hi << 4) | lo;
    if (isUpperHex(mac.charCodeAt(p)) || isUpperHex(mac.charCodeAt(p + 1))) canonical = false;
  }
  return canonical;
}

const isUpperHex = (c: number): boolean => c >= 65 && c <= 70;

/** "aa:bb:cc:dd:ee:ff" as a new 6-byte Buffer. */
export function macToBytes(mac: MacAddress): Buffer {
  const b = Buffer.alloc(6);
  writeMac(b, 0, mac);
  return b;
}

/** An unsigned 32-bit IPv4 address (host order) as dotted quad. */
export function ipv4ToString(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Dotted quad to an unsigned 32-bit number; TypeError if it is not exactly a.b.c.d. */
export function ipv4FromString(s: string): number {
  const parts = s.split(".");
  if (parts.length !== 4) throw new TypeError(`bad IPv4 address: ${s}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new TypeError(`bad IPv4 address: ${s}`);
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

// Fixed-size char arrays are bytes to OpenFlow; they are read and written as latin1 so that any
// bytes survive decode/encode unchanged (UTF-8 would turn invalid bytes into U+FFFD). ASCII, the
// practical case, is the same either way.

/** A fixed-size char array: the text up to the first NUL. The last byte is the terminator
 * even when it is not NUL (at most len - 1 bytes are read), as Open vSwitch reads them. */
export function readFixedString(buf: Buffer, off: number, len: number): string {
  const limit = off + len - 1;
  let end = off;
  while (end < limit && buf[end] !== 0) end++;
  return buf.toString("latin1", off, end);
}

/** Writes `s` NUL-padded into a fixed-size char array, truncated to len - 1 bytes so it always
 * ends in NUL, as strlcpy does in Open vSwitch. */
export function writeFixedString(buf: Buffer, off: number, len: number, s: string): void {
  buf.fill(0, off, off + len);
  buf.write(s, off, len - 1, "latin1");
}
