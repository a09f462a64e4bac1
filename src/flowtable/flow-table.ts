// The flow table: rules over FlowKey words with add / modify / delete (strict or loose),
// overlap checks, idle and hard timeouts, counters, lookups with hit accounting and an
// emergency table. Its rules carry the owner's actions as an opaque `A`; it knows nothing of
// OpenFlow messages, sockets or frames beyond the FlowKey.
import { performance } from "node:perf_hooks";
import type { FlowKey } from "../packet/flow-key.js";
import { Classifier } from "./classifier.js";
import { ExpiryHeap } from "./expiry-heap.js";
import { FlowEntry, type NewRule } from "./flow-entry.js";
import { MicroflowCache } from "./microflow-cache.js";
import type { RuleMatch } from "./rule-match.js";
import { hashWords } from "./word-hash.js";

export const DEFAULT_MAX_ENTRIES = 1_000_000;

/** Why add() refused a rule. */
export type AddError =
  /** The table already holds maxEntries. */
  | "table-full"
  /** checkOverlap, and an entry of the same priority could match a packet the rule matches. */
  | "overlap"
  /** An emergency rule with an idle or hard timeout. */
  | "emergency-timeout";

export type AddResult<A> =
  { entry: FlowEntry<A>; error?: undefined } | { entry?: undefined; error: AddError };

export type RemovalReason = "idle-timeout" | "hard-timeout" | "delete";

export interface Removal<A> {
  entry: FlowEntry<A>;
  reason: RemovalReason;
}

/** Which of the two tables a selection looks in; "both" lists the normal entries first. */
export type TableChoice = "normal" | "emergency" | "both";

/** Entries to modify, delete or report. */
export interface Selector<A> {
  match: RuleMatch;
  tables: TableChoice;
  /**
   * Strict: only the entry with this very match and `priority` (an exact entry: any priority).
   * Loose (default): every entry whose match is at least as specific as `match`.
   */
  strict?: boolean;
  priority?: number;
  /** Keeps only entries whose actions pass (the owner's filter, e.g. "outputs to port 3"). */
  where?: (actions: A) => boolean;
}

export interface Aggregate {
  packets: number;
  bytes: number;
  flows: number;
}

export interface FlowTableOptions {
  maxEntries?: number;
  /** Monotonic milliseconds. */
  clock?: () => number;
  /** Slots of the exact-match cache in front of the classifier (a power of two; 0: none). */
  cacheSlots?: number;
}

/** Lookup precedence: exact entries, then higher priority, then older. */
export function precedence<A>(a: FlowEntry<A>, b: FlowEntry<A>): number {
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  return b.priority - a.priority || a.seq - b.seq;
}

export class FlowTable<A> {
  readonly maxEntries: number;
  /** Coarse clock (ms) that recordHit stamps entries with; refreshed by tick(). */
  now: number;
  private readonly clock: () => number;
  private readonly normal = new Classifier<A>();
  private readonly emergency = new Classifier<A>();
  private active: Classifier<A> = this.normal;
  private emergencyMode = false;
  private readonly expiry = new ExpiryHeap<A>();
  private seq = 0;
  private lookups = 0;
  private matched = 0;
  private readonly cache: MicroflowCache<FlowEntry<A>> | undefined;
  /** The classifier and its version the cache's contents were computed from. */
  private cacheSource: Classifier<A> = this.normal;
  private cacheVersion = 0;

  constructor(opts: FlowTableOptions = {}) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const slots = opts.cacheSlots ?? 8192;
    this.cache = slots > 0 ? new MicroflowCache<FlowEntry<A>>(slots) : undefined;
    this.clock = opts.clock ?? (() => performance.now());
    this.now = this.clock();
  }

  /** Reads the clock into `now`. The datapath calls this once per receive batch. */
  tick(): number {
    this.now = this.clock();
    return this.now;
  }

  /** Entries in the normal table. */
  get activeCount(): number {
    return this.normal.size;
  }

  get emergencyCount(): number {
    return this.emergency.size;
  }

  get inEmergencyMode(): boolean {
    return this.emergencyMode;
  }

  /** Packets looked up, and those that hit an entry, since the table was made. */
  get lookupCount(): number {
    return this.lookups;
  }

  get matchedCount(): number {
    return this.matched;
  }

  /** The entry for a packet (emergency table only in emergency mode); counts lookups/matched. */
  lookup(key: FlowKey): FlowEntry<A> | undefined {
    this.lookups++;
    const cls = this.active;
    const cache = this.cache;
    let e: FlowEntry<A> | undefined;
    if (cache === undefined) {
      e = cls.lookup(key);
    } else {
      // Any insert or removal (add, delete, expiry, emergency switch) may change any packet's
      // answer: forget everything, synchronously, so the next lookup sees the new table.
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

  /** Lookups answered by the exact-match cache (for stats and benchmarks). */
  get cacheHits(): number {
    return this.cache?.hits ?? 0;
  }

  /**
   * out[i] = lookup(keys[i]) for i < count (counted the same way), overlapping the memory
   * accesses of the batch: at large table sizes much faster per key than single lookups.
   * Allocation-free; `out` must have room for `count` results.
   */
  lookupBatch(keys: readonly FlowKey[], count: number, out: (FlowEntry<A> | undefined)[]): void {
    this.active.lookupBatch(keys, count, out);
    let hits = 0;
    for (let i = 0; i < count; i++) if (out[i] !== undefined) hits++;
    this.lookups += count;
    this.matched += hits;
  }

  recordHit(entry: FlowEntry<A>, bytes: number): void {
    entry.packets++;
    entry.bytes += bytes;
    entry.lastUsedMs = this.now;
  }

  /**
   * Adds a rule to the normal or the emergency table. An entry with the same match and priority
   * (an exact one: the same match) is replaced: counters and age restart, and it is not reported
   * as removed.
   */
  add(rule: NewRule<A>): AddResult<A> {
    this.tick();
    const emergency = rule.emergency === true;
    if (emergency && (rule.idleTimeout !== 0 || rule.hardTimeout !== 0)) {
      return { error: "emergency-timeout" };
    }
    const c = emergency ? this.emergency : this.normal;
    if (rule.checkOverlap === true && c.findOverlap(rule.match, rule.priority) !== undefined) {
      return { error: "overlap" };
    }
    const old = c.findStrict(rule.match, rule.priority);
    if (old !== undefined) this.detach(old);
    else if (c.size >= this.maxEntries) return { error: "table-full" };
    const e = new FlowEntry(rule, this.seq++, this.now);
    c.insert(e);
    if (e.idleTimeout > 0 || e.hardTimeout > 0) {
      e.deadlineMs = Math.min(
        e.hardTimeout > 0 ? e.createdMs + e.hardTimeout * 1000 : Infinity,
        e.idleTimeout > 0 ? e.lastUsedMs + e.idleTimeout * 1000 : Infinity,
      );
      this.expiry.push(e);
    }
    return { entry: e };
  }

  /**
   * Gives the selected entries new actions (and a new cookie, when one is given); counters,
   * timeouts and age stay. Returns them in precedence order (none: the caller decides whether
   * to add instead).
   */
  modify(sel: Selector<A>, actions: A, cookie?: bigint): FlowEntry<A>[] {
    const targets = this.select(sel);
    for (const e of targets) {
      e.setActions(actions);
      if (cookie !== undefined) e.cookie = cookie;
    }
    return targets;
  }

  /** Removes the selected entries; returns them (reason "delete") in selection order. */
  delete(sel: Selector<A>): Removal<A>[] {
    this.tick();
    return this.select(sel).map((e) => this.evict(e, "delete"));
  }

  /** Removes entries whose idle or hard timeout has passed (hard wins when both have). */
  expire(): Removal<A>[] {
    const now = this.tick();
    const out: Removal<A>[] = [];
    for (
      let e = this.expiry.peek();
      e !== undefined && e.deadlineMs <= now;
      e = this.expiry.peek()
    ) {
      const hardAt = e.hardTimeout > 0 ? e.createdMs + e.hardTimeout * 1000 : Infinity;
      const idleAt = e.idleTimeout > 0 ? e.lastUsedMs + e.idleTimeout * 1000 : Infinity;
      if (now >= hardAt) out.push(this.evict(e, "hard-timeout"));
      else if (now >= idleAt) out.push(this.evict(e, "idle-timeout"));
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
   * Enter or leave emergency mode. Entering deletes every normal entry (OF1.0 §4.3: on
   * connection loss) and returns them, in precedence order; lookups then use the emergency
   * table until it is left.
   */
  setEmergencyMode(on: boolean): Removal<A>[] {
    if (on === this.emergencyMode) return [];
    this.emergencyMode = on;
    this.active = on ? this.emergency : this.normal;
    if (!on) return [];
    this.tick();
    return [...this.normal.entries()].sort(precedence).map((e) => this.evict(e, "delete"));
  }

  /**
   * The selected entries: normal ones first, then emergency ones (`entry.emergency` tells which),
   * each group in precedence order unless `ordered` is false. A snapshot: an entry removed
   * later has `removed` set (a lazy reader skips it).
   */
  select(sel: Selector<A>, ordered = true): FlowEntry<A>[] {
    const out: FlowEntry<A>[] = [];
    if (sel.tables !== "emergency") this.selectIn(this.normal, sel, ordered, out);
    if (sel.tables !== "normal") this.selectIn(this.emergency, sel, ordered, out);
    return out;
  }

  /** Packets, bytes and entries summed over the selection. */
  aggregate(sel: Selector<A>): Aggregate {
    let packets = 0;
    let bytes = 0;
    const entries = this.select(sel, false);
    for (const e of entries) {
      packets += e.packets;
      bytes += e.bytes;
    }
    return { packets, bytes, flows: entries.length };
  }

  private selectIn(
    c: Classifier<A>,
    sel: Selector<A>,
    ordered: boolean,
    out: FlowEntry<A>[],
  ): void {
    let found: FlowEntry<A>[];
    if (sel.strict === true) {
      const e = c.findStrict(sel.match, sel.priority ?? 0);
      found = e === undefined ? [] : [e];
    } else {
      found = c.covered(sel.match.mask, sel.match.value);
      if (ordered) found.sort(precedence);
    }
    const where = sel.where;
    for (const e of found) if (where === undefined || where(e.actions)) out.push(e);
  }

  private detach(e: FlowEntry<A>): void {
    (e.emergency ? this.emergency : this.normal).remove(e);
    this.expiry.remove(e);
    e.removed = true;
  }

  private evict(e: FlowEntry<A>, reason: RemovalReason): Removal<A> {
    this.detach(e);
    return { entry: e, reason };
  }
}
