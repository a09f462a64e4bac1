// The flow table against a reference model on random rule sets, random operation sequences and
// random packets. The model keeps rules as per-field requirements (a value per specified field,
// prefix lengths for the addresses), scans a plain list in precedence order (exact first, then
// priority, then age) and reads packets through FlowKey's getters: it shares no word layout,
// masking, hashing or search order with src/flowtable. Value domains are tiny so that rules
// overlap, tie and hit. (The OF1.0 FLOW_MOD semantics on top are cross-checked in
// test/switch/flow-mod.property.test.ts.)
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FlowEntry } from "../../src/flowtable/flow-entry.js";
import { FlowTable, type TableChoice } from "../../src/flowtable/flow-table.js";
import { FlowKey, VLAN_NONE } from "../../src/packet/flow-key.js";
import {
  exactOn,
  ip,
  keyOf,
  matchOn,
  outputsTo,
  rule,
  type PacketFields,
  type Ports,
  type RuleFields,
} from "./helpers.js";

type Field = keyof PacketFields;
const FIELDS: Field[] = [
  "inPort",
  "dlSrc",
  "dlDst",
  "dlVlan",
  "dlVlanPcp",
  "dlType",
  "nwTos",
  "nwProto",
  "nwSrc",
  "nwDst",
  "tpSrc",
  "tpDst",
];

const DOMAIN: { [F in Field]-?: fc.Arbitrary<NonNullable<PacketFields[F]>> } = {
  inPort: fc.integer({ min: 1, max: 3 }),
  dlSrc: fc.constantFrom("00:00:00:00:00:01", "00:00:00:00:00:02"),
  dlDst: fc.constantFrom("00:00:00:00:00:01", "0a:00:00:00:00:01"),
  dlVlan: fc.constantFrom(VLAN_NONE, 1, 2),
  dlVlanPcp: fc.constantFrom(0, 3),
  dlType: fc.constantFrom(0x0800, 0x0806),
  nwTos: fc.constantFrom(0, 0x20, 0x21),
  nwProto: fc.constantFrom(6, 17),
  nwSrc: fc.constantFrom(...["10.0.0.1", "10.0.0.2", "10.0.1.1", "192.168.0.1"].map(ip)),
  nwDst: fc.constantFrom(...["10.0.0.1", "10.0.1.2"].map(ip)),
  tpSrc: fc.constantFrom(0, 80),
  tpDst: fc.constantFrom(22, 80),
};

type Packet = Required<PacketFields>;
const packetArb: fc.Arbitrary<Packet> = fc.record(DOMAIN) as fc.Arbitrary<Packet>;

/** A rule's requirements: some fields (all of them for an exact rule), address prefixes. */
interface Spec {
  fields: RuleFields;
  exact: boolean;
}

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    exact: fc.nat(4).map((n) => n === 0),
    chosen: fc.array(fc.boolean(), { minLength: FIELDS.length, maxLength: FIELDS.length }),
    values: packetArb,
    nwSrcLen: fc.constantFrom(8, 24, 32),
    nwDstLen: fc.constantFrom(0, 16, 32),
  })
  .map(({ exact, chosen, values, nwSrcLen, nwDstLen }) => {
    if (exact) return { fields: { ...values }, exact: true };
    const fields: RuleFields = {};
    FIELDS.forEach((f, i) => {
      if (chosen[i]) (fields as Record<Field, unknown>)[f] = values[f];
    });
    if (fields.nwSrc !== undefined) fields.nwSrcLen = nwSrcLen;
    if (fields.nwDst !== undefined) fields.nwDstLen = nwDstLen;
    // Every field, whole: that is the exact mask.
    const whole = chosen.every(Boolean) && nwSrcLen === 32 && nwDstLen === 32;
    return { fields, exact: whole };
  });

const matchOfSpec = (s: Spec) => (s.exact ? exactOn(s.fields) : matchOn(s.fields));

// ---- the model ----

const lenOf = (s: Spec, f: "nwSrc" | "nwDst"): number =>
  s.exact ? 32 : ((f === "nwSrc" ? s.fields.nwSrcLen : s.fields.nwDstLen) ?? 32);
const top = (addr: number, len: number): number => (len === 0 ? 0 : (addr >>> (32 - len)) >>> 0);

/** The field's value as the key holds what the rule can match: the DSCP bits of nw_tos. */
function norm(f: Field, v: unknown): unknown {
  return f === "nwTos" ? (v as number) & 0xfc : v;
}

/** Does `p` (read back from a FlowKey) meet the requirement of `s` on field `f`? */
function meets(s: Spec, f: Field, p: Packet): boolean {
  const want = s.fields[f];
  if (want === undefined) return true;
  if (f === "nwSrc" || f === "nwDst") {
    const len = lenOf(s, f);
    return top(p[f], len) === top(want as number, len);
  }
  return norm(f, p[f]) === norm(f, want);
}

/** Every packet `e` matches, `req` matches too. */
function specCovers(req: Spec, e: Spec): boolean {
  return FIELDS.every((f) => {
    const r = req.fields[f];
    if (r === undefined) return true;
    const v = e.fields[f];
    if (f === "nwSrc" || f === "nwDst") {
      const len = lenOf(req, f);
      if (len === 0) return true;
      if (v === undefined) return false;
      return lenOf(e, f) >= len && top(v as number, len) === top(r as number, len);
    }
    if (v === undefined) return false;
    return norm(f, v) === norm(f, r);
  });
}

/** Some packet meets both. */
function specsOverlap(a: Spec, b: Spec): boolean {
  return FIELDS.every((f) => {
    const x = a.fields[f];
    const y = b.fields[f];
    if (x === undefined || y === undefined) return true;
    if (f === "nwSrc" || f === "nwDst") {
      const len = Math.min(lenOf(a, f), lenOf(b, f));
      return top(x as number, len) === top(y as number, len);
    }
    return norm(f, x) === norm(f, y);
  });
}

function sameSpec(a: Spec, b: Spec): boolean {
  return specCovers(a, b) && specCovers(b, a);
}

interface ModelEntry {
  spec: Spec;
  priority: number;
  cookie: bigint;
  actions: Ports;
  emergency: boolean;
  seq: number;
}

const precedence = (a: ModelEntry, b: ModelEntry): number =>
  Number(b.spec.exact) - Number(a.spec.exact) || b.priority - a.priority || a.seq - b.seq;

interface Select {
  spec: Spec;
  tables: TableChoice;
  strict: boolean;
  priority: number;
  port?: number;
}

class Model {
  entries: ModelEntry[] = [];
  emergencyMode = false;
  private seq = 0;

  constructor(private readonly maxEntries: number) {}

  lookup(p: Packet): ModelEntry | undefined {
    return this.entries
      .filter((e) => e.emergency === this.emergencyMode)
      .filter((e) => FIELDS.every((f) => meets(e.spec, f, p)))
      .sort(precedence)[0];
  }

  select(s: Select): ModelEntry[] {
    const inTable = (emergency: boolean): ModelEntry[] =>
      this.entries
        .filter((e) => e.emergency === emergency)
        .filter((e) =>
          s.strict
            ? sameSpec(e.spec, s.spec) && (e.spec.exact || e.priority === s.priority)
            : specCovers(s.spec, e.spec),
        )
        .filter((e) => s.port === undefined || e.actions.includes(s.port))
        .sort(precedence);
    return [
      ...(s.tables !== "emergency" ? inTable(false) : []),
      ...(s.tables !== "normal" ? inTable(true) : []),
    ];
  }

  /** The new entry, or why it was refused. */
  add(e: Omit<ModelEntry, "seq">, checkOverlap: boolean): ModelEntry | string {
    const table = this.entries.filter((x) => x.emergency === e.emergency);
    // Two exact entries overlap when identical (exact identity ignores priority); otherwise an
    // entry overlaps one of its priority that shares a packet with it, exact ones included.
    const overlapping = (x: { spec: Spec; priority: number }): boolean =>
      x.spec.exact && e.spec.exact
        ? sameSpec(x.spec, e.spec)
        : x.priority === e.priority && specsOverlap(x.spec, e.spec);
    if (checkOverlap && table.some(overlapping)) return "overlap";
    const old = table.find(
      (x) => sameSpec(x.spec, e.spec) && (e.spec.exact || x.priority === e.priority),
    );
    if (old) this.entries = this.entries.filter((x) => x !== old);
    else if (table.length >= this.maxEntries) return "table-full";
    const added = { ...e, seq: this.seq++ };
    this.entries.push(added);
    return added;
  }

  remove(gone: ModelEntry[]): void {
    this.entries = this.entries.filter((e) => !gone.includes(e));
  }
}

// ---- operations ----

type Op =
  | {
      kind: "add";
      spec: Spec;
      priority: number;
      ports: number[];
      emergency: boolean;
      check: boolean;
    }
  | { kind: "modify"; sel: Select; ports: number[] }
  | { kind: "delete"; sel: Select }
  | { kind: "emergency"; on: boolean };

const priorityArb = fc.constantFrom(1, 2, 0x8000);
const portsArb = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 });
const selectArb = (tables: fc.Arbitrary<TableChoice>): fc.Arbitrary<Select> =>
  fc.record({
    spec: specArb,
    tables,
    strict: fc.boolean(),
    priority: priorityArb,
    port: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 2 }),
  });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      spec: specArb,
      priority: priorityArb,
      ports: portsArb,
      emergency: fc.nat(6).map((n) => n === 0),
      check: fc.nat(3).map((n) => n === 0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("modify" as const),
      sel: selectArb(fc.constantFrom("normal" as const, "emergency" as const)),
      ports: portsArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("delete" as const),
      sel: selectArb(fc.constantFrom("normal" as const, "emergency" as const, "both" as const)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("emergency" as const), on: fc.boolean() }),
  },
);

/** Modify and delete mostly aim at an earlier rule's spec and priority, so that they select. */
function aimed(ops: [Op, number | null][]): Op[] {
  return ops.map(([op, reuse], i) => {
    if (reuse === null || (op.kind !== "modify" && op.kind !== "delete")) return op;
    const adds = ops.slice(0, i).flatMap(([o]) => (o.kind === "add" ? [o] : []));
    if (adds.length === 0) return op;
    const target = adds[reuse % adds.length];
    return { ...op, sel: { ...op.sel, spec: target.spec, priority: target.priority } };
  });
}

const packetFor = (s: Spec, base: Packet): Packet => ({ ...base, ...s.fields }) as Packet;

const key = new FlowKey();

describe("the flow table agrees with the reference model", () => {
  it("on random add / modify / delete (strict or loose, filtered, either table) / emergency sequences", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(opArb, fc.option(fc.nat(), { freq: 3 })), {
          minLength: 5,
          maxLength: 40,
        }),
        fc.array(packetArb, { minLength: 1, maxLength: 20 }),
        selectArb(fc.constantFrom("normal" as const, "emergency" as const, "both" as const)),
        (raw, randomPackets, request) => {
          const t = new FlowTable<Ports>({ clock: () => 0, maxEntries: 6 });
          const model = new Model(6);
          /** The model's entry for each of the table's. */
          const twin = new Map<FlowEntry<Ports>, ModelEntry>();
          const ops = aimed(raw);
          const packets = [
            ...randomPackets,
            ...ops.flatMap((o) => (o.kind === "add" ? [packetFor(o.spec, randomPackets[0])] : [])),
          ];
          ops.forEach((op, i) => {
            const cookie = BigInt(i);
            const where = (s: Select) => (s.port === undefined ? undefined : outputsTo(s.port));
            const selector = (s: Select) => ({
              match: matchOfSpec(s.spec),
              tables: s.tables,
              strict: s.strict,
              priority: s.priority,
            });
            if (op.kind === "add") {
              const got = t.add(
                rule(matchOfSpec(op.spec), {
                  priority: op.priority,
                  cookie,
                  actions: op.ports,
                  emergency: op.emergency,
                  checkOverlap: op.check,
                }),
              );
              const want = model.add(
                {
                  spec: op.spec,
                  priority: op.priority,
                  cookie,
                  actions: op.ports,
                  emergency: op.emergency,
                },
                op.check,
              );
              expect({ i, error: got.error }).toEqual({
                i,
                error: typeof want === "string" ? want : undefined,
              });
              if (got.entry !== undefined && typeof want !== "string") twin.set(got.entry, want);
            } else if (op.kind === "modify") {
              const got = t.modify(selector(op.sel), op.ports, cookie);
              const want = model.select({ ...op.sel, port: undefined });
              expect({ i, modified: got.map((e) => twin.get(e)) }).toEqual({ i, modified: want });
              for (const e of want) {
                e.actions = op.ports;
                e.cookie = cookie;
              }
            } else if (op.kind === "delete") {
              const got = t.delete({ ...selector(op.sel), where: where(op.sel) });
              const want = model.select(op.sel);
              expect({ i, deleted: got.map((r) => twin.get(r.entry)) }).toEqual({
                i,
                deleted: want,
              });
              model.remove(want);
            } else {
              const removed = t.setEmergencyMode(op.on);
              let gone: ModelEntry[] = [];
              if (op.on && !model.emergencyMode) {
                gone = model.entries.filter((e) => !e.emergency).sort(precedence);
                model.remove(gone);
              }
              model.emergencyMode = op.on;
              expect(removed.map((r) => twin.get(r.entry))).toEqual(gone);
            }
            // After every operation: the exact-match cache must forget answers it changed.
            for (const p of packets) {
              const got = t.lookup(keyOf(p, key));
              expect({ i, p, entry: got && twin.get(got) }).toEqual({
                i,
                p,
                entry: model.lookup(p),
              });
            }
          });
          const sel = { ...request, strict: false };
          expect(
            t
              .select({
                match: matchOfSpec(sel.spec),
                tables: sel.tables,
                where: sel.port === undefined ? undefined : outputsTo(sel.port),
              })
              .map((e) => twin.get(e)),
          ).toEqual(model.select(sel));
          expect([t.activeCount, t.emergencyCount]).toEqual([
            model.entries.filter((e) => !e.emergency).length,
            model.entries.filter((e) => e.emergency).length,
          ]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
