// A flows file for `ovs-ofctl add-flows`: many exact-match and wildcard entries, none of which
// matches the harness's test traffic (hosts 10.0.0.0/24, MACs 02:e2:e0:..., untagged), so they
// only load the switch's tables and lookups.
import { writeFileSync } from "node:fs";

export interface PreloadSize {
  exact: number;
  wildcard: number;
}

export const DEFAULT_PRELOAD: PreloadSize = { exact: 100_000, wildcard: 1_000 };

const hex2 = (n: number) => (n & 0xff).toString(16).padStart(2, "0");
const mac = (first: number, n: number) =>
  [2, first, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].map(hex2).join(":");
const ipv4 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join(".");

// 172.16.0.0/12: never the test subnet.
const NET_172_16 = (172 << 24) | (16 << 16);
const inNet172 = (n: number) => (NET_172_16 | (n & 0xfffff)) >>> 0;

/**
 * Entry i of the exact-match set: all twelve OF1.0 fields given (dl_vlan=0xffff is "untagged"
 * and leaves nothing wildcarded), distinct for every i < 2^20.
 */
export function exactFlow(i: number): string {
  const proto = i & 1 ? 17 : 6;
  return (
    `in_port=${1 + ((i >>> 1) & 1)},dl_vlan=0xffff,dl_src=${mac(0xee, i)},dl_dst=${mac(0xef, i)},` +
    `dl_type=0x0800,nw_src=${ipv4(inNet172(i))},nw_dst=${ipv4(inNet172(i * 7 + 3))},nw_proto=${proto},` +
    `nw_tos=0,tp_src=${1024 + (i % 50_000)},tp_dst=${80 + (i % 13)},actions=drop`
  );
}

/**
 * Entry j of the wildcard set. Eight shapes and 21 IPv4 prefix lengths give a few dozen distinct
 * masks (tuple-space subtables), with priorities spread over 100..60099.
 */
export function wildcardFlow(j: number): string {
  const priority = 100 + ((j * 7919) % 60_000);
  const addr = inNet172(j * 2654435761);
  let match: string;
  switch (j % 8) {
    case 0: {
      const prefix = 12 + (j % 21);
      const masked = prefix === 32 ? addr : (addr & ~(0xffffffff >>> prefix)) >>> 0;
      match = `ip,nw_proto=${(j >>> 3) & 0xff},nw_src=${ipv4(masked)}/${prefix}`;
      break;
    }
    case 1:
      match = `udp,nw_dst=${ipv4(addr & 0xffffff00)}/24`;
      break;
    case 2:
      match = `tcp,nw_src=${ipv4(addr)},tp_dst=${1 + j}`;
      break;
    case 3:
      match = `udp,nw_dst=${ipv4(addr & 0xffff0000)}/16,tp_src=${1 + j}`;
      break;
    case 4:
      match = `dl_src=${mac(0xec, j)}`;
      break;
    case 5:
      match = `in_port=${1 + (j & 1)},dl_vlan=${1 + (j % 4094)}`;
      break;
    case 6:
      match = `arp,nw_src=${ipv4(addr)}`;
      break;
    default:
      match = `ip,dl_dst=${mac(0xed, j)},nw_tos=${(j % 64) * 4}`;
  }
  return `priority=${priority},${match},actions=drop`;
}

/** The whole flows file as text, one entry per line. */
export function flowsFileText(size: PreloadSize): string {
  const lines: string[] = [];
  for (let i = 0; i < size.exact; i++) lines.push(exactFlow(i));
  for (let j = 0; j < size.wildcard; j++) lines.push(wildcardFlow(j));
  return lines.join("\n") + "\n";
}

export function writeFlowsFile(path: string, size: PreloadSize): number {
  writeFileSync(path, flowsFileText(size));
  return size.exact + size.wildcard;
}
