import { describe, expect, it } from "vitest";
import { OFP_NO_BUFFER, OFPBRC } from "../../src/openflow/of10/constants.js";
import { OfpError } from "../../src/openflow/of10/errors.js";
import { PacketBufferPool } from "../../src/switch/packet-buffers.js";
import {
  exposedWithoutTls,
  parseActiveTarget,
  parsePassiveTarget,
  usesTls,
} from "../../src/ofchannel/targets.js";
import { TokenBucket, defaultBurst } from "../../src/switch/token-bucket.js";

function codeOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof OfpError) return e.code;
  }
  return -1;
}

describe("PacketBufferPool", () => {
  it("issues distinct ids, hands each packet out once, and tells used from unknown ids", () => {
    const pool = new PacketBufferPool(5000, () => 0);
    const a = pool.save(Buffer.from("abcdef"), 4, 3);
    const b = pool.save(Buffer.from("xyz"), 3, 1);
    expect(a).not.toBe(b);
    expect(pool.retrieve(a)).toEqual({ frame: Buffer.from("abcd"), inPort: 3 });
    expect(codeOf(() => pool.retrieve(a))).toBe(OFPBRC.BUFFER_EMPTY);
    expect(codeOf(() => pool.retrieve(b ^ 0x100))).toBe(OFPBRC.BUFFER_UNKNOWN);
    expect(codeOf(() => pool.retrieve(OFP_NO_BUFFER))).toBe(OFPBRC.BUFFER_UNKNOWN);
    expect(codeOf(() => pool.retrieve(0x12345678))).toBe(OFPBRC.BUFFER_UNKNOWN);
  });

  it("refuses to overwrite young packets, reuses old slots with a new cookie, and sweeps", () => {
    let now = 0;
    const pool = new PacketBufferPool(5000, () => now);
    const ids = Array.from({ length: 256 }, () => pool.save(Buffer.alloc(10), 10, 1));
    expect(ids.includes(OFP_NO_BUFFER)).toBe(false);
    expect(pool.save(Buffer.alloc(10), 10, 1)).toBe(OFP_NO_BUFFER);
    now = 5000;
    const reused = pool.save(Buffer.alloc(10), 10, 2);
    expect(reused & 0xff).toBe(ids[0] & 0xff);
    expect(reused).not.toBe(ids[0]);
    expect(codeOf(() => pool.retrieve(ids[0]))).toBe(OFPBRC.BUFFER_UNKNOWN);
    expect(pool.sweep()).toBe(255);
    expect(codeOf(() => pool.retrieve(ids[1]))).toBe(OFPBRC.BUFFER_UNKNOWN);
    expect(pool.count).toBe(1);
  });
});

describe("TokenBucket", () => {
  it("allows a burst, then the rate, and counts refusals", () => {
    let now = 0;
    const tb = new TokenBucket(100, 5, () => now);
    const burst = Array.from({ length: 8 }, () => tb.take());
    expect(burst.filter(Boolean)).toHaveLength(5);
    expect(tb.dropped).toBe(3);
    now += 50; // 5 tokens
    expect(Array.from({ length: 8 }, () => tb.take()).filter(Boolean)).toHaveLength(5);
    now += 10_000; // capped at the burst
    expect(Array.from({ length: 8 }, () => tb.take()).filter(Boolean)).toHaveLength(5);
    expect(defaultBurst(1000)).toBe(250);
    expect(new TokenBucket(0, 1).take()).toBe(true);
  });
});

describe("controller targets", () => {
  it("parses tcp: and ptcp: as OVS writes them", () => {
    expect(parseActiveTarget("tcp:10.0.0.1")).toMatchObject({ host: "10.0.0.1", port: 6653 });
    expect(parseActiveTarget("tcp:ctl.example:6633")).toMatchObject({
      host: "ctl.example",
      port: 6633,
    });
    expect(parseActiveTarget("tcp:[::1]:7000")).toMatchObject({ host: "::1", port: 7000 });
    expect(parsePassiveTarget("ptcp:6634")).toMatchObject({ host: "127.0.0.1", port: 6634 });
    expect(parsePassiveTarget("ptcp:6634:0.0.0.0")).toMatchObject({ host: "0.0.0.0", port: 6634 });
    expect(parsePassiveTarget("ptcp:")).toMatchObject({ port: 6653 });
  });

  it("parses ssl:, pssl:, unix: and punix:, with OVS's labels", () => {
    expect(parseActiveTarget("ssl:10.0.0.1")).toEqual({
      kind: "ssl",
      host: "10.0.0.1",
      port: 6653,
      label: "ssl:10.0.0.1:6653",
    });
    expect(parseActiveTarget("ssl:[::1]:7000").label).toBe("ssl:[::1]:7000");
    expect(parseActiveTarget("unix:/run/ofswitch.mgmt")).toEqual({
      kind: "unix",
      path: "/run/ofswitch.mgmt",
      label: "unix:/run/ofswitch.mgmt",
    });
    expect(parsePassiveTarget("pssl:")).toMatchObject({
      kind: "pssl",
      port: 6653,
      host: "127.0.0.1",
      label: "pssl:6653:127.0.0.1",
    });
    expect(parsePassiveTarget("pssl:6634:[::]")).toMatchObject({
      host: "::",
      label: "pssl:6634:[::]",
    });
    expect(parsePassiveTarget("punix:/tmp/x.sock")).toEqual({
      kind: "punix",
      role: "service",
      path: "/tmp/x.sock",
      label: "punix:/tmp/x.sock",
    });
    expect([parseActiveTarget("ssl:h"), parsePassiveTarget("pssl:1")].map(usesTls)).toEqual([
      true,
      true,
    ]);
    expect(
      [
        parseActiveTarget("tcp:h"),
        parseActiveTarget("unix:/p"),
        parsePassiveTarget("punix:/p"),
      ].map(usesTls),
    ).toEqual([false, false, false]);
  });

  it("a plain-TCP listener is exposed unless on loopback; TLS and Unix sockets never are", () => {
    const exposed = (spec: string) => exposedWithoutTls(parsePassiveTarget(spec));
    expect(
      ["ptcp:1:0.0.0.0", "ptcp:1:[::]", "ptcp:1:10.1.2.3", "ptcp:1:[::ffff:10.0.0.1]"].map(exposed),
    ).toEqual([true, true, true, true]);
    expect(
      [
        "ptcp:1",
        "ptcp:1:127.9.9.9",
        "ptcp:1:[::1]",
        "ptcp:1:[::ffff:127.0.0.1]",
        "pssl:1:0.0.0.0",
        "punix:/x",
      ].map(exposed),
    ).toEqual([false, false, false, false, false, false]);
  });

  it("rejects malformed targets with one-line messages", () => {
    for (const bad of [
      "udp:1.2.3.4",
      "tcp:",
      "tcp:1.2.3.4:99999",
      "tcp:1.2.3.4:x",
      "tcp:a b",
      "ssl:",
      "unix:",
      `unix:/${"x".repeat(120)}`,
      "ssl",
    ]) {
      expect(() => parseActiveTarget(bad)).toThrow(/^controller ".*": /);
    }
    for (const bad of [
      "tcp:6634",
      "ptcp:abc",
      "ptcp:6634:not-an-ip",
      "ptcp:70000",
      "pssl:x",
      "punix:",
      "unix:/x",
    ]) {
      expect(() => parsePassiveTarget(bad)).toThrow(/^listener ".*": /);
    }
  });
});
