// Builds Ethernet frames byte by byte for datapath tests, and checks checksums with a plain
// full one's-complement sum that shares no code with the datapath's incremental updates.

export function mac(s: string): number[] {
  return s.split(":").map((h) => parseInt(h, 16));
}

export function ip(s: string): number[] {
  return s.split(".").map((d) => parseInt(d, 10));
}

export function ipNum(s: string): number {
  const b = ip(s);
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

function be16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** RFC 1071 checksum of `bytes`, computed from scratch (the reference for tests). */
export function fullChecksum(bytes: ArrayLike<number>, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export interface EthOpts {
  dst?: string;
  src?: string;
  vlan?: { vid: number; pcp: number };
  type: number;
}

export function eth(o: EthOpts, payload: number[]): Buffer {
  const bytes = [...mac(o.dst ?? "00:00:00:00:00:02"), ...mac(o.src ?? "00:00:00:00:00:01")];
  if (o.vlan) bytes.push(0x81, 0x00, ...be16((o.vlan.pcp << 13) | o.vlan.vid));
  bytes.push(...be16(o.type), ...payload);
  return Buffer.from(bytes);
}

export interface Ipv4Opts {
  src?: string;
  dst?: string;
  proto: number;
  tos?: number;
  id?: number;
  /** flags (3 bits) and fragment offset (13 bits), as on the wire. */
  fragField?: number;
  ttl?: number;
  options?: number[];
}

export function ipv4(o: Ipv4Opts, l4: number[]): number[] {
  const opts = o.options ?? [];
  const ihl = 5 + opts.length / 4;
  const hdr = [
    0x40 | ihl,
    o.tos ?? 0,
    ...be16(ihl * 4 + l4.length),
    ...be16(o.id ?? 0x1234),
    ...be16(o.fragField ?? 0x4000),
    o.ttl ?? 64,
    o.proto,
    0,
    0,
    ...ip(o.src ?? "10.0.0.1"),
    ...ip(o.dst ?? "10.0.0.2"),
    ...opts,
  ];
  const c = fullChecksum(hdr);
  hdr[10] = c >>> 8;
  hdr[11] = c & 0xff;
  return [...hdr, ...l4];
}

function pseudoSum(src: string, dst: string, proto: number, len: number): number {
  const p = [...ip(src), ...ip(dst), 0, proto, ...be16(len)];
  return ~fullChecksum(p) & 0xffff;
}

export function tcp(
  o: { src?: string; dst?: string; sport: number; dport: number; seq?: number; flags?: number },
  data: number[] = [],
): number[] {
  const seg = [
    ...be16(o.sport),
    ...be16(o.dport),
    ...be32(o.seq ?? 1000),
    ...be32(0),
    0x50,
    o.flags ?? 0x18,
    ...be16(65535),
    0,
    0,
    0,
    0,
    ...data,
  ];
  const c = fullChecksum(seg, pseudoSum(o.src ?? "10.0.0.1", o.dst ?? "10.0.0.2", 6, seg.length));
  seg[16] = c >>> 8;
  seg[17] = c & 0xff;
  return seg;
}

export function udp(
  o: { src?: string; dst?: string; sport: number; dport: number; noChecksum?: boolean },
  data: number[] = [],
): number[] {
  const seg = [...be16(o.sport), ...be16(o.dport), ...be16(8 + data.length), 0, 0, ...data];
  if (!o.noChecksum) {
    let c = fullChecksum(seg, pseudoSum(o.src ?? "10.0.0.1", o.dst ?? "10.0.0.2", 17, seg.length));
    if (c === 0) c = 0xffff;
    seg[6] = c >>> 8;
    seg[7] = c & 0xff;
  }
  return seg;
}

export function icmp(type: number, code: number, data: number[] = []): number[] {
  const m = [type, code, 0, 0, ...data];
  const c = fullChecksum(m);
  m[2] = c >>> 8;
  m[3] = c & 0xff;
  return m;
}

export function arp(op: number, spa: string, tpa: string, sha = "00:00:00:00:00:01"): number[] {
  return [0, 1, 8, 0, 6, 4, ...be16(op), ...mac(sha), ...ip(spa), 0, 0, 0, 0, 0, 0, ...ip(tpa)];
}

/** A whole TCP/IPv4 frame with valid checksums. */
export function tcpFrame(
  o: { sport?: number; dport?: number; src?: string; dst?: string; vlan?: EthOpts["vlan"] } = {},
  data: number[] = [1, 2, 3, 4, 5],
): Buffer {
  const src = o.src ?? "10.0.0.1";
  const dst = o.dst ?? "10.0.0.2";
  return eth(
    { type: 0x0800, vlan: o.vlan },
    ipv4(
      { proto: 6, src, dst },
      tcp({ src, dst, sport: o.sport ?? 1234, dport: o.dport ?? 80 }, data),
    ),
  );
}

export function udpFrame(
  o: { sport?: number; dport?: number; src?: string; dst?: string; noChecksum?: boolean } = {},
  data: number[] = [9, 8, 7],
): Buffer {
  const src = o.src ?? "10.0.0.1";
  const dst = o.dst ?? "10.0.0.2";
  return eth(
    { type: 0x0800 },
    ipv4(
      { proto: 17, src, dst },
      udp(
        { src, dst, sport: o.sport ?? 5000, dport: o.dport ?? 53, noChecksum: o.noChecksum },
        data,
      ),
    ),
  );
}

/** Verifies the IPv4 header checksum and the TCP/UDP checksum of an untagged or tagged frame. */
export function checksumsOk(frame: Buffer): { ip: boolean; l4: boolean } {
  let off = 12;
  if (frame.readUInt16BE(off) === 0x8100) off += 4;
  off += 2;
  const ihl = (frame[off] & 0xf) * 4;
  const total = frame.readUInt16BE(off + 2);
  const ipOk = fullChecksum(frame.subarray(off, off + ihl)) === 0;
  const proto = frame[off + 9];
  const l4 = frame.subarray(off + ihl, off + total);
  if (proto !== 6 && proto !== 17) return { ip: ipOk, l4: true };
  if (proto === 17 && l4.readUInt16BE(6) === 0) return { ip: ipOk, l4: true };
  const pseudo = [...frame.subarray(off + 12, off + 20), 0, proto, ...be16(l4.length)];
  const sum = fullChecksum([...pseudo, ...l4]);
  return { ip: ipOk, l4: sum === 0 };
}

/** fd00::LAST as 16 bytes (the IPv6 frames' addresses: fd00::1 -> fd00::2). */
const ipv6Addr = (last: number) => [0xfd, ...new Array<number>(14).fill(0), last];

/**
 * A TCP/IPv6 GSO frame as a host with TSO hands it to its veth: `payload` bytes (above the
 * MTU) behind one set of headers, the TCP checksum left partial (0 here), and the offload
 * state the kernel reports with it (Ethernet 14 + IPv6 40: TCP at 54).
 */
export function tcpv6GsoFrame(
  payload: number,
  o: { src?: string; dst?: string } = {},
): { frame: Buffer; gsoSize: number; csumStart: number; csumOffset: number } {
  const tcpHdr = [0x13, 0x89, 0x14, 0x51, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff];
  const l4 = [...tcpHdr, 0, 0, 0, 0, ...Array.from({ length: payload }, (_, i) => i & 0xff)];
  const v6 = [0x60, 0, 0, 0, l4.length >> 8, l4.length & 0xff, 6, 64];
  const frame = eth(
    { type: 0x86dd, src: o.src ?? "02:00:00:00:00:01", dst: o.dst ?? "02:00:00:00:00:02" },
    [...v6, ...ipv6Addr(1), ...ipv6Addr(2), ...l4],
  );
  return { frame, gsoSize: 1428, csumStart: 54, csumOffset: 16 };
}

/**
 * An IPv6 header (traffic class `tc`, next header `nh`, payload length `plen`, else the
 * payload's) from fd00::1 to fd00::2 and its payload. With `csumAt` (the offset of a TCP/UDP
 * checksum in `payload`, right after the extension headers) that checksum is computed over the
 * IPv6 pseudo-header, protocol `l4Proto` (default `nh`).
 */
export function ipv6(
  o: { tc?: number; nh: number; plen?: number; csumAt?: number; l4Proto?: number; l4At?: number },
  payload: number[],
): number[] {
  const tc = o.tc ?? 0;
  const p = [...payload];
  if (o.csumAt !== undefined) {
    const l4 = p.slice(o.l4At ?? 0);
    const at = o.csumAt - (o.l4At ?? 0);
    l4[at] = 0;
    l4[at + 1] = 0;
    const pseudo = [...ipv6Addr(1), ...ipv6Addr(2), ...be32(l4.length), 0, 0, 0, o.l4Proto ?? o.nh];
    const c = fullChecksum([...pseudo, ...l4]);
    p[o.csumAt] = c >>> 8;
    p[o.csumAt + 1] = c & 0xff;
  }
  const len = o.plen ?? p.length;
  return [
    ...[0x60 | (tc >>> 4), (tc & 0x0f) << 4, 0, 0, len >> 8, len & 0xff, o.nh, 64],
    ...ipv6Addr(1),
    ...ipv6Addr(2),
    ...p,
  ];
}

/** An SCTP packet: common header (ports, verification tag 1) and one 8-byte chunk, with its
 * CRC-32C (`crc32c`, pass the project's) stored little-endian as SCTP does. */
export function sctp(
  sport: number,
  dport: number,
  crc32c: (b: Uint8Array, s: number, e: number) => number,
): number[] {
  const p = Buffer.from([...be16(sport), ...be16(dport), 0, 0, 0, 1, 0, 0, 0, 0]);
  const all = Buffer.concat([p, Buffer.from([0, 0, 0, 8, 1, 2, 3, 4])]);
  all.writeUInt32LE(crc32c(all, 0, all.length), 8);
  return [...all];
}
