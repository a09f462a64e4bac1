// A port's name taken by an interface that is not Ethernet: a tun (link type 65534, no
// address) created where a switch port's veth was deleted, then a veth again; and a tun given
// as the first port at start. The switch must keep running: the tun is a down port with an
// all-zero address (PORT_STATUS ADD, one warning), the veth that replaces it forwards again
// under the same port number, and the datapath id comes from a port that has an address.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, ofctl, startDaemon } from "../support/daemon.js";
import { labPrefix, runSync, Topology } from "../support/netns.js";
import { OfctlMonitor, startWatchedLab } from "../support/ofctl-monitor.js";
import { afpacketMissing, capMissing, programsMissing, skipWithout } from "../support/prereq.js";
import { logLines, msUntilPing, shownPorts, type SwitchLab } from "../support/switch-lab.js";
import { waitFor } from "../support/wait.js";

const skip = skipWithout(
  import.meta.url,
  afpacketMissing() ?? programsMissing("ovs-ofctl", "ping"),
);
const skipPcap = skip || skipWithout(import.meta.url, capMissing());
const sh = (cmd: string) => runSync("sh", ["-c", cmd]);
const ZERO = "00:00:00:00:00:00";

for (const backend of ["afpacket", "pcap"] as const) {
  describe.skipIf(backend === "pcap" ? skipPcap : skip)(
    `a tun under a port's name (${backend})`,
    () => {
      let lab: SwitchLab;
      let monitor: OfctlMonitor;

      beforeAll(async () => {
        ({ lab, monitor } = await startWatchedLab(labPrefix(`pk${backend[0]}`), backend));
        lab.topo.staticArp();
      });

      afterAll(async () => {
        await monitor?.stop();
        await lab?.stop();
      });

      it("a tun is a down port with no address; the veth after it forwards as port 2 again", async () => {
        const s2 = lab.topo.hosts[1].switchIf;
        const from = monitor.statuses().length;
        const logFrom = lab.daemon.output.length;
        const mine = () => monitor.statuses().slice(from);
        lab.topo.unplug(1);
        sh(`ip tuntap add ${s2} mode tun && ip link set ${s2} up`);
        await waitFor(() => mine().some((s) => s.reason === "ADD"), "ADD of the tun", 3000);
        expect(lab.daemon.running).toBe(true);
        expect(mine()[0]).toMatchObject({ reason: "DEL", portNo: 2 });
        const added = mine().find((s) => s.reason === "ADD");
        expect(added).toMatchObject({ portNo: 2, name: s2, mac: ZERO, state: "LINK_DOWN" });
        expect(shownPorts(lab.target).get(s2)).toBe(2);
        const warned = logLines(lab.daemon, logFrom).filter((l) => l.level === 40 && l.port === s2);
        expect(warned).toHaveLength(1);
        expect(String(warned[0].error)).toMatch(/^EPROTONOSUPPORT: .*not Ethernet/);

        const tunAt = monitor.statuses().length;
        sh(`ip link del ${s2}`);
        lab.topo.replug(1);
        expect(
          await msUntilPing(lab.topo),
          "ping through the veth that replaced the tun",
        ).toBeLessThan(2000);
        expect(shownPorts(lab.target).get(s2)).toBe(2);
        await waitFor(
          () =>
            monitor
              .statuses()
              .slice(tunAt)
              .some((s) => s.reason === "ADD"),
          "ADD of the veth",
          3000,
        );
        const back = monitor.statuses().slice(tunAt);
        expect(back[0]).toMatchObject({ reason: "DEL", portNo: 2, mac: ZERO });
        expect(back.find((s) => s.reason === "ADD")?.mac).not.toBe(ZERO);
      });
    },
  );
}

describe.skipIf(skip)("a tun given as the first port", () => {
  let topo: Topology | undefined;
  afterAll(() => topo?.teardown());

  it("starts, shows the tun as a down port, and takes the datapath id from the veth", async () => {
    topo = new Topology(labPrefix("pkt"));
    const [veth] = topo.addVethPair("v");
    const tun = `${topo.prefix}-tun`;
    sh(`ip tuntap add ${tun} mode tun && ip link set ${tun} up`);
    try {
      const port = await freePort();
      const d = await startDaemon(["-i", tun, "-i", veth, "-l", `ptcp:${port}`]);
      try {
        const target = `tcp:127.0.0.1:${port}`;
        const out = ofctl(target, "show");
        expect(out).toMatch(new RegExp(`1\\(${tun}\\): addr:${ZERO}`));
        expect(out).toMatch(/state:\s+LINK_DOWN/);
        const mac = sh(`cat /sys/class/net/${veth}/address`).trim().replace(/:/g, "");
        expect(out).toContain(`dpid:0000${mac}`);
        expect(d.running).toBe(true);
      } finally {
        await d.stop();
      }
    } finally {
      sh(`ip link del ${tun} 2>/dev/null || true`);
    }
  });
});
