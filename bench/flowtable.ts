// Flow table benchmark: lookups/s for exact and wildcard tables, FLOW_MOD ADDs/s, memory per
// entry; single and batched (lookupBatch) lookups. Tables are filled with OF1.0 FLOW_MODs
// through the switch's translation (src/switch/flow-mod.ts), as the daemon fills them. Run
// after `npx tsc -p .` as `node --expose-gc dist/bench/flowtable.js [--quick]`.
import {
  OFP_NO_BUFFER,
  OFP_VLAN_NONE,
  OFPAT,
  OFPFC,
  OFPFW,
  OFPP,
} from "../src/openflow/of10/constants.js";
import type { FlowMod, Match } from "../src/openflow/of10/types.js";
import { FLOW_KEY_WORDS, FlowKey } from "../src/packet/flow-key.js";
import { FlowTable } from "../src/flowtable/flow-table.js";
import {
  applyFlowMod,
  type OfActions,
  type OfFlowEntry,
  type OfFlowTable,
} from "../src/switch/flow-mod.js";

const quick = process.argv.includes("--quick");
const LOOKUPS = quick ? 500_000 : 3_000_000;
const ROUNDS = 3;

/** xorshift32: reproducible keys. */
let seed = 0x9e3779b9;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}
const below = (n: number): number => rnd() % n;

const hex = (b: number): string => b.toString(16).padStart(2, "0");
const mac = (hi: number, lo: number): string =>
  [hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255, lo >>> 8, lo & 255].map(hex).join(":");

/** A random TCP/IPv4 packet's fields, as the datapath would key it. */
function randomPacket(): Omit<Match, "wildcards"> {
  return {
    inPort: 1 + below(48),
    dlSrc: mac(rnd(), below(65536)),
    dlDst: mac(rnd(), below(65536)),
    dlVlan: OFP_VLAN_NONE,
    dlVlanPcp: 0,
    dlType: 0x0800,
    nwTos: 0,
    nwProto: 6,
    nwSrc: rnd(),
    nwDst: rnd(),
    tpSrc: below(65536),
    tpDst: below(65536),
  };
}

function writeKey(p: Omit<Match, "wildcards">, out: Uint32Array, off: number): void {
  const k = new FlowKey();
  k.inPort = p.inPort;
  k.dlVlan = p.dlVlan;
  const bytes = (m: string): Uint8Array =>
    Uint8Array.from(m.split(":").map((x) => parseInt(x, 16)));
  k.setDlSrcFrom(bytes(p.dlSrc), 0);
  k.setDlDstFrom(bytes(p.dlDst), 0);
  k.dlType = p.dlType;
  k.dlVlanPcp = p.dlVlanPcp;
  k.nwTos = p.nwTos;
  k.nwProto = p.nwProto;
  k.nwSrc = p.nwSrc;
  k.nwDst = p.nwDst;
  k.tpSrc = p.tpSrc;
  k.tpDst = p.tpDst;
  out.set(k.words, off);
}

function add(match: Match, priority: number): FlowMod {
  return {
    match,
    cookie: 0n,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: 0,
    actions: [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }],
  };
}

/** CPU time of this process in ns: the machine is shared, so wall time overstates cost. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

interface Rate {
  perSec: number;
  ns: number;
  wallNs: number;
  hits: number;
}

/** Best of ROUNDS runs of `round` (which does `total` lookups and returns its hit count). */
function bestOf(total: number, round: () => number): Rate {
  let best = Infinity;
  let bestWall = Infinity;
  let hits = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = cpuNs();
    const t0 = process.hrtime.bigint();
    hits = round();
    bestWall = Math.min(bestWall, Number(process.hrtime.bigint() - t0));
    best = Math.min(best, cpuNs() - c0);
  }
  return {
    perSec: total / (best / 1e9),
    ns: best / total,
    wallNs: bestWall / total,
    hits: hits / total,
  };
}

/**
 * Lookups over `keys` (flat, nine words each) in order. With `withHit`, also recordHit on each
 * hit (as the datapath does before reading the entry's actions).
 */
function measureLookups(t: OfFlowTable, keys: Uint32Array, withHit = false): Rate {
  const key = new FlowKey();
  const w = key.words;
  return bestOf(LOOKUPS, () => {
    let hits = 0;
    for (let i = 0, off = 0; i < LOOKUPS; i++, off += FLOW_KEY_WORDS) {
      if (off === keys.length) off = 0;
      for (let j = 0; j < FLOW_KEY_WORDS; j++) w[j] = keys[off + j];
      const e = t.lookup(key);
      if (e !== undefined) {
        if (withHit) t.recordHit(e, 64);
        hits++;
      }
    }
    return hits;
  });
}

const BATCH_SIZES = [16, 32, 64, 256];

/** As measureLookups, through lookupBatch: keys copied into `batch` preallocated FlowKeys. */
function measureBatched(t: OfFlowTable, keys: Uint32Array, batch: number, withHit = false): Rate {
  const batchKeys = Array.from({ length: batch }, () => new FlowKey());
  const out = new Array<OfFlowEntry | undefined>(batch).fill(undefined);
  const total = Math.floor(LOOKUPS / batch) * batch;
  return bestOf(total, () => {
    let hits = 0;
    for (let done = 0, off = 0; done < total; done += batch) {
      for (let b = 0; b < batch; b++, off += FLOW_KEY_WORDS) {
        if (off === keys.length) off = 0;
        const w = batchKeys[b].words;
        for (let j = 0; j < FLOW_KEY_WORDS; j++) w[j] = keys[off + j];
      }
      t.lookupBatch(batchKeys, batch, out);
      for (let b = 0; b < batch; b++) {
        const e = out[b];
        if (e !== undefined) {
          if (withHit) t.recordHit(e, 64);
          hits++;
        }
      }
    }
    return hits;
  });
}

const fmt = (x: number): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`;
const results: string[] = [];
function report(name: string, r: Rate): void {
  const line = `${name.padEnd(44)} ${fmt(r.perSec).padStart(7)} lookups/s  ${r.ns.toFixed(0).padStart(5)} ns CPU (${r.wallNs.toFixed(0)} wall)  hit ${(r.hits * 100).toFixed(0)}%`;
  results.push(line);
  console.log(line);
}

/** Installs n random exact TCP entries; returns the keys of installed packets and of misses. */
function exactTable(
  n: number,
  t = new FlowTable<OfActions>({ maxEntries: 2_000_000, cacheSlots: 0 }),
) {
  const sampleCount = Math.min(n, 1 << 20);
  const installed = new Uint32Array(n * FLOW_KEY_WORDS);
  for (let i = 0; i < n; i++) {
    const p = randomPacket();
    writeKey(p, installed, i * FLOW_KEY_WORDS);
    applyFlowMod(t, add({ ...p, wildcards: 0 }, 0x8000));
    if (i > 0 && i % 250_000 === 0) console.log(`  ... ${i} entries added`);
  }
  // Lookups hit installed keys in random order, so a big table cannot stay in cache.
  const hitKeys = new Uint32Array(sampleCount * FLOW_KEY_WORDS);
  for (let i = 0; i < sampleCount; i++) {
    const src = below(n) * FLOW_KEY_WORDS;
    hitKeys.set(installed.subarray(src, src + FLOW_KEY_WORDS), i * FLOW_KEY_WORDS);
  }
  const missKeys = new Uint32Array(65536 * FLOW_KEY_WORDS);
  for (let i = 0; i < 65536; i++) writeKey(randomPacket(), missKeys, i * FLOW_KEY_WORDS);
  return { t, hitKeys, missKeys };
}

/** `rules` wildcard rules spread over `maskCount` distinct masks, values from small domains. */
function wildcardRules(t: OfFlowTable, rules: number, maskCount: number): void {
  const optional = [
    OFPFW.IN_PORT,
    OFPFW.DL_SRC,
    OFPFW.DL_DST,
    OFPFW.NW_PROTO,
    OFPFW.TP_SRC,
    OFPFW.TP_DST,
    OFPFW.NW_TOS,
  ];
  const masks = new Set<number>();
  while (masks.size < maskCount) {
    let wc = OFPFW.ALL & ~OFPFW.DL_TYPE & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK);
    for (const bit of optional) if (below(2) === 0) wc &= ~bit;
    wc &= ~OFPFW.NW_PROTO; // keep tp_* applicable
    const src = [0, 8, 16, 24, 32][below(5)];
    const dst = [0, 8, 16, 24, 32][below(5)];
    masks.add(wc | (src << OFPFW.NW_SRC_SHIFT) | (dst << OFPFW.NW_DST_SHIFT));
  }
  const maskList = [...masks];
  for (let i = 0; i < rules; i++) {
    const p = randomPacket();
    p.inPort = 1 + below(4);
    p.tpDst = [22, 80, 443, 8080][below(4)];
    p.nwSrc = (0x0a000000 | below(1 << 16)) >>> 0;
    applyFlowMod(t, add({ ...p, wildcards: maskList[i % maskCount] }, 1 + below(1000)));
  }
}

function heapNow(): number {
  global.gc?.();
  global.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function main(): void {
  if (global.gc === undefined) console.log("(run with --expose-gc for memory figures)");
  console.log(
    `flowtable bench: ${LOOKUPS} lookups per round, best of ${ROUNDS}${quick ? " (quick)" : ""}`,
  );
  const only = process.argv.find((a) => a.startsWith("--sizes="));
  const sizes = only
    ? only.slice(8).split(",").map(Number)
    : quick
      ? [10, 1_000, 100_000]
      : [10, 1_000, 100_000, 1_000_000];
  const exactOnly = only !== undefined;
  /** ns per installed-key lookup by table size: "single" and "batch N". */
  const nsAt: Record<string, Record<number, number>> = {};
  const note = (kind: string, n: number, r: Rate): void => {
    (nsAt[kind] ??= {})[n] = r.ns;
  };
  for (const n of sizes) {
    console.log(`exact table: installing ${n} entries`);
    const before = heapNow();
    const { t, hitKeys, missKeys } = exactTable(n);
    const after = heapNow();
    if (global.gc) {
      const line = `memory, ${n} exact entries: ${((after - before) / n).toFixed(0)} bytes/entry (incl. test keys ${(((hitKeys.length + missKeys.length) * 4 + n * 36) / n) | 0} B)`;
      results.push(line);
      console.log(line);
    }
    const hit = measureLookups(t, hitKeys);
    note("single", n, hit);
    report(`exact ${n}: installed keys`, hit);
    report(`exact ${n}: installed keys + recordHit`, measureLookups(t, hitKeys, true));
    report(`exact ${n}: misses`, measureLookups(t, missKeys));
    for (const b of BATCH_SIZES) {
      const r = measureBatched(t, hitKeys, b);
      note(`batch ${b}`, n, r);
      report(`exact ${n}: installed keys, batch ${b}`, r);
    }
    report(
      `exact ${n}: installed keys + recordHit, batch 64`,
      measureBatched(t, hitKeys, 64, true),
    );
    report(`exact ${n}: misses, batch 64`, measureBatched(t, missKeys, 64));
  }
  for (const maskCount of exactOnly ? [] : [1, 8, 32]) {
    console.log(`wildcard: 1000 rules over ${maskCount} masks`);
    const t = new FlowTable<OfActions>({ cacheSlots: 0 });
    wildcardRules(t, 1000, maskCount);
    const keys = new Uint32Array(65536 * FLOW_KEY_WORDS);
    for (let i = 0; i < 65536; i++) {
      const p = randomPacket();
      p.inPort = 1 + below(4);
      p.tpDst = [22, 80, 443, 8080][below(4)];
      p.nwSrc = (0x0a000000 | below(1 << 16)) >>> 0;
      writeKey(p, keys, i * FLOW_KEY_WORDS);
    }
    report(`wildcard 1000 rules / ${maskCount} masks`, measureLookups(t, keys));
  }
  if (!exactOnly) {
    console.log("combined: 100000 exact + 1000 wildcard (8 masks)");
    const { t, hitKeys, missKeys } = exactTable(100_000);
    wildcardRules(t, 1000, 8);
    report("combined: exact hits", measureLookups(t, hitKeys));
    report("combined: exact hits + recordHit", measureLookups(t, hitKeys, true));
    report("combined: exact misses (wildcard search)", measureLookups(t, missKeys));
    report("combined: exact hits, batch 64", measureBatched(t, hitKeys, 64));
    report("combined: exact hits + recordHit, batch 64", measureBatched(t, hitKeys, 64, true));
    // The same table behind the exact-match cache (FlowTable's default): uniform random keys
    // over all 100,000 entries defeat any cache; real traffic repeats a working set of flows.
    console.log("combined, with the exact-match cache (8192 slots)");
    const c = exactTable(100_000, new FlowTable<OfActions>({ maxEntries: 2_000_000 }));
    wildcardRules(c.t, 1000, 8);
    report("combined + cache: exact hits, uniform over 100k", measureLookups(c.t, c.hitKeys));
    const hot = (keys: Uint32Array, flows: number): Uint32Array => {
      const out = new Uint32Array(keys.length);
      for (let i = 0; i < keys.length / FLOW_KEY_WORDS; i++) {
        const from = (i % flows) * FLOW_KEY_WORDS;
        out.set(keys.subarray(from, from + FLOW_KEY_WORDS), i * FLOW_KEY_WORDS);
      }
      return out;
    };
    report(
      "combined + cache: 1,000 active flows, exact hits + recordHit",
      measureLookups(c.t, hot(c.hitKeys, 1000), true),
    );
    report(
      "combined + cache: 1,000 active flows, table misses (full wildcard search)",
      measureLookups(c.t, hot(c.missKeys, 1000)),
    );
    report(
      "combined, no cache: 1,000 active flows, table misses (full wildcard search)",
      measureLookups(t, hot(missKeys, 1000)),
    );
  }
  if (!exactOnly) {
    const n = quick ? 50_000 : 200_000;
    const mods: FlowMod[] = [];
    for (let i = 0; i < n; i++) mods.push(add({ ...randomPacket(), wildcards: 0 }, 0x8000));
    const wmods: FlowMod[] = [];
    for (let i = 0; i < n; i++) {
      const p = randomPacket();
      wmods.push(
        add(
          { ...p, wildcards: OFPFW.ALL & ~(OFPFW.IN_PORT | OFPFW.DL_TYPE | OFPFW.NW_SRC_MASK) },
          1 + below(100),
        ),
      );
    }
    for (const [name, list] of [
      ["exact", mods],
      ["wildcard (one mask)", wmods],
    ] as const) {
      const t = new FlowTable<OfActions>({ maxEntries: 2_000_000 });
      // Earlier sections' garbage is collected now, not on this section's time.
      global.gc?.();
      const c0 = cpuNs();
      const t0 = process.hrtime.bigint();
      for (const fm of list) applyFlowMod(t, fm);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = (cpuNs() - c0) / 1e9;
      const line = `flow_mod ADD, ${name}: ${fmt(list.length / cpu)} per CPU-second (${fmt(list.length / wall)}/s wall, ${list.length} adds)`;
      results.push(line);
      console.log(line);
    }
  }
  for (const [kind, at] of Object.entries(nsAt)) {
    if (at[1_000_000] === undefined || at[1_000] === undefined) continue;
    const line = `ratio lookup time 1,000,000 / 1,000 exact entries, ${kind}: ${(at[1_000_000] / at[1_000]).toFixed(2)} (${at[1_000].toFixed(0)} -> ${at[1_000_000].toFixed(0)} ns)`;
    results.push(line);
    console.log(line);
  }
  console.log("\nsummary:\n" + results.join("\n"));
}

main();
