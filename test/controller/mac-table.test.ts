// MacTable against the structure it replaced (a Map in insertion order, re-inserting a MAC that
// moved and evicting the first key when full): random learn/lookup sequences over a small key
// space, so that hits, moves, evictions, reuse of freed entries and growth all happen.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MacTable } from "../../src/controller/apps/mac-table.js";

class ReferenceTable {
  readonly map = new Map<number, number>();
  constructor(readonly capacity: number) {}
  learn(mac: number, port: number): void {
    if (this.map.get(mac) === port) return;
    this.map.delete(mac);
    if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value as number);
    this.map.set(mac, port);
  }
  lookup(mac: number): number {
    return this.map.get(mac) ?? -1;
  }
}

const split = (mac: number): [number, number] => [Math.floor(mac / 2 ** 32), mac % 2 ** 32];

describe("MacTable", () => {
  it("matches a Map in learning order, through moves, evictions and growth", () => {
    // MACs differ in their top 16 bits, their low 32, or both.
    const mac = fc
      .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 700 }))
      .map(([hi, lo]) => hi * 0x1_0000_0000 + ((lo * 0x9e3779b1) >>> 0));
    const op = fc.tuple(fc.boolean(), mac, fc.integer({ min: 1, max: 4 }));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1500 }),
        fc.array(op, { maxLength: 3000 }),
        (cap, ops) => {
          const t = new MacTable(cap);
          const ref = new ReferenceTable(cap);
          for (const [learn, m, port] of ops) {
            const [hi, lo] = split(m);
            if (learn) {
              t.learn(hi, lo, port);
              ref.learn(m, port);
            } else {
              expect(t.lookup(hi, lo)).toBe(ref.lookup(m));
            }
          }
          expect(t.size).toBe(ref.map.size);
          for (const [m, port] of ref.map) expect(t.lookup(...split(m))).toBe(port);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("forgets the least recently learned MAC first", () => {
    const t = new MacTable(2);
    t.learn(0, 1, 1);
    t.learn(0, 2, 2);
    t.learn(0, 1, 3); // moved: now the newest
    t.learn(0, 3, 4); // full: 2 goes
    expect([t.lookup(0, 1), t.lookup(0, 2), t.lookup(0, 3)]).toEqual([3, -1, 4]);
  });

  it("holds 65,536 MACs", () => {
    const t = new MacTable(65536);
    for (let i = 0; i < 65536; i++) t.learn(i & 0xffff, i * 7919, (i % 48) + 1);
    expect(t.size).toBe(65536);
    for (let i = 0; i < 65536; i += 97) expect(t.lookup(i & 0xffff, i * 7919)).toBe((i % 48) + 1);
    t.learn(1, 1, 1);
    expect(t.lookup(0, 0)).toBe(-1);
  });

  it("rejects a capacity that is not a positive integer", () => {
    expect(() => new MacTable(0)).toThrow(RangeError);
    expect(() => new MacTable(1.5)).toThrow(RangeError);
  });
});
