import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OFPPF, OFPPS } from "../../src/openflow/of10/constants.js";
import { MemoryPort } from "../support/memory-port.js";
import { readLinkInfo, speedFeatures } from "../../src/datapath/sysfs.js";

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
      hwAddr: "02:fc:00:00:00:09",
      mtu: 9000,
      adminUp: true,
      linkUp: true,
      currFeatures: OFPPF["1GB_FD"],
    });
  });

  it("reports admin-down, carrier-less and vanished interfaces", () => {
    fakeIf("down0", {
      address: "02:00:00:00:00:01",
      mtu: "1500",
      flags: "0x1002",
      operstate: "down",
    });
    expect(readLinkInfo("down0", root)).toMatchObject({ adminUp: false, linkUp: false });
    fakeIf("nocar0", {
      address: "02:00:00:00:00:02",
      mtu: "1500",
      flags: "0x1003",
      operstate: "lowerlayerdown",
      carrier: "0",
      speed: "-1",
    });
    expect(readLinkInfo("nocar0", root)).toMatchObject({
      adminUp: true,
      linkUp: false,
      currFeatures: 0,
    });
    expect(readLinkInfo("missing0", root).exists).toBe(false);
  });

  it("maps speeds to OF1.0 feature bits", () => {
    expect(speedFeatures(10, "half")).toBe(OFPPF["10MB_HD"]);
    expect(speedFeatures(100, "full")).toBe(OFPPF["100MB_FD"]);
    expect(speedFeatures(10000, undefined)).toBe(OFPPF["10GB_FD"]);
    expect(speedFeatures(25000, "full")).toBe(0);
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
    const s = sw.counters.toStats(1);
    expect([s.rxPackets, s.rxBytes, s.txPackets, s.txBytes]).toEqual([1n, 3n, 1n, 4n]);
    expect(s.collisions).toBe(0xffffffffffffffffn);
  });

  it("drops sends while the link is down and reports the change once", () => {
    const [sw] = MemoryPort.pair(2, "p2");
    sw.linkUp = false;
    expect(sw.send(Buffer.alloc(60), 60)).toBe(false);
    expect(sw.counters.txDropped).toBe(1);
    expect(sw.refresh()).toBe("changed");
    expect(sw.refresh()).toBe("unchanged");
    expect(sw.phyPort().state & OFPPS.LINK_DOWN).toBe(OFPPS.LINK_DOWN);
    sw.close();
    expect(sw.refresh()).toBe("gone");
  });
});
