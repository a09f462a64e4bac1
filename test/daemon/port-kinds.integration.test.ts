// A port's name taken by an interface that is not Ethernet: a tun (link type 65534, no
// address) created where a switch port's veth was deleted, then a veth again; and a tun given
// as the first port at start. The switch must keep running: the tun is a down port with an
// all-zero address (PORT_STATUS ADD, one warning), the veth that replaces it forwards again
// under the same port number, and the datapath id comes from a port that has an address. Also
// what a port's own interface goes through besides deletion: a new MAC address, a rename away
// and back, a move to another network namespace and back.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, ofctl, startDaemon } from "../support/daemon.js";
import { labPrefix, runSync, Topology } from "../support/netns.js";
import { OfctlMonitor, startWatchedLab, type SeenPortStatus } from "../support/ofctl-monitor.js";
import { afpacketMissing, capMissing, programsMissing, skipWithout } from "../support/prereq.js";
import { logLines, msUntilPing, shownPorts, type SwitchLab } from "../support/switch-lab.js";
import { sleep, waitFor } from "../support/wait.js";

const skip = skipWithout(
  import.meta.url,
  afpacketMissing() ?? programsMissing("ovs-ofctl", "ping"),
);
const skipPcap = skip || skipWithout(import.meta.url, capMissing());
const sh = (cmd: string) => runSync("sh", ["-c", cmd]);
const ZERO = "00:00:00:00:00:00";
const added = (seen: SeenPortStatus[]) => seen.some((x) => x.reason === "ADD");

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

      /**
       * Does `event`, waits until the PORT_STATUS about port 2 are `done`, then checks ping through the
       * switch (within 2 s), the port numbers and that the daemon lives; returns the statuses
       * and port 2's info log lines.
       */
      async function around(event: () => void, done: (seen: SeenPortStatus[]) => boolean) {
        const s2 = lab.topo.hosts[1].switchIf;
        const from = monitor.statuses().length;
        const logFrom = lab.daemon.output.length;
        const mine = () =>
          monitor
            .statuses()
            .slice(from)
            .filter((x) => x.portNo === 2);
        event();
        await waitFor(() => done(mine()), "the PORT_STATUS for port 2", 3000);
        expect(await msUntilPing(lab.topo), "ping after the event (ms)").toBeLessThan(2000);
        expect(shownPorts(lab.target).get(s2)).toBe(2);
        expect(lab.daemon.running).toBe(true);
        await sleep(400); // a last poll reports anything pending
        const logs = logLines(lab.daemon, logFrom).filter((l) => l.level === 30 && l.port === s2);
        return { statuses: mine(), msgs: logs.map((l) => l.msg) };
      }

      it("a new MAC address on the port's interface: MODIFY with it, as Open vSwitch", async () => {
        const s2 = lab.topo.hosts[1].switchIf;
        const mac = "02:5e:00:00:00:42";
        const { statuses, msgs } = await around(
          () => sh(`ip link set ${s2} address ${mac}`),
          (seen) => seen.length > 0,
        );
        expect(statuses).toEqual([expect.objectContaining({ reason: "MOD", mac, state: "0" })]);
        expect(msgs).toEqual(["MAC address changed"]);
      });

      it("renamed away and back: DELETE, then ADD with the same MAC", async () => {
        const s2 = lab.topo.hosts[1].switchIf;
        const away = `${lab.topo.prefix}-away`;
        const mac = sh(`cat /sys/class/net/${s2}/address`).trim();
        const { statuses, msgs } = await around(() => {
          sh(`ip link set ${s2} down && ip link set ${s2} name ${away}`);
          runSync("sleep", ["0.5"]);
          sh(`ip link set ${away} name ${s2} && ip link set ${s2} up`);
        }, added);
        // Set down first (a kernel may refuse to rename an interface that is up): a poll may
        // see that before the rename, hence a MODIFY to down before the DELETE.
        const reasons = statuses.map((x) => x.reason).join(" ");
        expect(reasons).toMatch(/^(MOD )?DEL ADD( MOD)?$/);
        const del = statuses.findIndex((x) => x.reason === "DEL");
        expect(statuses[del]).toMatchObject({ mac });
        expect(statuses[del + 1]).toMatchObject({ reason: "ADD", mac });
        expect(statuses.at(-1)).toMatchObject({ config: "0", state: "0" });
        expect(msgs.filter((m) => m.startsWith("interface deleted"))).toHaveLength(1);
        expect(msgs.filter((m) => m === "interface created")).toHaveLength(1);
      });

      it("moved to another netns and back: DELETE, ADD (down), MODIFY up; IPv6 off again", async () => {
        const s2 = lab.topo.hosts[1].switchIf;
        const ns = lab.topo.hosts[0].ns;
        const { statuses, msgs } = await around(() => {
          sh(`ip link set ${s2} netns ${ns}`);
          runSync("sleep", ["0.5"]);
          sh(`ip -n ${ns} link set ${s2} netns 1 && ip link set ${s2} up`);
        }, added);
        expect(statuses[0]).toMatchObject({ reason: "DEL" });
        expect(statuses[1]).toMatchObject({ reason: "ADD" });
        expect(statuses.at(-1)).toMatchObject({ config: "0", state: "0" });
        expect(msgs.filter((m) => m.startsWith("interface deleted"))).toHaveLength(1);
        expect(readFileSync(`/proc/sys/net/ipv6/conf/${s2}/disable_ipv6`, "utf8").trim()).toBe("1");
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
        const warnings = () =>
          logLines(lab.daemon, logFrom).filter((l) => l.level === 40 && l.port === s2);
        // The log is written asynchronously: it may reach us after the PORT_STATUS.
        await waitFor(() => warnings().length > 0, "the warning about the tun", 2000);
        await sleep(400); // a second one would come with the next poll
        const warned = warnings();
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
