// The OF1.0 flow table: FLOW_MOD commands, lookups with hit accounting, idle/hard timeouts,
// stats queries and the emergency table. Knows nothing of sockets or packets beyond FlowKey.
import { performance } from "node:perf_hooks";
import {
  OFPET,
  OFPFC,
  OFPFF,
  OFPFMFC,
  OFPFW,
  OFPP,
  OFPRR,
  OFPTT,
} from "../openflow/of10/constants.js";
import type {
  AggregateStats,
  FlowMod,
  FlowRemoved,
  FlowStats,
  Match,
  TableStats,
} from "../openflow/of10/types.js";
import { Classifier } from "./classifier.js";
import { ExpiryHeap } from "./expiry-heap.js";
import { FlowEntry } from "./flow-entry.js";
import type { FlowKey } from "../packet/flow-key.js";
import { matchToWords, type MatchWords } from "./match-words.js";
import { MicroflowCache } from "./microflow-cache.js";
import { hashWords } from "./word-hash.js";

export const DEFAULT_MAX_ENTRIES = 1_000_000;
export const TABLE_NAME = "classifier";

export interface FlowModError {
  errType: number;
  code: number;
}

/** A FLOW_REMOVED body plus whether the entry asked for it (OFPFF_SEND_FLOW_REM). */
export interface RemovedFlow extends FlowRemoved {
  sendFlowRem: boolean;
  entry: FlowEntry;
}

export interface FlowModResult {
  error?: FlowModError;
  /** Entries removed by this command that had OFPFF_SEND_FLOW_REM (reason DELETE). */
  removed: RemovedFlow[];
  /** The added entry, or the first modified one: where a buffered packet should go. */
  entry?: FlowEntry;
}

export interface FlowTableOptions {
  maxEntries?: number;
  /** Monotonic milliseconds. */
  clock?: () => number;
  /** Slots of the exact-match cache in front of the classifier (a power of two; 0: none). */
  cacheSlots?: number;
}

const flowModError = (code: number): FlowModResult => ({
  error: { errType: OFPET.FLOW_MOD_FAILED, code },
  removed: [],
});

/** Lookup precedence: exact entries, then higher priority, then older. */
export function precedence(a: FlowEntry, b: FlowEntry): number {
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  return b.priority - a.priority || a.seq - b.seq;
}

export class FlowTable {
  readonly maxEntries: number;
  /** Coarse clock (ms) that recordHit stamps entries with; refreshed by tick(). */
  now: number;
  private readonly clock: () => number;
  private readonly normal = new Classifier();
  private readonly emergency = new Classifier();
  private active: Classifier = this.normal;
  private emergencyMode = false;
  private readonly expiry = new ExpiryHeap();
  private seq = 0;
  private lookups = 0;
  private matched = 0;
  private readonly cache: MicroflowCache<FlowEntry> | undefined;
  /** The classifier and its version the cache's contents were computed from. */
  private cacheSource: Classifier = this.normal;
  private cacheVersion = 0;

  constructor(opts: FlowTableOptions = {}) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const slots = opts.cacheSlots ?? 8192;
    this.cache = slots > 0 ? new MicroflowCache<FlowEntry>(slots) : undefined;
    this.clock = opts.clock ?? (() => performance.now());
    this.now = this.clock();
  }

  /** Reads the clock into `now`. The datapath calls this once per receive batch. */
  tick(): number {
    this.now = this.clock();
    return this.now;
  }

  get activeCount(): number {
    return this.normal.size;
  }

  get emergencyCount(): number {
    return this.emergency.size;
  }

  get inEmergencyMode(): boolean {
    return this.emergencyMode;
  }

  /** The entry for a packet (emergency table only in emergency mode); counts lookups/matched. */
  lookup(key: FlowKey): FlowEntry | undefined {
    this.lookups++;
    const cls = this.active;
    const cache = this.cache;
    let e: FlowEntry | undefined;
    if (cache === undefined) {
      e = cls.lookup(key);
    } else {
      // Any insert or removal (flow_mod, expiry, emergency switch) may change any packet's
      // answer: forget everything, synchronously, so a BARRIER_REPLY means the new table.
      if (cls !== this.cacheSource || cls.version !== this.cacheVersion) {
        cache.invalidate();
        this.cacheSource = cls;
        this.cacheVersion = cls.version;
      }
      const words = key.words;
      const hash = hashWords(words);
      const slot = cache.find(words, hash);
      if (slot >= 0) {
        e = cache.value(slot);
      } else {
        e = cls.lookup(key);
        cache.offer(words, hash, e);
      }
    }
    if (e !== undefined) this.matched++;
    return e;
  }

  /**
   * The entry lookup() would return for `key`, without counting it, caching it or changing
   * anything (a packet trace asks what would happen, it does not make it happen).
   */
  find(key: FlowKey): FlowEntry | undefined {
    return this.active.lookup(key);
  }

  /** Lookups answered by the exact-match cache (for stats and benchmarks). */
  get cacheHits(): number {
    return this.cache?.hits ?? 0;
  }

  /**
   * out[i] = lookup(keys[i]) for i < count (counted the same way), overlapping the memory
   * accesses of the batch: at large table sizes much faster per key than single lookups.
   * Allocation-free; `out` must have room for `count` results.
   */
  lookupBatch(keys: readonly FlowKey[], count: number, out: (FlowEntry | undefined)[]): void {
    this.active.lookupBatch(keys, count, out);
    let hits = 0;
    for (let i = 0; i < count; i++) if (out[i] !== undefined) hits++;
    this.lookups += count;
    this.matched += hits;
  }

  recordHit(entry: FlowEntry, bytes: number): void {
    entry.packets++;
    entry.bytes += bytes;
    entry.lastUsedMs = this.now;
  }

  applyFlowMod(fm: FlowMod): FlowModResult {
    this.tick();
    switch (fm.command) {
      case OFPFC.ADD:
        return this.add(fm, matchToWords(fm.match));
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT:
        return this.modify(fm, fm.command === OFPFC.MODIFY_STRICT);
      case OFPFC.DELETE:
      case OFPFC.DELETE_STRICT:
        return this.delete(fm, fm.command === OFPFC.DELETE_STRICT);
      default:
        return flowModError(OFPFMFC.BAD_COMMAND);
    }
  }

  /** Removes entries whose idle or hard timeout has passed (all of them, flagged or not). */
  expire(): RemovedFlow[] {
    const now = this.tick();
    const out: RemovedFlow[] = [];
    for (
      let e = this.expiry.peek();
      e !== undefined && e.deadlineMs <= now;
      e = this.expiry.peek()
    ) {
      const hardAt = e.hardTimeout > 0 ? e.createdMs + e.hardTimeout * 1000 : Infinity;
      const idleAt = e.idleTimeout > 0 ? e.lastUsedMs + e.idleTimeout * 1000 : Infinity;
      if (now >= hardAt) out.push(this.evict(e, OFPRR.HARD_TIMEOUT));
      else if (now >= idleAt) out.push(this.evict(e, OFPRR.IDLE_TIMEOUT));
      else {
        // Used since it was scheduled: look again when it could next expire.
        e.deadlineMs = Math.min(hardAt, idleAt);
        this.expiry.update(e);
      }
    }
    return out;
  }

  /** The earliest time expire() may have work (a lower bound for idle entries in use). */
  nextExpiryMs(): number | undefined {
    return this.expiry.peek()?.deadlineMs;
  }

  /**
   * Enter (on connection loss) or leave emergency mode. Entering deletes every normal entry
   * (OF1.0 §4.3) and returns them with reason DELETE; lookups then use the emergency table.
   */
  setEmergencyMode(on: boolean): RemovedFlow[] {
    if (on === this.emergencyMode) return [];
    this.emergencyMode = on;
    this.active = on ? this.emergency : this.normal;
    if (!on) return [];
    this.tick();
    return [...this.normal.entries()].sort(precedence).map((e) => this.evict(e, OFPRR.DELETE));
  }

  flowStats(match: Match, tableId: number, outPort: number): FlowStats[] {
    const now = this.tick();
    const out: FlowStats[] = [];
    for (const [id, entries] of this.statsSelection(match, tableId, outPort)) {
      for (const e of entries) out.push(e.toFlowStats(id, now));
    }
    return out;
  }

  aggregateStats(match: Match, tableId: number, outPort: number): AggregateStats {
    let packets = 0;
    let bytes = 0;
    let flowCount = 0;
    for (const [, entries] of this.statsSelection(match, tableId, outPort, false)) {
      for (const e of entries) {
        packets += e.packets;
        bytes += e.bytes;
        flowCount++;
      }
    }
    return { packetCount: BigInt(packets), byteCount: BigInt(bytes), flowCount };
  }

  tableStats(): TableStats[] {
    return [
      {
        tableId: 0,
        name: TABLE_NAME,
        wildcards: OFPFW.ALL,
        maxEntries: this.maxEntries,
        activeCount: this.normal.size,
        lookupCount: BigInt(this.lookups),
        matchedCount: BigInt(this.matched),
      },
    ];
  }

  private add(fm: FlowMod, w: MatchWords): FlowModResult {
    const emerg = (fm.flags & OFPFF.EMERG) !== 0;
    if (emerg && (fm.idleTimeout !== 0 || fm.hardTimeout !== 0)) {
      return flowModError(OFPFMFC.BAD_EMERG_TIMEOUT);
    }
    const c = emerg ? this.emergency : this.normal;
    const priority = fm.priority & 0xffff;
    if ((fm.flags & OFPFF.CHECK_OVERLAP) !== 0 && c.findOverlap(w, priority) !== undefined) {
      return flowModError(OFPFMFC.OVERLAP);
    }
    const old = c.findStrict(w, priority);
    if (old !== undefined) this.detach(old);
    else if (c.size >= this.maxEntries) return flowModError(OFPFMFC.ALL_TABLES_FULL);
    const e = new FlowEntry(
      w,
      priority,
      fm.cookie,
      fm.idleTimeout & 0xffff,
      fm.hardTimeout & 0xffff,
      fm.flags,
      fm.actions,
      emerg,
      this.seq++,
      this.now,
    );
    c.insert(e);
    if (e.idleTimeout > 0 || e.hardTimeout > 0) {
      e.deadlineMs = Math.min(
        e.hardTimeout > 0 ? e.createdMs + e.hardTimeout * 1000 : Infinity,
        e.idleTimeout > 0 ? e.lastUsedMs + e.idleTimeout * 1000 : Infinity,
      );
      this.expiry.push(e);
    }
    return { removed: [], entry: e };
  }

  /** OF1.0 (as Open vSwitch implements it): new actions and cookie, counters and timeouts kept.
   * EMERG picks the emergency table, as in the reference switch. */
  private modify(fm: FlowMod, strict: boolean): FlowModResult {
    const w = matchToWords(fm.match);
    const c = (fm.flags & OFPFF.EMERG) !== 0 ? this.emergency : this.normal;
    const targets = this.targets(c, fm, w, strict, OFPP.NONE);
    if (targets.length === 0) return this.add(fm, w);
    for (const e of targets) {
      e.setActions(fm.actions);
      e.cookie = fm.cookie;
    }
    return { removed: [], entry: targets[0] };
  }

  /**
   * DELETE / DELETE_STRICT. With EMERG only the emergency table (as the reference switch);
   * without, the normal table and then the emergency one, so that a delete of everything leaves
   * no entry of any kind and a controller that cannot send EMERG (ovs-ofctl) can still remove
   * an emergency entry. Deleted emergency entries send no FLOW_REMOVED (OF1.0 §4.6).
   */
  private delete(fm: FlowMod, strict: boolean): FlowModResult {
    const w = matchToWords(fm.match);
    const tables =
      (fm.flags & OFPFF.EMERG) !== 0 ? [this.emergency] : [this.normal, this.emergency];
    const removed: RemovedFlow[] = [];
    for (const c of tables) {
      for (const e of this.targets(c, fm, w, strict, fm.outPort)) {
        const r = this.evict(e, OFPRR.DELETE);
        if (r.sendFlowRem) removed.push(r);
      }
    }
    return { removed };
  }

  /** Entries a MODIFY/DELETE selects in classifier `c`, in precedence order. */
  private targets(
    c: Classifier,
    fm: FlowMod,
    w: MatchWords,
    strict: boolean,
    outPort: number,
  ): FlowEntry[] {
    let found: FlowEntry[];
    if (strict) {
      const e = c.findStrict(w, fm.priority & 0xffff);
      found = e === undefined ? [] : [e];
    } else {
      found = c.covered(w.mask, w.value).sort(precedence);
    }
    return outPort === OFPP.NONE ? found : found.filter((e) => e.outputsTo(outPort));
  }

  /**
   * Stats selection: per table asked for (0, 0xfe emergency, 0xff both), the entries the
   * request covers, in precedence order unless `ordered` is false. A snapshot: an entry removed
   * later has `removed` set (a lazy dump skips it).
   */
  statsSelection(
    match: Match,
    tableId: number,
    outPort: number,
    ordered = true,
  ): [number, FlowEntry[]][] {
    const w = matchToWords(match);
    const tables: [number, Classifier][] = [];
    if (tableId === 0 || tableId === OFPTT.ALL) tables.push([0, this.normal]);
    if (tableId === OFPTT.EMERG || tableId === OFPTT.ALL)
      tables.push([OFPTT.EMERG, this.emergency]);
    return tables.map(([id, c]) => {
      const found = c.covered(w.mask, w.value);
      if (ordered) found.sort(precedence);
      return [id, outPort === OFPP.NONE ? found : found.filter((e) => e.outputsTo(outPort))];
    });
  }

  private detach(e: FlowEntry): void {
    (e.emergency ? this.emergency : this.normal).remove(e);
    this.expiry.remove(e);
    e.removed = true;
  }

  private evict(e: FlowEntry, reason: number): RemovedFlow {
    this.detach(e);
    return {
      ...e.toFlowRemoved(reason, this.now),
      // OF1.0 §4.6: emergency entries never generate FLOW_REMOVED.
      sendFlowRem: !e.emergency && (e.flags & OFPFF.SEND_FLOW_REM) !== 0,
      entry: e,
    };
  }
}
