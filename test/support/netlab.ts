// Hosts in network namespaces on veths, for integration tests and port benchmarks. Every name
// carries the lab's prefix (unique per process), every command is bounded by a timeout, and
// teardown() removes whatever was created even after a half-finished setup.
import { execFileSync } from "node:child_process";

export interface LabHost {
  /** Network namespace of the host. */
  ns: string;
  /** Veth end inside the namespace (the host's NIC). */
  hostIf: string;
  /** Veth end in the caller's namespace (where a switch port opens it). */
  switchIf: string;
  ip: string;
  mac: string;
}

const TIMEOUT_MS = 10_000;

export function run(cmd: string, args: string[], timeout = TIMEOUT_MS): string {
  return execFileSync(cmd, args, { encoding: "utf8", timeout, stdio: ["ignore", "pipe", "pipe"] });
}

/** True when this process may create namespaces and veths (root with iproute2). */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    run("ip", ["netns", "list"]);
    return true;
  } catch {
    return false;
  }
}

/** A short prefix unique to this process: interface names are limited to 15 bytes. */
export function labPrefix(tag: string): string {
  return `${tag}${process.pid % 100000}`;
}

export class NetLab {
  readonly hosts: LabHost[] = [];
  private readonly links: string[] = [];
  private readonly namespaces: string[] = [];

  constructor(readonly prefix: string) {}

  /** Host `index` in namespace PREFIXhN with address 10.R.0.N/24 on veth PREFIXNh, peer PREFIXNs. */
  addHost(index: number, subnet = 77): LabHost {
    const ns = `${this.prefix}h${index}`;
    const switchIf = `${this.prefix}${index}s`;
    const hostIf = `${this.prefix}${index}h`;
    const mac = `02:77:00:00:${subnet.toString(16).padStart(2, "0")}:${index.toString(16).padStart(2, "0")}`;
    const ip = `10.${subnet}.0.${index}`;
    run("ip", ["netns", "add", ns]);
    this.namespaces.push(ns);
    run("ip", ["link", "add", switchIf, "type", "veth", "peer", "name", hostIf]);
    this.links.push(switchIf);
    run("ip", ["link", "set", hostIf, "address", mac, "netns", ns]);
    run("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", hostIf]);
    run("ip", ["-n", ns, "link", "set", hostIf, "up"]);
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    // No IPv6 on the switch side: router solicitations would add stray frames to tests.
    run("sysctl", ["-qw", `net.ipv6.conf.${switchIf}.disable_ipv6=1`]);
    run("ip", ["link", "set", switchIf, "up"]);
    const host = { ns, hostIf, switchIf, ip, mac };
    this.hosts.push(host);
    return host;
  }

  /** A bare veth pair in the caller's namespace (both ends up, no IPv6). */
  addVethPair(suffix: string): [string, string] {
    const a = `${this.prefix}${suffix}a`;
    const b = `${this.prefix}${suffix}b`;
    run("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
    this.links.push(a);
    for (const dev of [a, b]) {
      run("sysctl", ["-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
      run("ip", ["link", "set", dev, "up"]);
    }
    return [a, b];
  }

  /** ethtool -K on both ends of every host's veth: no checksum offload, TSO, GSO or GRO. */
  offloadsOff(): void {
    const off = ["tx", "off", "tso", "off", "gso", "off", "gro", "off", "rx", "off"];
    for (const h of this.hosts) {
      run("ip", ["netns", "exec", h.ns, "ethtool", "-K", h.hostIf, ...off]);
      run("ethtool", ["-K", h.switchIf, ...off]);
    }
  }

  /** Runs a command inside a host's namespace and returns its stdout. */
  exec(host: LabHost, cmd: string, args: string[], timeout = TIMEOUT_MS): string {
    return run("ip", ["netns", "exec", host.ns, cmd, ...args], timeout);
  }

  /** Static ARP entries between all hosts, so no test or bench depends on ARP timing. */
  staticArp(): void {
    for (const a of this.hosts)
      for (const b of this.hosts)
        if (a !== b)
          run("ip", ["-n", a.ns, "neigh", "replace", b.ip, "lladdr", b.mac, "dev", a.hostIf]);
  }

  teardown(): void {
    for (const l of this.links.splice(0)) tryRun("ip", ["link", "del", l]);
    for (const ns of this.namespaces.splice(0)) tryRun("ip", ["netns", "del", ns]);
    this.hosts.length = 0;
  }
}

function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    // already gone
  }
}
