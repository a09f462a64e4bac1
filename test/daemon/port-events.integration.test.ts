// What operators and the kernel do to a switch's interfaces, done to the running daemon on
// veths with default offloads, with each backend: admin down/up, carrier loss, deletion and
// re-creation under the same name (at once, and seconds later), MTU changes both ways (jumbo
// frames larger than a ring slot), and a socket error from the kernel (a down/up faster than a
// link poll), and PORT_MOD's PORT_DOWN, which sets the interface itself down and up as Open
// vSwitch does. After each: ping through the switch within 2 s, then an iperf3 TCP run; the
// OpenFlow port numbers unchanged; the PORT_STATUS messages a real `ovs-ofctl monitor` got;
// and one info log line per transition.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ofctl } from "../support/daemon.js";
import type { LogLine } from "../support/log-sink.js";
import { labPrefix, runSync } from "../support/netns.js";
import { OfctlMonitor, startWatchedLab, type SeenPortStatus } from "../support/ofctl-monitor.js";
import { afpacketMissing, capMissing, programsMissing, skipWithout } from "../support/prereq.js";
import { iperf, logLines, msUntilPing, shownPorts, type SwitchLab } from "../support/switch-lab.js";
import { sleep, waitFor } from "../support/wait.js";

const skip = skipWithout(
  import.meta.url,
  afpacketMissing() ?? programsMissing("ovs-ofctl", "iperf3", "ping"),
);
const skipPcap = skip || skipWithout(import.meta.url, capMissing());

/** How long forwarding may take to come back after the interface is usable again. */
const RESUME_MS = 2000;

type Expected = Pick<SeenPortStatus, "reason"> & Partial<SeenPortStatus>;

for (const backend of ["afpacket", "pcap"] as const) {
  describe.skipIf(backend === "pcap" ? skipPcap : skip)(
    `interface events with the ${backend} backend`,
    () => {
      let lab: SwitchLab;
      let monitor: OfctlMonitor;
      let s1 = "";
      let s2 = "";
      const sh = (cmd: string) => runSync("sh", ["-c", cmd]);

      beforeAll(async () => {
        ({ lab, monitor } = await startWatchedLab(labPrefix(`pe${backend[0]}`), backend));
        [s1, s2] = lab.topo.hosts.map((h) => h.switchIf);
      });

      afterAll(async () => {
        await monitor?.stop();
        await lab?.stop();
      });

      /**
       * Does `event` (which ends when the interface is usable again) and checks what must hold
       * after any event; returns what the monitor and the log got meanwhile.
       */
      async function afterEvent(
        event: () => Promise<void> | void,
        opts: { pingSize?: number } = {},
      ): Promise<{ statuses: SeenPortStatus[]; logs: LogLine[] }> {
        const seen = monitor.statuses().length;
        const logFrom = lab.daemon.output.length;
        await event();
        const ms = await msUntilPing(lab.topo, 5000, opts.pingSize);
        expect(ms, "ping through the switch after the event (ms)").toBeLessThan(RESUME_MS);
        const run = await iperf(lab.topo, 2);
        expect(run.error).toBeUndefined();
        expect(run.bytes, "iperf3 bytes after the event").toBeGreaterThan(5e6);
        console.log(
          `${backend}: ping back after ${ms.toFixed(0)} ms, iperf3 ${(run.bps / 1e9).toFixed(2)} Gbit/s`,
        );
        expect(shownPorts(lab.target)).toEqual(
          new Map([
            [s1, 1],
            [s2, 2],
          ]),
        );
        expect(lab.daemon.running).toBe(true);
        // Let a last poll (300 ms) report anything pending before the next event starts.
        await sleep(400);
        return {
          statuses: monitor.statuses().slice(seen),
          logs: logLines(lab.daemon, logFrom).filter((l) => l.level === 30 && l.port !== undefined),
        };
      }

      /** Waits (bounded) until port `portNo` got `n` PORT_STATUS since `from`. */
      async function statusesFor(portNo: number, from: number, n: number) {
        const mine = () =>
          monitor
            .statuses()
            .slice(from)
            .filter((s) => s.portNo === portNo);
        await waitFor(() => mine().length >= n, `${n} PORT_STATUS for port ${portNo}`, 3000);
        return mine();
      }

      const msgs = (logs: LogLine[], port: string) =>
        logs.filter((l) => l.port === port).map((l) => l.msg);

      function expectSequence(got: SeenPortStatus[], want: Expected[]) {
        expect(got.length, JSON.stringify(got)).toBe(want.length);
        want.forEach((w, i) => expect(got[i]).toMatchObject(w));
      }

      it("admin down and up: MODIFY down, MODIFY up", async () => {
        const { statuses, logs } = await afterEvent(async () => {
          const from = monitor.statuses().length;
          sh(`ip link set ${s2} down`);
          await statusesFor(2, from, 1);
          await sleep(700);
          sh(`ip link set ${s2} up`);
        });
        expectSequence(statuses, [
          { reason: "MOD", portNo: 2, config: "PORT_DOWN", state: "LINK_DOWN" },
          { reason: "MOD", portNo: 2, config: "0", state: "0" },
        ]);
        expect(msgs(logs, s2)).toEqual([
          "link down (administratively)",
          "link up (administratively)",
        ]);
      });

      it("carrier loss (the peer goes down) and back: MODIFY LINK_DOWN, MODIFY up", async () => {
        const h2 = lab.topo.hosts[1];
        const { statuses, logs } = await afterEvent(async () => {
          const from = monitor.statuses().length;
          sh(`ip -n ${h2.ns} link set ${h2.hostIf} down`);
          await statusesFor(2, from, 1);
          await sleep(700);
          sh(`ip -n ${h2.ns} link set ${h2.hostIf} up`);
        });
        expectSequence(statuses, [
          { reason: "MOD", portNo: 2, config: "0", state: "LINK_DOWN" },
          { reason: "MOD", portNo: 2, config: "0", state: "0" },
        ]);
        expect(msgs(logs, s2)).toEqual(["carrier lost", "carrier back"]);
      });

      /** DELETE with the old MAC, ADD with the new one, then at most a MODIFY to up. */
      function expectRecreated(statuses: SeenPortStatus[], oldMac: string) {
        expect(statuses.length, JSON.stringify(statuses)).toBeGreaterThanOrEqual(2);
        expect(statuses[0]).toMatchObject({ reason: "DEL", portNo: 2, name: s2, mac: oldMac });
        expect(statuses[1]).toMatchObject({ reason: "ADD", portNo: 2, name: s2 });
        expect(statuses[1].mac).not.toBe(oldMac);
        // Created down and set up a moment later: one MODIFY may follow the ADD.
        expect(statuses.slice(2).every((s) => s.reason === "MOD" && s.portNo === 2)).toBe(true);
        expect(statuses.length).toBeLessThanOrEqual(3);
        expect(statuses.at(-1)).toMatchObject({ config: "0", state: "0", mac: statuses[1].mac });
      }

      function expectRecreateLogs(logs: LogLine[]) {
        const m = msgs(logs, s2);
        expect(m.filter((x) => x.startsWith("interface deleted"))).toHaveLength(1);
        expect(m.filter((x) => x === "interface created")).toHaveLength(1);
        expect(m.length).toBeLessThanOrEqual(3);
        // The switch end is not a host interface: IPv6 is off again on the new interface.
        expect(readFileSync(`/proc/sys/net/ipv6/conf/${s2}/disable_ipv6`, "utf8").trim()).toBe("1");
      }

      it("ip link del and an immediate re-create: DELETE, then ADD with the new MAC", async () => {
        const oldMac = shownMac(2);
        const { statuses, logs } = await afterEvent(() => {
          lab.topo.unplug(1);
          lab.topo.replug(1);
        });
        expectRecreated(statuses, oldMac);
        expectRecreateLogs(logs);
      });

      it("ip link del and a re-create seconds later: DELETE, gone meanwhile, then ADD", async () => {
        const oldMac = shownMac(2);
        const { statuses, logs } = await afterEvent(async () => {
          const from = monitor.statuses().length;
          lab.topo.unplug(1);
          await statusesFor(2, from, 1);
          expect(shownPorts(lab.target).has(s2)).toBe(false);
          await sleep(2500);
          lab.topo.replug(1);
        });
        expectRecreated(statuses, oldMac);
        expectRecreateLogs(logs);
      });

      function setMtu(mtu: number) {
        for (const h of lab.topo.hosts) {
          sh(`ip link set ${h.switchIf} mtu ${mtu}`);
          sh(`ip -n ${h.ns} link set ${h.hostIf} mtu ${mtu}`);
        }
      }

      for (const [mtu, ping] of [
        [9000, 8972],
        [1400, 1372],
      ]) {
        it(`MTU ${mtu} on every veth: MODIFY per port, ${ping}-byte pings (DF) and TCP pass`, async () => {
          try {
            const { statuses, logs } = await afterEvent(() => setMtu(mtu), { pingSize: ping });
            for (const no of [1, 2])
              expectSequence(
                statuses.filter((s) => s.portNo === no),
                [{ reason: "MOD", config: "0", state: "0" }],
              );
            for (const s of [s1, s2]) {
              expect(msgs(logs, s)).toEqual(["MTU changed"]);
              expect(logs.find((l) => l.port === s)?.mtu).toBe(mtu);
            }
          } finally {
            // The restore is reported by a later link poll, which a loaded machine can delay
            // past any fixed sleep: wait for it, so that the next test does not count it.
            const from = monitor.statuses().length;
            setMtu(1500);
            await Promise.all([1, 2].map((no) => statusesFor(no, from, 1))).catch(() => undefined);
          }
        });
      }

      it("a down and up faster than a link poll (a socket error): MODIFY down, MODIFY up", async () => {
        const { statuses, logs } = await afterEvent(() => {
          sh(`ip link set ${s2} down && ip link set ${s2} up`);
        });
        // Seen by a poll between the two commands, or only through the kernel's ENETDOWN on
        // the socket: the same two changes either way, as Open vSwitch reports them.
        expectSequence(statuses, [
          { reason: "MOD", portNo: 2, config: "PORT_DOWN", state: "LINK_DOWN" },
          { reason: "MOD", portNo: 2, config: "0", state: "0" },
        ]);
        const m = logs.filter((l) => l.port === s2);
        console.log(`${backend}: fast down/up logged as ${JSON.stringify(m.map((l) => l.seenAs))}`);
        expect(m.map((l) => l.msg)).toEqual([
          "link down (administratively)",
          "link up (administratively)",
        ]);
      });

      const modPort = (what: string) => ofctl(lab.target, "mod-port", "2", what);
      /** The switch end's IFF_UP, and the carrier its peer (the host end) sees. */
      const adminUp = () =>
        (parseInt(readFileSync(`/sys/class/net/${s2}/flags`, "utf8"), 16) & 1) === 1;
      const peerCarrier = () => {
        const h2 = lab.topo.hosts[1];
        return sh(`ip netns exec ${h2.ns} cat /sys/class/net/${h2.hostIf}/carrier`).trim();
      };
      /** Runs `event`; when it fails, sets the port's interface up again for the next tests. */
      const upAfterFailure = (event: () => Promise<void>) => async () => {
        try {
          await event();
        } catch (e) {
          sh(`ip link set ${s2} up`);
          throw e;
        }
      };

      // Open vSwitch (netdev bridge on veths, ovs-ofctl monitor) for the same requests:
      // mod-port down: the interface goes down (peer NO-CARRIER), MOD {PORT_DOWN, 0} for the
      // request, then MOD {PORT_DOWN, LINK_DOWN} for the link; mod-port up: MOD {0, LINK_DOWN},
      // then MOD {0, 0}; nothing for a mod-port that changes nothing.
      it("mod-port down sets the interface down (the peer loses carrier), up brings it back", async () => {
        const { statuses, logs } = await afterEvent(
          upAfterFailure(async () => {
            const from = monitor.statuses().length;
            modPort("down"); // ovs-ofctl waits for its barrier: the PORT_MOD is done
            expect(adminUp(), `${s2} IFF_UP after mod-port down`).toBe(false);
            expect(peerCarrier(), "carrier at the peer").toBe("0");
            await statusesFor(2, from, 2);
            expect(ofctl(lab.target, "show")).toMatch(
              new RegExp(`2\\(${s2}\\)[^]*?config: +PORT_DOWN\\n\\s*state: +LINK_DOWN`),
            );
            expect(await msUntilPing(lab.topo, 1000), "ping while down").toBe(Infinity);
            modPort("up");
            expect(adminUp(), `${s2} IFF_UP after mod-port up`).toBe(true);
          }),
        );
        expectSequence(statuses, [
          { reason: "MOD", portNo: 2, config: "PORT_DOWN", state: "0" },
          { reason: "MOD", portNo: 2, config: "PORT_DOWN", state: "LINK_DOWN" },
          { reason: "MOD", portNo: 2, config: "0", state: "LINK_DOWN" },
          { reason: "MOD", portNo: 2, config: "0", state: "0" },
        ]);
        expect(peerCarrier()).toBe("1");
        expect(msgs(logs, s2)).toEqual([
          "port config changed",
          "link down (administratively)",
          "port config changed",
          "link up (administratively)",
        ]);
      });

      it("`ip link set IF up` after a mod-port down clears PORT_DOWN and forwards again", async () => {
        const { statuses } = await afterEvent(
          upAfterFailure(async () => {
            const from = monitor.statuses().length;
            modPort("down");
            await statusesFor(2, from, 2);
            sh(`ip link set ${s2} up`);
          }),
        );
        expectSequence(statuses, [
          { reason: "MOD", portNo: 2, config: "PORT_DOWN", state: "0" },
          { reason: "MOD", portNo: 2, config: "PORT_DOWN", state: "LINK_DOWN" },
          { reason: "MOD", portNo: 2, config: "0", state: "0" },
        ]);
      });

      it("mod-port down on an interface already down changes nothing; mod-port up sets it up", async () => {
        const { statuses } = await afterEvent(
          upAfterFailure(async () => {
            const from = monitor.statuses().length;
            sh(`ip link set ${s2} down`);
            await statusesFor(2, from, 1);
            modPort("down");
            await sleep(700); // two link polls: nothing more to report
            expect(monitor.statuses().length - from).toBe(1);
            modPort("up");
            expect(adminUp()).toBe(true);
          }),
        );
        expectSequence(statuses, [
          { reason: "MOD", portNo: 2, config: "PORT_DOWN", state: "LINK_DOWN" },
          { reason: "MOD", portNo: 2, config: "0", state: "LINK_DOWN" },
          { reason: "MOD", portNo: 2, config: "0", state: "0" },
        ]);
      });

      it("no-flood, no-receive and no-forward leave the interface up", async () => {
        for (const [set, clear, word] of [
          ["noflood", "flood", "NO_FLOOD"],
          ["no-receive", "receive", "NO_RECV"],
          ["no-forward", "forward", "NO_FWD"],
        ]) {
          const from = monitor.statuses().length;
          modPort(set);
          expect([adminUp(), peerCarrier()]).toEqual([true, "1"]);
          modPort(clear);
          expectSequence(await statusesFor(2, from, 2), [
            { reason: "MOD", config: word, state: "0" },
            { reason: "MOD", config: "0", state: "0" },
          ]);
        }
      });

      function shownMac(portNo: number): string {
        const out = runSync("ovs-ofctl", ["-O", "OpenFlow10", "show", lab.target]);
        const m = new RegExp(`^\\s*${portNo}\\([^)]+\\): addr:([0-9a-f:]+)`, "m").exec(out);
        if (!m) throw new Error(`port ${portNo} not in ovs-ofctl show:\n${out}`);
        return m[1];
      }
    },
  );
}
