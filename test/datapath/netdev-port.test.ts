// NetdevPort's handling of interface events, on a fake sysfs and a fake frame I/O: what each
// event becomes (PortRefresh, the port's description, one log line), and when the I/O is
// closed and reopened. test/daemon/port-events.integration.test.ts does the same on real
// interfaces through the daemon.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { linkTransitions } from "../../src/datapath/link-monitor.js";
import { NetdevPort } from "../../src/datapath/netdev-port.js";
import { PORT_CONFIG } from "../../src/datapath/port.js";
import { readLinkInfo, type LinkInfo } from "../../src/datapath/sysfs.js";
import { FakeIo, FrameIoError } from "../support/fake-io.js";
import { INFO, memoryLogger } from "../support/log-sink.js";

const root = mkdtempSync(join(tmpdir(), "ofs-netdev-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface FakeLink {
  ifindex: number;
  mac: string;
  mtu: number;
  adminUp: boolean;
  carrier: boolean;
}

function writeLink(name: string, l: FakeLink): void {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {
    ifindex: String(l.ifindex),
    address: l.mac,
    mtu: String(l.mtu),
    flags: l.adminUp ? "0x1003" : "0x1002",
    speed: "10000",
    duplex: "full",
  };
  // As the kernel: carrier (and speed) cannot be read while the interface is down.
  if (l.adminUp) files.carrier = l.carrier ? "1" : "0";
  else rmSync(join(dir, "carrier"), { force: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), `${v}\n`);
}

function removeLink(name: string): void {
  rmSync(join(root, name), { recursive: true, force: true });
}

let seq = 0;
function setup(opts: { open?: boolean } = {}) {
  const name = `veth${seq++}`;
  const link: FakeLink = {
    ifindex: 10,
    mac: "02:00:00:00:00:0a",
    mtu: 1500,
    adminUp: true,
    carrier: true,
  };
  writeLink(name, link);
  const io = new FakeIo();
  const { log, lines } = memoryLogger();
  const recreated: string[] = [];
  const port = new NetdevPort(2, name, io, {
    sysfsRoot: root,
    log,
    onRecreated: (n) => recreated.push(n),
  });
  if (opts.open !== false) port.open(() => {});
  const update = (change: Partial<FakeLink>) => writeLink(name, Object.assign(link, change));
  const logged = () => lines.filter((l) => l.level >= INFO).map((l) => l.msg);
  return { name, link, io, port, lines, logged, recreated, update };
}

describe("linkTransitions", () => {
  const up: LinkInfo = {
    exists: true,
    ifindex: 3,
    linkType: 1,
    hwAddr: "02:00:00:00:00:01",
    mtu: 1500,
    adminUp: true,
    linkUp: true,
    speedMbps: 10000,
    duplex: "full",
  };
  const gone = { ...up, exists: false, ifindex: 0, adminUp: false, linkUp: false };
  const events = (a: LinkInfo, b: LinkInfo) => linkTransitions(a, b).map((t) => t.event);

  it("names each change once, and nothing when nothing changed", () => {
    expect(events(up, up)).toEqual([]);
    const noSpeed = { speedMbps: 0, duplex: "unknown" as const };
    expect(events(up, { ...up, adminUp: false, linkUp: false, ...noSpeed })).toEqual([
      "admin-down",
    ]);
    expect(events({ ...up, adminUp: false, linkUp: false }, up)).toEqual(["admin-up"]);
    expect(events(up, { ...up, linkUp: false, ...noSpeed })).toEqual(["carrier-down"]);
    expect(events(up, { ...up, mtu: 9000 })).toEqual(["mtu"]);
    expect(events(up, { ...up, hwAddr: "02:00:00:00:00:02" })).toEqual(["mac"]);
    expect(events(up, { ...up, speedMbps: 1000 })).toEqual(["speed"]);
    expect(events(up, { ...up, duplex: "half" })).toEqual(["speed"]);
  });

  it("tells deletion, creation and re-creation between two polls (a new ifindex) apart", () => {
    expect(events(up, gone)).toEqual(["deleted"]);
    expect(events(gone, gone)).toEqual([]);
    expect(events(gone, up)).toEqual(["created"]);
    expect(events(up, { ...up, ifindex: 4, hwAddr: "02:00:00:00:00:09" })).toEqual(["replaced"]);
  });
});

describe("NetdevPort on interface events", () => {
  it("opens its I/O when opened on an interface that is up", () => {
    const { io, port, logged } = setup();
    expect(io.isOpen).toBe(true);
    expect(port.refresh()).toBe("unchanged");
    expect(logged()).toEqual([]);
  });

  it("a socket error the provider got over asks for a short poll, until a poll saw it", () => {
    // ENETDOWN also comes with a deletion: polling soon notices a re-creation in one short
    // poll (50 ms) instead of a long one (300 ms).
    const { io, port, update } = setup();
    expect(port.pollSoon).toBe(false);
    update({ adminUp: false });
    io.notice("ENETDOWN");
    expect(port.pollSoon).toBe(true);
    expect(port.refresh()).toBe("changed");
    expect(port.pollSoon).toBe(false);
  });

  it("admin down: MODIFY with PORT_DOWN and LINK_DOWN; a socket that survives it is kept", () => {
    const { io, port, update, logged } = setup();
    update({ adminUp: false });
    io.notice("ENETDOWN"); // what the kernel tells an AF_PACKET socket
    expect(port.refresh()).toBe("changed");
    expect(port.info()).toMatchObject({ config: PORT_CONFIG.DOWN, linkDown: true });
    expect(io.isOpen).toBe(true);
    expect(port.refresh()).toBe("unchanged");
    update({ adminUp: true });
    expect(port.refresh()).toBe("changed");
    expect(port.info()).toMatchObject({ config: 0, linkDown: false });
    expect([io.opens, io.closes, io.isOpen]).toEqual([1, 0, true]);
    expect(logged()).toEqual(["link down (administratively)", "link up (administratively)"]);
  });

  it("admin down with a socket that dies of it (libpcap): closed, reopened once up", () => {
    const { io, port, update, logged } = setup();
    update({ adminUp: false });
    io.fail("ENETDOWN");
    expect(port.refresh()).toBe("changed");
    expect(io.isOpen).toBe(false);
    expect(port.refresh()).toBe("unchanged");
    expect(io.opens).toBe(1);
    update({ adminUp: true });
    expect(port.refresh()).toBe("changed");
    expect([io.opens, io.closes, io.isOpen]).toEqual([2, 1, true]);
    expect(port.ioStats).toMatchObject({ failures: 1, reopens: 1 });
    expect(logged()).toEqual(["link down (administratively)", "link up (administratively)"]);
  });

  it("keeps the controller's config bits beside the administrative state, which it shows and does not enforce", () => {
    const { port, update } = setup();
    port.config = PORT_CONFIG.NO_FLOOD;
    update({ adminUp: false });
    port.refresh();
    expect(port.info().config).toBe(PORT_CONFIG.NO_FLOOD | PORT_CONFIG.DOWN);
    // A down interface passes nothing: no software DOWN to outlive it until the next poll
    // (TCP under a flapping link stalled for good while one did).
    expect(port.config).toBe(PORT_CONFIG.NO_FLOOD);
    update({ adminUp: true });
    expect(port.config).toBe(PORT_CONFIG.NO_FLOOD);
    port.refresh();
    expect(port.info().config).toBe(PORT_CONFIG.NO_FLOOD);
  });

  describe("setAdminUp (PORT_MOD's PORT_DOWN): the interface itself, as Open vSwitch", () => {
    /** A port whose setAdminUp writes the fake sysfs, as the ioctl changes the kernel's. */
    function adminSetup(refuse?: string) {
      const s = setup();
      const calls: [string, boolean][] = [];
      const port = new NetdevPort(3, s.name, s.io, {
        sysfsRoot: root,
        log: memoryLogger().log,
        setAdminUp: (name, up) => {
          calls.push([name, up]);
          if (refuse !== undefined) throw new FrameIoError(refuse, "refused");
          s.update({ adminUp: up });
        },
      });
      s.port.close();
      port.open(() => {});
      const shown = () => ({ config: port.info().config, linkDown: port.info().linkDown });
      return { ...s, port, calls, shown };
    }

    it("down: config at once, the link's state on the next poll; up likewise (OVS's sequence)", () => {
      const { port, calls, shown } = adminSetup();
      port.setAdminUp(false);
      expect(calls).toEqual([[port.name, false]]);
      // OVS: MODIFY {PORT_DOWN, state 0} for the PORT_MOD, then {PORT_DOWN, LINK_DOWN}.
      port.config |= PORT_CONFIG.DOWN; // what Datapath.setPortConfig sets beside the call
      expect(shown()).toEqual({ config: PORT_CONFIG.DOWN, linkDown: false });
      expect(port.refresh()).toBe("changed");
      expect(shown()).toEqual({ config: PORT_CONFIG.DOWN, linkDown: true });
      expect(port.refresh()).toBe("unchanged");
      // OVS: MODIFY {0, LINK_DOWN} for the PORT_MOD, then {0, 0}.
      port.config &= ~PORT_CONFIG.DOWN;
      port.setAdminUp(true);
      expect(shown()).toEqual({ config: 0, linkDown: true });
      expect(port.refresh()).toBe("changed");
      expect(shown()).toEqual({ config: 0, linkDown: false });
      expect(port.refresh()).toBe("unchanged");
    });

    it("an `ip link set IF up` after a PORT_MOD down clears DOWN; a down from outside shows it", () => {
      const { port, update } = adminSetup();
      port.config |= PORT_CONFIG.DOWN;
      port.setAdminUp(false);
      port.refresh();
      update({ adminUp: true });
      expect(port.refresh()).toBe("changed");
      expect(port.config).toBe(0);
      expect(port.info()).toMatchObject({ config: 0, linkDown: false });
      update({ adminUp: false });
      expect(port.refresh()).toBe("changed");
      expect(port.info().config).toBe(PORT_CONFIG.DOWN);
      expect(port.config).toBe(0); // shown, not enforced: the kernel passes nothing
    });

    it("a PORT_MOD down and up between two polls: the ENETDOWN it caused is no bounce", () => {
      const { port, io } = adminSetup();
      port.setAdminUp(false);
      io.notice("ENETDOWN");
      port.setAdminUp(true);
      expect(port.refresh()).toBe("unchanged");
      expect(port.info()).toMatchObject({ config: 0, linkDown: false });
      // Only the poll after the request: a later ENETDOWN alone is a bounce again.
      io.notice("ENETDOWN");
      expect(port.refresh()).toBe("bounced");
    });

    it("refused (EPERM): throws, and nothing shown changes", () => {
      const { port, shown } = adminSetup("EPERM");
      expect(() => port.setAdminUp(false)).toThrow(FrameIoError);
      expect(shown()).toEqual({ config: 0, linkDown: false });
      expect(port.refresh()).toBe("unchanged");
    });

    it("a port opened on an interface that is down shows DOWN", () => {
      const { name, update, io } = setup({ open: false });
      update({ adminUp: false });
      const port = new NetdevPort(4, name, io, { sysfsRoot: root });
      expect(port.info().config).toBe(PORT_CONFIG.DOWN);
      expect(port.config).toBe(0);
    });
  });

  it("carrier loss: MODIFY with LINK_DOWN, the I/O stays open", () => {
    const { io, port, update, logged } = setup();
    update({ carrier: false });
    expect(port.refresh()).toBe("changed");
    expect(port.info()).toMatchObject({ config: 0, linkDown: true });
    update({ carrier: true });
    expect(port.refresh()).toBe("changed");
    expect(port.info().linkDown).toBe(false);
    expect([io.opens, io.closes]).toEqual([1, 0]);
    expect(logged()).toEqual(["carrier lost", "carrier back"]);
  });

  it("deletion: gone (described as it was), I/O closed; re-creation: back with the new MAC", () => {
    const { name, io, port, update, logged, recreated } = setup();
    removeLink(name);
    expect(port.refresh()).toBe("gone");
    expect(port.info()).toMatchObject({ hwAddr: "02:00:00:00:00:0a", linkDown: true });
    expect(io.isOpen).toBe(false);
    expect(port.refresh()).toBe("unchanged");
    expect(port.send(Buffer.alloc(60), 60)).toBe(false);
    update({ ifindex: 11, mac: "02:00:00:00:00:0b" });
    expect(port.refresh()).toBe("back");
    expect(port.info()).toMatchObject({ portNo: 2, hwAddr: "02:00:00:00:00:0b", linkDown: false });
    expect(port.hwAddr).toBe("02:00:00:00:00:0b");
    expect([io.opens, io.isOpen]).toEqual([2, true]);
    expect(recreated).toEqual([name]);
    expect(port.refresh()).toBe("unchanged");
    expect(logged()).toEqual(["interface deleted", "interface created"]);
  });

  it("re-creation between two polls (new ifindex): gone, then back on the next refresh", () => {
    const { io, port, update, logged } = setup();
    update({ ifindex: 12, mac: "02:00:00:00:00:0c" });
    expect(port.refresh()).toBe("gone");
    expect(port.info().hwAddr).toBe("02:00:00:00:00:0a");
    expect(port.refresh()).toBe("back");
    expect(port.info().hwAddr).toBe("02:00:00:00:00:0c");
    expect([io.opens, io.closes, io.isOpen]).toEqual([2, 1, true]);
    expect(logged()).toEqual([
      "interface deleted (created again under the same name)",
      "interface created",
    ]);
  });

  it("a re-created interface that is down stays closed until it comes up", () => {
    const { name, io, port, update } = setup();
    removeLink(name);
    port.refresh();
    update({ ifindex: 13, adminUp: false });
    expect(port.refresh()).toBe("back");
    expect(port.info()).toMatchObject({ config: PORT_CONFIG.DOWN, linkDown: true });
    expect(io.isOpen).toBe(false);
    update({ adminUp: true });
    expect(port.refresh()).toBe("changed");
    expect(io.isOpen).toBe(true);
  });

  it("MTU change: MODIFY, the new MTU for egress, the I/O untouched", () => {
    const { io, port, update, lines } = setup();
    update({ mtu: 9000 });
    expect(port.refresh()).toBe("changed");
    expect(port.mtu).toBe(9000);
    update({ mtu: 1280 });
    expect(port.refresh()).toBe("changed");
    expect(port.mtu).toBe(1280);
    expect([io.opens, io.closes]).toEqual([1, 0]);
    expect(lines.map((l) => [l.msg, l.mtu, l.was])).toEqual([
      ["MTU changed", 9000, 1500],
      ["MTU changed", 1280, 9000],
    ]);
  });

  it("a socket error that killed the socket, unexplained: reopened on the next poll, logged once", () => {
    const { io, port, lines } = setup();
    io.fail("ENXIO");
    io.fail("ENXIO");
    expect(port.refresh()).toBe("unchanged");
    expect([io.opens, io.closes, io.isOpen]).toEqual([2, 1, true]);
    expect(port.ioStats).toEqual({ transient: 0, failures: 2, reopens: 1 });
    expect(port.refresh()).toBe("unchanged");
    expect(io.opens).toBe(2);
    expect(lines.map((l) => [l.msg, l.error])).toEqual([["socket error: reopened", "ENXIO"]]);
  });

  it("a down and up between two polls, told only by ENETDOWN: both transitions, socket kept", () => {
    for (const report of ["notice", "fail"] as const) {
      // notice: an AF_PACKET socket survives it; fail: libpcap's dies and is reopened.
      const { io, port, lines } = setup();
      io[report]("ENETDOWN");
      expect(port.refresh()).toBe("bounced");
      expect(port.refresh()).toBe("unchanged");
      expect(io.isOpen).toBe(true);
      expect(io.opens).toBe(report === "notice" ? 1 : 2);
      expect(lines.map((l) => [l.msg, l.seenAs])).toEqual([
        ["link down (administratively)", "ENETDOWN"],
        ["link up (administratively)", "ENETDOWN"],
      ]);
      expect(port.info()).toMatchObject({ config: 0, linkDown: false });
    }
  });

  it("the socket error of an interface going down is part of that transition", () => {
    for (const report of ["fail", "notice"] as const) {
      const { io, port, update, logged } = setup();
      update({ adminUp: false });
      expect(port.refresh()).toBe("changed");
      io[report]("ENETDOWN"); // after the poll that saw the interface down
      expect(port.refresh()).toBe("unchanged");
      update({ adminUp: true });
      port.refresh();
      expect(logged()).toEqual(["link down (administratively)", "link up (administratively)"]);
      expect(io.isOpen).toBe(true);
    }
  });

  it("an I/O that cannot open is a down port, warned about once, up once it opens", () => {
    const { io, port, lines } = setup({ open: false });
    io.openError = new FrameIoError("EPROTONOSUPPORT", "link type RAW, not Ethernet");
    port.open(() => {});
    expect(port.info().linkDown).toBe(true);
    expect(port.refresh()).toBe("unchanged");
    expect(port.refresh()).toBe("unchanged");
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    io.openError = undefined;
    expect(port.refresh()).toBe("changed");
    expect(port.info().linkDown).toBe(false);
    expect(lines.map((l) => l.msg).at(-1)).toBe("port I/O opened");
  });

  it("refuses to start without the privilege to capture", () => {
    const { io, port } = setup({ open: false });
    io.openError = new FrameIoError("EPERM", "socket(AF_PACKET): Operation not permitted");
    expect(() => port.open(() => {})).toThrow(
      /EPERM: socket\(AF_PACKET\): Operation not permitted/,
    );
  });

  it("never opens I/O for a port that was not opened", () => {
    const { io, port, update } = setup({ open: false });
    update({ adminUp: false });
    port.refresh();
    update({ adminUp: true });
    port.refresh();
    expect(io.opens).toBe(0);
  });

  it("does not exist without its interface", () => {
    expect(() => new NetdevPort(1, "nosuch0", new FakeIo(), { sysfsRoot: root })).toThrow(
      /interface nosuch0 does not exist/,
    );
    expect(readLinkInfo("nosuch0", root).exists).toBe(false);
  });
});
