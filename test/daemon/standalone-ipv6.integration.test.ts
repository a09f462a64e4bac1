// Standalone mode (no controller: misses forwarded by MAC learning) on veths with default
// offloads carries IPv6 TCP as it carries IPv4: the hosts' TSO hands the switch 64 KB GSO
// frames, which must go out whole with their offload state, not be dropped as oversize.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labPrefix } from "../support/netns.js";
import { afpacketMissing, programsMissing, skipWithout } from "../support/prereq.js";
import { startSwitchLab, type SwitchLab } from "../support/switch-lab.js";

const skip = skipWithout(import.meta.url, afpacketMissing() ?? programsMissing("iperf3"));

describe.skipIf(skip)("standalone mode with IPv6 TCP and default offloads", () => {
  let lab: SwitchLab;
  const v6 = (i: number) => `fd00:${lab.topo.prefix.length}::${i + 1}`;

  beforeAll(async () => {
    lab = await startSwitchLab(labPrefix("s6"), {
      listen: false,
      args: ["--fail-mode", "standalone"],
    });
    await lab.daemon.waitFor(/forwarding misses by MAC learning/, 5000);
    for (const [i, h] of lab.topo.hosts.entries()) {
      const r = await lab.topo.runIn(
        i,
        `sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.${h.hostIf}.disable_ipv6=0 && ` +
          `ip -6 addr add ${v6(i)}/64 dev ${h.hostIf} nodad`,
      );
      expect(r.code, r.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("pings and runs iperf3 over IPv6 at the speed of IPv4", async () => {
    const ping = await lab.topo.runIn(0, `ping -6 -c 3 -i 0.2 -W 2 ${v6(1)}`, 10_000);
    expect(ping.stdout).toContain("3 received");
    const speed = async (family: string, dst: string) => {
      const r = await lab.topo.runIn(
        0,
        `iperf3 ${family} -c ${dst} -t 3 -J --connect-timeout 3000`,
        20_000,
      );
      const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second: number } } };
      return j.end?.sum_received?.bits_per_second ?? 0;
    };
    const ipv6 = await speed("-6", v6(1));
    const ipv4 = await speed("-4", lab.topo.hosts[1].ip);
    console.log(
      `standalone: IPv6 ${(ipv6 / 1e9).toFixed(2)} Gbit/s, IPv4 ${(ipv4 / 1e9).toFixed(2)}`,
    );
    // Before: the miss path dropped every GSO frame as oversize, and IPv6 ran at 0.00 Gbit/s.
    expect(ipv6).toBeGreaterThan(1e9);
    expect(ipv6).toBeGreaterThan(ipv4 / 4);
  });
});
