// Two hosts on veths whose switch-side ends sit in a switch namespace of the harness's own, so
// every peer (ofswitch, Linux bridge, Open vSwitch) runs in the same kind of place.
import { readFile } from "node:fs/promises";
import { inNs, run, type Teardown } from "./proc.js";

export interface Host {
  ns: string;
  /** Host-side veth end, inside `ns`. */
  ifname: string;
  ip: string;
  mac: string;
}

export interface Topology {
  prefix: string;
  switchNs: string;
  hosts: [Host, Host];
  /** Switch-side veth ends, inside `switchNs`, in port order (port 1 faces host 1). */
  switchIfs: [string, string];
  /**
   * An address on the hosts' subnet that nobody owns; host 1 resolves it statically to host 2's
   * MAC, so traffic sent to it crosses the switch and is then dropped silently by host 2 (no
   * ICMP replies, no reverse flows). Also the gateway for `fakeNet`.
   */
  sinkIp: string;
  /** Routed via `sinkIp` from host 1: distinct destinations for flow-setup traffic. */
  fakeNet: string;
}

const SUBNET = "10.0.0";
export const FAKE_NET_BASE = [10, 64, 0, 0] as const;

const run5 = (argv: string[]) => run(argv, { timeoutMs: 5000 });

/** Creates namespaces and veths named after `prefix` (at most 8 characters) and registers teardown. */
export async function createTopology(prefix: string, teardown: Teardown): Promise<Topology> {
  if (prefix.length > 8) throw new Error(`prefix ${prefix} too long for interface names`);
  const switchNs = `${prefix}-sw`;
  const hosts: [Host, Host] = [1, 2].map((i) => ({
    ns: `${prefix}-h${i}`,
    ifname: `${prefix}-h${i}`,
    ip: `${SUBNET}.${i}`,
    mac: `02:e2:e0:00:00:0${i}`,
  })) as [Host, Host];
  const switchIfs: [string, string] = [`${prefix}-s1`, `${prefix}-s2`];
  const topo: Topology = {
    prefix,
    switchNs,
    hosts,
    switchIfs,
    sinkIp: `${SUBNET}.99`,
    fakeNet: `${FAKE_NET_BASE.join(".")}/10`,
  };

  for (const ns of [switchNs, hosts[0].ns, hosts[1].ns]) {
    await run5(["ip", "netns", "add", ns]);
    teardown.add(`delete namespace ${ns}`, () => run5(["ip", "netns", "del", ns]).then(() => {}));
    // No IPv6: its router and neighbour solicitations would be stray packets in every count.
    await run5(
      inNs(ns, [
        "sysctl",
        "-qw",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
      ]),
    );
    await run5(["ip", "-n", ns, "link", "set", "lo", "up"]);
  }
  for (const [i, host] of hosts.entries()) {
    const sw = switchIfs[i];
    // Created in the switch namespace so that nothing is left in the root namespace on a crash.
    await run5([
      "ip",
      "-n",
      switchNs,
      "link",
      "add",
      sw,
      "type",
      "veth",
      "peer",
      "name",
      host.ifname,
      "netns",
      host.ns,
      "address",
      host.mac,
    ]);
    await run5(["ip", "-n", host.ns, "addr", "add", `${host.ip}/24`, "dev", host.ifname]);
    await run5(["ip", "-n", host.ns, "link", "set", host.ifname, "up"]);
    await run5(["ip", "-n", switchNs, "link", "set", sw, "up"]);
  }
  await run5([
    "ip",
    "-n",
    hosts[0].ns,
    "neigh",
    "replace",
    topo.sinkIp,
    "lladdr",
    hosts[1].mac,
    "dev",
    hosts[0].ifname,
    "nud",
    "permanent",
  ]);
  await run5(["ip", "-n", hosts[0].ns, "route", "add", topo.fakeNet, "via", topo.sinkIp]);
  return topo;
}

const OFFLOADS = ["tx", "tso", "gso", "gro", "rx"];

/** Turns checksum/segmentation offloads off (or back on) on all four veth ends. */
export async function setOffloads(topo: Topology, on: boolean): Promise<void> {
  const state = on ? "on" : "off";
  const args = OFFLOADS.flatMap((f) => [f, state]);
  const ends: [string, string][] = [
    [topo.hosts[0].ns, topo.hosts[0].ifname],
    [topo.hosts[1].ns, topo.hosts[1].ifname],
    [topo.switchNs, topo.switchIfs[0]],
    [topo.switchNs, topo.switchIfs[1]],
  ];
  for (const [ns, ifname] of ends) {
    // ethtool exits non-zero when one feature is fixed; the others are still applied.
    await run(inNs(ns, ["ethtool", "-K", ifname, ...args]), { timeoutMs: 5000, allowFail: true });
  }
}

/** An interface counter read inside `ns` (sysfs is remounted per namespace by `ip netns exec`). */
export async function readCounter(ns: string, ifname: string, counter: string): Promise<number> {
  const r = await run5(inNs(ns, ["cat", `/sys/class/net/${ifname}/statistics/${counter}`]));
  return Number(r.stdout.trim());
}

/** utime+stime in seconds of a process (all its threads). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux for every mainstream architecture

/** Peak resident set (VmHWM) of a process in MiB. */
export async function peakRssMiB(pid: number): Promise<number> {
  return (await statusKiB(pid, "VmHWM")) / 1024;
}

/** Resident set now (VmRSS) of a process in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  return (await statusKiB(pid, "VmRSS")) * 1024;
}

async function statusKiB(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}
