// The hash table and the expiry heap against brute-force models, on sizes large enough to make
// the table grow, shrink and shift probe runs back on deletion.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FlowTable, type RemovalReason } from "../../src/flowtable/flow-table.js";
import { WordHashTable } from "../../src/flowtable/word-hash.js";
import { keyOf, ManualClock, matchOn, rule, type Ports } from "./helpers.js";

const ALL_ONES = new Int32Array(9).fill(-1);

describe("WordHashTable", () => {
  it("agrees with a Map on random insert/delete sequences, across growth and shrinking", () => {
    // Keys from a small space so that deletes hit and probe runs collide; with the smaller
    // space the table stays at 16-32 slots, so runs often wrap around its end.
    const opsArb = fc
      .constantFrom(6, 400)
      .chain((space) =>
        fc.array(
          fc.tuple(
            fc.constantFrom("set", "set", "delete"),
            fc.tuple(fc.nat(space), fc.constantFrom(0, -1, 0x7fffffff)),
          ),
          { minLength: 50, maxLength: 1500 },
        ),
      );
    fc.assert(
      fc.property(opsArb, (ops) => {
        const t = new WordHashTable<number>();
        const model = new Map<string, number>();
        const words = (k: [number, number]): Int32Array =>
          Int32Array.from([k[0], 0, 0, 0, k[1], 0, 0, 0, k[0] * 7]);
        ops.forEach(([op, k], i) => {
          const id = k.join(",");
          if (op === "set") {
            t.set(words(k), i);
            model.set(id, i);
          } else {
            expect(t.delete(words(k))).toBe(model.delete(id));
          }
        });
        expect(t.size).toBe(model.size);
        for (let n = 0; n <= 400; n += 1) {
          for (const hi of [0, -1, 0x7fffffff]) {
            const k: [number, number] = [n, hi];
            expect(t.find(words(k), ALL_ONES)).toBe(model.get(k.join(",")));
          }
        }
        expect([...t.values()].sort((a, b) => a - b)).toEqual(
          [...model.values()].sort((a, b) => a - b),
        );
      }),
      { numRuns: 80 },
    );
  });
});

describe("expiry", () => {
  type Step =
    | { kind: "add"; port: number; idle: number; hard: number }
    | { kind: "hit"; port: number }
    | { kind: "delete"; port: number }
    | { kind: "advance"; ms: number };
  const port = fc.integer({ min: 1, max: 20 });
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant("add" as const),
      port,
      idle: fc.constantFrom(0, 1, 2, 3),
      hard: fc.constantFrom(0, 2, 5),
    }),
    fc.record({ kind: fc.constant("hit" as const), port }),
    fc.record({ kind: fc.constant("delete" as const), port }),
    // Steps of 250 ms land exactly on deadlines; odd ones fall between them.
    fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(
        fc.integer({ min: 1, max: 6 }).map((n) => n * 250),
        fc.integer({ min: 1, max: 999 }),
      ),
    }),
  );

  it("removes exactly the entries whose idle or hard deadline has passed, with the right reason", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 40, maxLength: 150 }), (steps) => {
        const clock = new ManualClock();
        const t = new FlowTable<Ports>({ clock: clock.read });
        const model = new Map<
          number,
          { created: number; used: number; idle: number; hard: number }
        >();
        for (const s of steps) {
          if (s.kind === "add") {
            t.add(
              rule(matchOn({ inPort: s.port }), {
                idleTimeout: s.idle,
                hardTimeout: s.hard,
                cookie: BigInt(s.port),
              }),
            );
            model.set(s.port, { created: clock.ms, used: clock.ms, idle: s.idle, hard: s.hard });
          } else if (s.kind === "hit") {
            t.tick();
            const e = t.lookup(keyOf({ inPort: s.port }));
            if (e !== undefined) t.recordHit(e, 1);
            const m = model.get(s.port);
            if (m) m.used = clock.ms;
            expect(e !== undefined).toBe(m !== undefined);
          } else if (s.kind === "delete") {
            t.delete({ match: matchOn({ inPort: s.port }), tables: "normal" });
            model.delete(s.port);
          } else {
            clock.advance(s.ms);
          }
          const want: [number, RemovalReason][] = [];
          for (const [p, m] of model) {
            if (m.hard > 0 && clock.ms >= m.created + m.hard * 1000) want.push([p, "hard-timeout"]);
            else if (m.idle > 0 && clock.ms >= m.used + m.idle * 1000)
              want.push([p, "idle-timeout"]);
          }
          for (const [p] of want) model.delete(p);
          const got = t
            .expire()
            .map((r): [number, RemovalReason] => [Number(r.entry.cookie), r.reason]);
          expect(got.sort((a, b) => a[0] - b[0])).toEqual(want.sort((a, b) => a[0] - b[0]));
          expect(t.activeCount).toBe(model.size);
        }
      }),
      { numRuns: 200 },
    );
  });
});
