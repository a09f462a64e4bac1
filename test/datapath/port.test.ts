import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryPort } from "../support/memory-port.js";
import { readLinkInfo } from "../../src/datapath/sysfs.js";

const root = mkdtempSync(join(tmpdir(), "ofs-sysfs-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeIf(name: string, files: Record<string, string>) {
  mkdirSync(join(root, name), { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(root, name, f), `${v}\n`);
}

describe("readLinkInfo", () => {
  it("reads address, MTU, link state and speed", () => {
    fakeIf("eth9", {
      address: "02:fc:00:00:00:09",
      mtu: "9000",
      flags: "0x1003",
      operstate: "up",
      carrier: "1",
      speed: "1000",
      duplex: "full",
      ifindex: "17",
    });
    expect(readLinkInfo("eth9", root)).toEqual({
      exists: true,
      ifindex: 17,
      linkType: 1,
      hwAddr: "02:fc:00:00:00:09",
      mtu: 9000,
      adminUp: true,
      linkUp: true,
      speedMbps: 1000,
      duplex: "full",
    });
  });

  it("reports admin-down, carrier-less and vanished interfaces", () => {
    fakeIf("down0", {
      address: "02:00:00:00:00:01",
      ifindex: "21",
      mtu: "1500",
      flags: "0x1002",
      operstate: "down",
    });
    expect(readLinkInfo("down0", root)).toMatchObject({ adminUp: false, linkUp: false });
    fakeIf("nocar0", {
      address: "02:00:00:00:00:02",
      ifindex: "22",
      mtu: "1500",
      flags: "0x1003",
      operstate: "lowerlayerdown",
      carrier: "0",
      speed: "-1",
    });
    expect(readLinkInfo("nocar0", root)).toMatchObject({
      adminUp: true,
      linkUp: false,
      speedMbps: 0,
      duplex: "unknown",
    });
    expect(readLinkInfo("missing0", root).exists).toBe(false);
  });

  it("reads speeds OF1.0 has no name for, and a duplex it cannot read as unknown", () => {
    fakeIf("fast0", {
      address: "02:00:00:00:00:03",
      ifindex: "23",
      mtu: "1500",
      flags: "0x1003",
      carrier: "1",
      speed: "25000",
    });
    expect(readLinkInfo("fast0", root)).toMatchObject({ speedMbps: 25000, duplex: "unknown" });
  });
});

describe("readLinkInfo on an interface that is not Ethernet or is half gone", () => {
  it("gives a tun (no address) and a tunnel (4-byte address) an all-zero MAC and its link type", () => {
    const base = { ifindex: "31", mtu: "1500", flags: "0x1003", carrier: "1" };
    fakeIf("tun0", { ...base, type: "65534", address: "" });
    expect(readLinkInfo("tun0", root)).toMatchObject({
      exists: true,
      linkType: 65534,
      hwAddr: "00:00:00:00:00:00",
    });
    fakeIf("ipip0", { ...base, type: "768", address: "0.0.0.0" });
    expect(readLinkInfo("ipip0", root).hwAddr).toBe("00:00:00:00:00:00");
  });

  it("reports an interface whose files are vanishing (deleted, moved to a netns) as gone", () => {
    // The address still there, the ifindex already gone: not an interface with ifindex 0.
    fakeIf("going0", { address: "02:00:00:00:00:04", mtu: "1500", flags: "0x1003" });
    expect(readLinkInfo("going0", root).exists).toBe(false);
    // The ifindex there, the flags gone: not an interface that went administratively down.
    fakeIf("going1", { address: "02:00:00:00:00:05", ifindex: "32", mtu: "1500" });
    expect(readLinkInfo("going1", root).exists).toBe(false);
  });
});

describe("MemoryPort", () => {
  it("delivers frames across a pair into the receiver's buffer and counts both ends", () => {
    const [sw, host] = MemoryPort.pair(1, "p1", "02:00:00:00:00:01");
    const seen: string[] = [];
    sw.open((frame, length, port) =>
      seen.push(`${port.name}:${frame.subarray(0, length).toString("hex")}`),
    );
    const f = Buffer.from("aabbccdd", "hex");
    expect(host.send(f, 3)).toBe(true);
    expect(seen).toEqual(["p1:aabbcc"]);
    sw.send(f, 4);
    expect(host.received).toEqual([f]);
    const c = sw.counters;
    expect([c.rxPackets, c.rxBytes, c.txPackets, c.txBytes]).toEqual([1, 3, 1, 4]);
  });

  it("drops sends while the link is down and reports the change once", () => {
    const [sw] = MemoryPort.pair(2, "p2");
    sw.linkUp = false;
    expect(sw.send(Buffer.alloc(60), 60)).toBe(false);
    expect(sw.counters.txDropped).toBe(1);
    expect(sw.refresh()).toBe("changed");
    expect(sw.refresh()).toBe("unchanged");
    expect(sw.info().linkDown).toBe(true);
    sw.close();
    expect(sw.refresh()).toBe("gone");
  });
});
