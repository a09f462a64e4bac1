import { describe, expect, it } from "vitest";
import { OFP_NO_BUFFER, OFPBRC } from "../../src/openflow/of10/constants.js";
import { OfpError } from "../../src/openflow/of10/errors.js";
import { PacketBufferPool } from "../../src/switch/packet-buffers.js";
import { parseActiveTarget, parsePassiveTarget } from "../../src/ofchannel/targets.js";
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

  it("rejects malformed targets with one-line messages", () => {
    for (const bad of ["udp:1.2.3.4", "tcp:", "tcp:1.2.3.4:99999", "tcp:1.2.3.4:x", "tcp:a b"]) {
      expect(() => parseActiveTarget(bad)).toThrow(/^controller ".*": /);
    }
    for (const bad of ["tcp:6634", "ptcp:abc", "ptcp:6634:not-an-ip", "ptcp:70000"]) {
      expect(() => parsePassiveTarget(bad)).toThrow(/^listener ".*": /);
    }
  });
});
