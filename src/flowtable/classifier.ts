// Exact-match hash table in front of a tuple-space classifier (one hash subtable per distinct
// wildcard mask). Lookup order and the early stop are described in docs/flowtable.md.
import type { FlowKey } from "../packet/flow-key.js";
import type { FlowEntry } from "./flow-entry.js";
import { covers, EXACT_MASK, overlaps, type RuleMatch } from "./rule-match.js";
import { WordHashTable } from "./word-hash.js";

/** Entries of one subtable that share a priority, oldest first (linked through prioPrev/Next). */
interface PriorityList<A> {
  head: FlowEntry<A>;
  tail: FlowEntry<A>;
}

class Subtable<A> {
  readonly buckets = new WordHashTable<FlowEntry<A>>();
  count = 0;
  /** Highest priority present, and the oldest seq at that priority: the subtable's sort key. */
  maxPriority = -1;
  minSeqAtMax = Infinity;
  /** Distinct priorities present, highest first. */
  private readonly priorities: number[] = [];
  private readonly lists = new Map<number, PriorityList<A>>();

  constructor(readonly mask: Int32Array) {}

  entriesAt(priority: number): FlowEntry<A> | undefined {
    return this.lists.get(priority)?.head;
  }

  add(e: FlowEntry<A>): void {
    const head = this.buckets.get(e.value);
    if (head === undefined || head.priority < e.priority) {
      e.bucketNext = head;
      this.buckets.set(e.value, e);
    } else {
      let p = head;
      while (p.bucketNext !== undefined && p.bucketNext.priority > e.priority) p = p.bucketNext;
      e.bucketNext = p.bucketNext;
      p.bucketNext = e;
    }
    const list = this.lists.get(e.priority);
    if (list === undefined) {
      this.lists.set(e.priority, { head: e, tail: e });
      let i = 0;
      while (i < this.priorities.length && this.priorities[i] > e.priority) i++;
      this.priorities.splice(i, 0, e.priority);
    } else {
      e.prioPrev = list.tail;
      list.tail.prioNext = e;
      list.tail = e;
    }
    this.count++;
    this.refreshSortKey();
  }

  remove(e: FlowEntry<A>): void {
    const head = this.buckets.get(e.value);
    if (head === e) {
      if (e.bucketNext === undefined) this.buckets.delete(e.value);
      else this.buckets.set(e.value, e.bucketNext);
    } else {
      let p = head;
      while (p !== undefined && p.bucketNext !== e) p = p.bucketNext;
      if (p !== undefined) p.bucketNext = e.bucketNext;
    }
    e.bucketNext = undefined;
    const list = this.lists.get(e.priority) as PriorityList<A>;
    if (e.prioPrev !== undefined) e.prioPrev.prioNext = e.prioNext;
    else if (e.prioNext !== undefined) list.head = e.prioNext;
    if (e.prioNext !== undefined) e.prioNext.prioPrev = e.prioPrev;
    else if (e.prioPrev !== undefined) list.tail = e.prioPrev;
    if (e.prioPrev === undefined && e.prioNext === undefined) {
      this.lists.delete(e.priority);
      this.priorities.splice(this.priorities.indexOf(e.priority), 1);
    }
    e.prioPrev = e.prioNext = undefined;
    this.count--;
    this.refreshSortKey();
  }

  *entries(): IterableIterator<FlowEntry<A>> {
    for (const head of this.buckets.values()) {
      for (let e: FlowEntry<A> | undefined = head; e !== undefined; e = e.bucketNext) yield e;
    }
  }

  private refreshSortKey(): void {
    if (this.priorities.length === 0) {
      this.maxPriority = -1;
      this.minSeqAtMax = Infinity;
      return;
    }
    this.maxPriority = this.priorities[0];
    this.minSeqAtMax = (this.lists.get(this.maxPriority) as PriorityList<A>).head.seq;
  }
}

/** Sort order of subtables: highest priority first, then the one holding the oldest such entry. */
function before<A>(a: Subtable<A>, b: Subtable<A>): boolean {
  return (
    a.maxPriority > b.maxPriority ||
    (a.maxPriority === b.maxPriority && a.minSeqAtMax < b.minSeqAtMax)
  );
}

export class Classifier<A> {
  private readonly exactTable = new WordHashTable<FlowEntry<A>>();
  /** How many exact entries each priority has: a wildcard overlap check scans the exact table
   * only at a priority that has some (in OF1.0, only 65535). */
  private readonly exactAtPriority = new Map<number, number>();
  private readonly byMask = new WordHashTable<Subtable<A>>();
  /** Kept sorted with `before`, so lookup can stop at the first subtable that cannot win. */
  private readonly subtables: Subtable<A>[] = [];
  private count = 0;
  /** Bumped by every insert and remove, so caches of lookup results know when to forget. */
  version = 0;

  get size(): number {
    return this.count;
  }

  get subtableCount(): number {
    return this.subtables.length;
  }

  /** The entry a packet hits: exact first, else the best wildcard entry. Allocation-free. */
  lookup(key: FlowKey): FlowEntry<A> | undefined {
    const words = key.words;
    if (this.exactTable.size !== 0) {
      const e = this.exactTable.find(words, EXACT_MASK);
      if (e !== undefined) return e;
    }
    return this.lookupWildcard(words);
  }

  /**
   * out[i] = lookup(keys[i]) for i < count, with the exact-table probes of the whole batch
   * overlapped (WordHashTable.findBatch); exact misses then search the subtables one by one.
   */
  lookupBatch(keys: readonly FlowKey[], count: number, out: (FlowEntry<A> | undefined)[]): void {
    if (this.exactTable.size !== 0) this.exactTable.findBatch(keys, count, EXACT_MASK, out);
    else for (let i = 0; i < count; i++) out[i] = undefined;
    if (this.subtables.length === 0) return;
    for (let i = 0; i < count; i++) {
      if (out[i] === undefined) out[i] = this.lookupWildcard(keys[i].words);
    }
  }

  private lookupWildcard(words: Uint32Array): FlowEntry<A> | undefined {
    const subs = this.subtables;
    let best: FlowEntry<A> | undefined = undefined;
    let bestPriority = -1;
    let bestSeq = Infinity;
    for (let i = 0; i < subs.length; i++) {
      const st = subs[i];
      const mp = st.maxPriority;
      if (mp < bestPriority || (mp === bestPriority && st.minSeqAtMax > bestSeq)) break;
      const hit = st.buckets.find(words, st.mask);
      if (
        hit !== undefined &&
        (hit.priority > bestPriority || (hit.priority === bestPriority && hit.seq < bestSeq))
      ) {
        best = hit;
        bestPriority = hit.priority;
        bestSeq = hit.seq;
      }
    }
    return best;
  }

  /** Caller guarantees no entry with the same match (and priority, for wildcard ones) exists. */
  insert(e: FlowEntry<A>): void {
    this.version++;
    this.count++;
    if (e.exact) {
      this.exactTable.set(e.value, e);
      this.exactAtPriority.set(e.priority, (this.exactAtPriority.get(e.priority) ?? 0) + 1);
      return;
    }
    let st = this.byMask.get(e.mask);
    if (st === undefined) {
      st = new Subtable(e.mask);
      this.byMask.set(e.mask, st);
    } else {
      this.subtables.splice(this.subtables.indexOf(st), 1);
    }
    st.add(e);
    this.place(st);
  }

  remove(e: FlowEntry<A>): void {
    this.version++;
    this.count--;
    if (e.exact) {
      this.exactTable.delete(e.value);
      const n = (this.exactAtPriority.get(e.priority) ?? 1) - 1;
      if (n === 0) this.exactAtPriority.delete(e.priority);
      else this.exactAtPriority.set(e.priority, n);
      return;
    }
    const st = this.byMask.get(e.mask) as Subtable<A>;
    this.subtables.splice(this.subtables.indexOf(st), 1);
    st.remove(e);
    if (st.count === 0) this.byMask.delete(st.mask);
    else this.place(st);
  }

  /** The entry with this very match (and priority, unless exact): OF1.0 "strict" identity. */
  findStrict(w: RuleMatch, priority: number): FlowEntry<A> | undefined {
    if (w.exact) return this.exactTable.get(w.value);
    let e = this.byMask.get(w.mask)?.buckets.get(w.value);
    while (e !== undefined && e.priority > priority) e = e.bucketNext;
    return e !== undefined && e.priority === priority ? e : undefined;
  }

  /**
   * An entry of the same priority that a packet could match together with `w` (OF1.0
   * CHECK_OVERLAP): an identical exact entry, or any entry of `priority` whose match shares a
   * packet with `w`, exact ones included (an exact entry is one packet). A wildcard `w` at a
   * priority some exact entry has scans the exact hash, as Open vSwitch's own overlap check
   * walks every rule of that priority; only CHECK_OVERLAP adds pay it.
   */
  findOverlap(w: RuleMatch, priority: number): FlowEntry<A> | undefined {
    if (w.exact) {
      const same = this.exactTable.get(w.value);
      if (same !== undefined) return same;
    } else if (this.exactAtPriority.has(priority)) {
      for (const e of this.exactTable.values()) {
        if (e.priority === priority && overlaps(w.mask, w.value, e.mask, e.value)) return e;
      }
    }
    for (const st of this.subtables) {
      for (let e = st.entriesAt(priority); e !== undefined; e = e.prioNext) {
        if (overlaps(w.mask, w.value, e.mask, e.value)) return e;
      }
    }
    return undefined;
  }

  /** Entries whose match is at least as specific as (mask, value) (OF1.0 non-strict). */
  covered(mask: Int32Array, value: Int32Array): FlowEntry<A>[] {
    const out: FlowEntry<A>[] = [];
    for (const e of this.entries()) if (covers(mask, value, e.mask, e.value)) out.push(e);
    return out;
  }

  *entries(): IterableIterator<FlowEntry<A>> {
    yield* this.exactTable.values();
    for (const st of this.subtables) yield* st.entries();
  }

  private place(st: Subtable<A>): void {
    let lo = 0;
    let hi = this.subtables.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.subtables[mid], st)) lo = mid + 1;
      else hi = mid;
    }
    this.subtables.splice(lo, 0, st);
  }
}
