// lookupBatch / findBatch against single lookups: the batched path must return exactly what
// lookup / find return, also for keys whose full 32-bit hash collides with a stored key's.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FlowEntry } from "../../src/flowtable/flow-entry.js";
import { FlowTable } from "../../src/flowtable/flow-table.js";
import { BATCH_MIN_SIZE, hashWords, WordHashTable } from "../../src/flowtable/word-hash.js";
import { FlowKey, VLAN_NONE } from "../../src/packet/flow-key.js";
import { exactOn, keyOf, matchOn, rule, type PacketFields, type Ports } from "./helpers.js";

const ALL_ONES = new Int32Array(9).fill(-1);

/** Keys as FlowKeys (findBatch takes FlowKey[]). */
function flowKeys(words: Int32Array[]): FlowKey[] {
  return words.map((w) => {
    const k = new FlowKey();
    k.words.set(Uint32Array.from(w));
    return k;
  });
}

/**
 * A key differing from `a` in word 0 with the same hashWords: the hash mixes the last word in
 * with a bijection of (state ^ word), so that word can be solved for. Mirrors word-hash.ts's
 * mix(); the assertion below fails if the hash changes, rather than testing nothing.
 */
function collidingWith(a: Int32Array, word0: number): Int32Array {
  const mix = (h: number, w: number): number => {
    h = Math.imul(h ^ w, 0x9e3779b1);
    return h ^ (h >>> 15);
  };
  const state = (w: Int32Array): number => {
    let h = 0x9747b28c;
    for (let i = 0; i < 8; i++) h = mix(h, w[i]);
    return h;
  };
  const b = Int32Array.from(a);
  b[0] = word0;
  b[8] = state(a) ^ a[8] ^ state(b);
  expect(hashWords(b)).toBe(hashWords(a));
  return b;
}

describe("WordHashTable.findBatch", () => {
  it("agrees with find after random inserts and deletes (growth, shrinking, moved ids)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(300)), { minLength: 20, maxLength: 1200 }),
        fc.constantFrom(1, 7, 64, 300),
        fc.constantFrom(0, 100_000),
        (ops, batch, batchMinSize) => {
          const t = new WordHashTable<number>(batchMinSize);
          const words = (n: number): Int32Array =>
            Int32Array.from([n, 0, -1, 0, n * 3, 0, 0, 0, 1]);
          ops.forEach(([add, n], i) => (add ? t.set(words(n), i) : t.delete(words(n))));
          const keys = flowKeys(Array.from({ length: 301 }, (_, n) => words(n)));
          const out: (number | undefined)[] = [];
          for (let from = 0; from < keys.length; from += batch) {
            const chunk = keys.slice(from, from + batch);
            t.findBatch(chunk, chunk.length, ALL_ONES, out);
            chunk.forEach((k, i) => expect(out[i]).toBe(t.find(k.words, ALL_ONES)));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("tells apart keys whose full hashes collide, in find and findBatch, across deletes", () => {
    const base = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const family = [base, ...Array.from({ length: 40 }, (_, i) => collidingWith(base, 100 + i))];
    const t = new WordHashTable<number>(0);
    family.forEach((w, i) => {
      if (i % 3 !== 2) t.set(w, i);
    });
    t.delete(family[3]);
    const want = family.map((_, i) => (i % 3 !== 2 && i !== 3 ? i : undefined));
    const keys = flowKeys(family);
    const out: (number | undefined)[] = [];
    t.findBatch(keys, keys.length, ALL_ONES, out);
    expect(out.slice(0, keys.length)).toEqual(want);
    expect(keys.map((k) => t.find(k.words, ALL_ONES))).toEqual(want);
    expect(family.map((w) => t.get(w))).toEqual(want);
  });
});

describe("FlowTable.lookupBatch", () => {
  const packet = fc.record({
    inPort: fc.integer({ min: 1, max: 4 }),
    dlType: fc.constantFrom(0x0800, 0x0806),
    nwProto: fc.constantFrom(6, 17),
    nwSrc: fc.integer({ min: 1, max: 6 }),
    tpDst: fc.constantFrom(22, 80),
  });
  const asFields = (p: {
    inPort: number;
    dlType: number;
    nwProto: number;
    nwSrc: number;
    tpDst: number;
  }): PacketFields =>
    p.dlType === 0x0800
      ? { ...p, dlVlan: VLAN_NONE }
      : {
          inPort: p.inPort,
          dlType: p.dlType,
          dlVlan: VLAN_NONE,
          nwProto: p.nwProto,
          nwSrc: p.nwSrc,
        };

  it("returns what lookup returns, key by key, and counts lookups and matches the same", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(packet, fc.boolean(), fc.boolean()), { maxLength: 60 }),
        fc.array(packet, { minLength: 1, maxLength: 80 }),
        fc.boolean(),
        (mods, packets, emergency) => {
          const single = new FlowTable<Ports>({ clock: () => 0 });
          const batched = new FlowTable<Ports>({ clock: () => 0 });
          mods.forEach(([p, exact, add], i) => {
            const f = asFields(p);
            const match = exact ? exactOn(f) : matchOn({ inPort: f.inPort, tpDst: f.tpDst });
            for (const t of [single, batched]) {
              if (add) t.add(rule(match, { priority: f.inPort, cookie: BigInt(i) }));
              else t.delete({ match, tables: "both", strict: true, priority: f.inPort });
            }
          });
          if (emergency) {
            single.setEmergencyMode(true);
            batched.setEmergencyMode(true);
          }
          const keys = packets.map((p) => keyOf(asFields(p), new FlowKey()));
          const out = new Array<FlowEntry<Ports> | undefined>(keys.length).fill(undefined);
          batched.lookupBatch(keys, keys.length, out);
          const want = keys.map((k) => single.lookup(k));
          expect(out.map((e) => e?.cookie)).toEqual(want.map((e) => e?.cookie));
          // The batched table's own entries, not just equal ones:
          keys.forEach((k, i) => expect(out[i]).toBe(batched.lookup(k)));
          const counts = (t: FlowTable<Ports>): [number, number] => [t.lookupCount, t.matchedCount];
          expect(counts(batched)).toEqual(counts(single).map((n) => n * 2));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("FlowTable.lookupBatch on a table large enough for the batched passes", () => {
  it("agrees with lookup for hits, misses and wildcard fallbacks", () => {
    const n = BATCH_MIN_SIZE + 4000;
    const single = new FlowTable<Ports>({ clock: () => 0 });
    const fields = (i: number): PacketFields => ({
      inPort: 1 + (i % 7),
      dlVlan: VLAN_NONE,
      dlType: 0x0800,
      nwProto: 6,
      nwSrc: 0x0a000000 + i,
      nwDst: 0x0a800000 + ((i * 7919) % 65521),
      tpSrc: i & 0xffff,
      tpDst: 80,
    });
    for (let i = 0; i < n; i++) single.add(rule(exactOn(fields(i))));
    // Packets on port 3 that miss the exact table hit this wildcard entry.
    single.add(rule(matchOn({ inPort: 3 }), { priority: 5 }));
    expect(single.activeCount).toBe(n + 1);
    const keys = Array.from({ length: 3000 }, (_, j) => {
      const i = (j * 104729) % (2 * n); // half installed, half not
      return keyOf(fields(i), new FlowKey());
    });
    const out = new Array<FlowEntry<Ports> | undefined>(256).fill(undefined);
    const kinds = { exact: 0, wildcard: 0, miss: 0 };
    for (let from = 0; from < keys.length; from += 256) {
      const chunk = keys.slice(from, from + 256);
      single.lookupBatch(chunk, chunk.length, out);
      chunk.forEach((k, i) => {
        expect(out[i]).toBe(single.lookup(k));
        kinds[out[i] === undefined ? "miss" : out[i]?.exact ? "exact" : "wildcard"]++;
      });
    }
    expect(Math.min(kinds.exact, kinds.wildcard, kinds.miss)).toBeGreaterThan(100);
    expect([single.lookupCount, single.matchedCount]).toEqual([
      6000,
      2 * (kinds.exact + kinds.wildcard),
    ]);
  });
});
