import { describe, expect, it } from "vitest";
import { FlowTable } from "../../src/flowtable/flow-table.js";
import { MicroflowCache } from "../../src/flowtable/microflow-cache.js";
import { hashWords } from "../../src/flowtable/word-hash.js";
import { FlowKey } from "../../src/packet/flow-key.js";
import { ip, keyOf, matchOn, rule, type Ports } from "./helpers.js";

const pkt = { inPort: 1, dlType: 0x0800, nwProto: 17, nwSrc: ip("10.0.0.1"), tpDst: 53 };

describe("MicroflowCache", () => {
  it("answers only for the very key it stored, and forgets everything on invalidate", () => {
    const c = new MicroflowCache<string>(4, 1);
    const a = keyOf(pkt);
    const b = keyOf({ ...pkt, tpDst: 54 });
    c.store(a.words, hashWords(a.words), "a");
    expect(c.value(c.find(a.words, hashWords(a.words)))).toBe("a");
    // Same hash, other words: no false hit.
    expect(c.find(b.words, hashWords(a.words))).toBe(-1);
    c.invalidate();
    expect(c.find(a.words, hashWords(a.words))).toBe(-1);
  });

  it("offer() stores about one answer in insertOneIn", () => {
    const c = new MicroflowCache<number>(1024, 8);
    const k = new FlowKey();
    let stored = 0;
    for (let i = 0; i < 8000; i++) {
      k.tpSrc = i;
      c.offer(k.words, hashWords(k.words), i);
      if (c.find(k.words, hashWords(k.words)) >= 0) stored++;
    }
    expect(stored).toBeGreaterThan(700);
    expect(stored).toBeLessThan(1300);
  });

  it("caches a table miss as well as a hit", () => {
    const c = new MicroflowCache<string>(4, 1);
    const k = new FlowKey();
    c.store(k.words, hashWords(k.words), undefined);
    const slot = c.find(k.words, hashWords(k.words));
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(c.value(slot)).toBeUndefined();
  });
});

/** Looks `key` up often enough that the cache (which stores 1 answer in 8) surely holds it. */
function warm(t: FlowTable<Ports>, key: ReturnType<typeof keyOf>): void {
  for (let i = 0; i < 200; i++) t.lookup(key);
}

describe("FlowTable with its exact-match cache", () => {
  it("a packet that missed meets a flow added after it, and a removed flow is gone at once (BARRIER semantics)", () => {
    const t = new FlowTable<Ports>({ clock: () => 0 });
    const key = keyOf(pkt);
    warm(t, key);
    const hitsWhenMissing = t.cacheHits;
    expect(hitsWhenMissing).toBeGreaterThan(0);
    expect(t.lookup(key)).toBeUndefined();
    t.add(rule(matchOn({ inPort: 1 }), { priority: 10, actions: [2] }));
    expect(t.lookup(key)?.priority).toBe(10);
    warm(t, key);
    t.add(
      rule(matchOn({ tpDst: 53, dlType: 0x0800, nwProto: 17 }), { priority: 20, actions: [3] }),
    );
    expect(t.lookup(key)?.priority).toBe(20);
    warm(t, key);
    t.delete({ match: matchOn({}), tables: "both" });
    expect(t.lookup(key)).toBeUndefined();
  });

  it("switching to the emergency table switches the cached answers too", () => {
    const t = new FlowTable<Ports>({ clock: () => 0 });
    const key = keyOf(pkt);
    t.add(rule(matchOn({ inPort: 1 }), { cookie: 1n, actions: [2] }));
    t.add(rule(matchOn({ inPort: 1 }), { cookie: 2n, emergency: true, actions: [3] }));
    warm(t, key);
    expect(t.lookup(key)?.cookie).toBe(1n);
    t.setEmergencyMode(true);
    expect(t.lookup(key)?.cookie).toBe(2n);
    t.setEmergencyMode(false);
    expect(t.lookup(key)?.cookie).not.toBe(2n);
  });

  it("cacheSlots: 0 turns the cache off", () => {
    const t = new FlowTable<Ports>({ clock: () => 0, cacheSlots: 0 });
    warm(t, keyOf(pkt));
    expect(t.cacheHits).toBe(0);
  });
});
