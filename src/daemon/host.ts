// What the daemon checks and changes on the host: that the interfaces exist, that it may
// capture (root or CAP_NET_RAW), and IPv6 on the switch's interfaces. A switch port must not
// be a host interface of its own: with IPv6 on, the kernel would send router and neighbour
// solicitations and MLD reports out of the port. IPv6 is disabled while the switch runs
// (net.ipv6.conf.IF.disable_ipv6=1) and the previous value restored on exit.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const CAP_NET_RAW = 13;

export function interfaceExists(name: string, sysfs = "/sys/class/net"): boolean {
  return existsSync(`${sysfs}/${name}`);
}

/** True when this process may open packet sockets (root, or CAP_NET_RAW in effect). */
export function canCapture(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    return eff !== null && (BigInt(`0x${eff[1]}`) & (1n << BigInt(CAP_NET_RAW))) !== 0n;
  } catch {
    return false;
  }
}

export const PRIVILEGE_HINT =
  "capturing packets needs root or CAP_NET_RAW: run ofswitch with sudo, or grant the capability " +
  "with: sudo setcap cap_net_raw,cap_net_admin+ep $(readlink -f $(which node))";

/** Disables IPv6 on the interfaces; returns what restores the previous settings. */
export function disableIpv6(names: string[], procRoot = "/proc/sys/net/ipv6/conf"): () => void {
  const restore: [string, string][] = [];
  for (const name of names) {
    const path = `${procRoot}/${name}/disable_ipv6`;
    try {
      const before = readFileSync(path, "utf8").trim();
      if (before !== "1") {
        writeFileSync(path, "1\n");
        restore.push([path, before]);
      }
    } catch {
      // no IPv6 on this host or interface: nothing to disable
    }
  }
  return () => {
    for (const [path, value] of restore.splice(0)) {
      try {
        writeFileSync(path, `${value}\n`);
      } catch {
        // the interface is gone; nothing to restore
      }
    }
  };
}
