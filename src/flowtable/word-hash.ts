// Open-addressing hash table keyed by nine masked 32-bit key words, for the exact-match table and
// for each wildcard subtable. Two levels, so a probe touches little memory:
//   - the index: linear probing over an Int32Array of [hash, id] pairs (8 bytes a slot, load
//     ≤ 0.5), so a probe run usually sits in one cache line and a miss never reads key words;
//   - per id (dense, 0..size-1): the nine key words (`keys`, 36 bytes) and the value (`vals`).
// Only a hash match reads the key words. Deletion shifts later index slots back (no tombstones)
// and moves the last id into the freed one, so ids stay dense. `find` masks the probe key on the
// fly (no copy); `findBatch` overlaps the cache misses of many keys (see docs/flowtable.md).
import { FLOW_KEY_WORDS, type FlowKey } from "../packet/flow-key.js";

const MIN_CAPACITY = 16;
/**
 * Below this many keys the table (≤ 1 MB) stays in L2 and findBatch's passes cost more than the
 * misses they would hide (bench/flowtable.ts, 1,000 entries), so it just calls find().
 */
export const BATCH_MIN_SIZE = 16384;

/** Mixes one word into the running hash: multiply, then fold high bits down (cheap; finish()
 * does the full avalanche). Each step is a bijection of h, so keys differing in one word differ. */
function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return h ^ (h >>> 15);
}

/** Final avalanche; never returns 0 (0 marks an empty slot). */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 1 : h;
}

/** The hash of nine key words: a table's stored keys (Int32Array) or a packet's (FlowKey.words). */
export function hashWords(w: Int32Array | Uint32Array): number {
  let h = 0x9747b28c;
  for (let i = 0; i < FLOW_KEY_WORDS; i++) h = mix(h, w[i]);
  return finish(h);
}

/** hashWords(key & mask) without materialising the masked key. */
function hashMasked(key: Uint32Array | Int32Array, mask: Int32Array): number {
  let h = 0x9747b28c;
  h = mix(h, key[0] & mask[0]);
  h = mix(h, key[1] & mask[1]);
  h = mix(h, key[2] & mask[2]);
  h = mix(h, key[3] & mask[3]);
  h = mix(h, key[4] & mask[4]);
  h = mix(h, key[5] & mask[5]);
  h = mix(h, key[6] & mask[6]);
  h = mix(h, key[7] & mask[7]);
  return finish(mix(h, key[8] & mask[8]));
}

export class WordHashTable<T> {
  /** [hash, id] per slot; hash 0 = empty. */
  private index: Int32Array;
  private capMask: number;
  /** Per id: key words (FLOW_KEY_WORDS each), hash (for resizing and moves), value. */
  private keys: Int32Array;
  private hashes: Int32Array;
  private vals: (T | undefined)[];
  private count = 0;
  /** findBatch scratch: per key its hash, then its candidate id (-1: none). */
  private batchHash = new Int32Array(0);
  private batchId = new Int32Array(0);

  /** `batchMinSize`: below this size findBatch calls find() per key (tests pass 0). */
  constructor(private readonly batchMinSize = BATCH_MIN_SIZE) {
    this.index = new Int32Array(MIN_CAPACITY * 2);
    this.capMask = MIN_CAPACITY - 1;
    this.keys = new Int32Array((MIN_CAPACITY / 2) * FLOW_KEY_WORDS);
    this.hashes = new Int32Array(MIN_CAPACITY / 2);
    this.vals = new Array<T | undefined>(MIN_CAPACITY / 2).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /** The value stored under (key & mask), or undefined. Allocation-free. */
  find(key: Uint32Array | Int32Array, mask: Int32Array): T | undefined {
    const h = hashMasked(key, mask);
    const x = this.index;
    const cm = this.capMask;
    let i = h & cm;
    while (true) {
      const sh = x[i * 2];
      if (sh === 0) return undefined;
      if (sh === h) {
        const id = x[i * 2 + 1];
        if (this.keyEquals(id, key, mask)) return this.vals[id];
      }
      i = (i + 1) & cm;
    }
  }

  /**
   * out[i] = find(keys[i].words, mask) for i < count, in passes over the batch so the cache
   * misses of different keys overlap: hash every key; probe the index for each (the first
   * hash match's id); touch each candidate's key words and value; then compare. A candidate
   * whose key words differ (a 32-bit hash collision) falls back to find(). Allocation-free
   * once the scratch arrays have grown to the largest batch.
   */
  findBatch(
    keys: readonly FlowKey[],
    count: number,
    mask: Int32Array,
    out: (T | undefined)[],
  ): void {
    if (this.count < this.batchMinSize) {
      for (let i = 0; i < count; i++) out[i] = this.find(keys[i].words, mask);
      return;
    }
    if (this.batchHash.length < count) {
      this.batchHash = new Int32Array(count);
      this.batchId = new Int32Array(count);
    }
    const hs = this.batchHash;
    const ids = this.batchId;
    for (let i = 0; i < count; i++) hs[i] = hashMasked(keys[i].words, mask);
    const x = this.index;
    const cm = this.capMask;
    for (let i = 0; i < count; i++) {
      const h = hs[i];
      let s = h & cm;
      let id = -1;
      for (let sh = x[s * 2]; sh !== 0; sh = x[s * 2]) {
        if (sh === h) {
          id = x[s * 2 + 1];
          break;
        }
        s = (s + 1) & cm;
      }
      ids[i] = id;
    }
    const k = this.keys;
    const vals = this.vals;
    let touched = 0;
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if (id >= 0) {
        // Both ends of the 36-byte key record: it may straddle two cache lines.
        touched ^= k[id * FLOW_KEY_WORDS] ^ k[id * FLOW_KEY_WORDS + FLOW_KEY_WORDS - 1];
        out[i] = vals[id];
      } else {
        out[i] = undefined;
      }
    }
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if (id >= 0 && !this.keyEquals(id, keys[i].words, mask)) {
        out[i] = this.find(keys[i].words, mask);
      }
    }
    this.batchSink = touched;
  }

  /** Keeps the touch pass of findBatch from being optimised away. */
  batchSink = 0;

  /** The value stored under exactly `words` (already masked). */
  get(words: Int32Array): T | undefined {
    const s = this.slotOf(words, hashWords(words));
    return s < 0 ? undefined : this.vals[this.index[s * 2 + 1]];
  }

  /** Stores `value` under `words` (already masked), replacing any previous value. */
  set(words: Int32Array, value: T): void {
    const h = hashWords(words);
    const found = this.slotOf(words, h);
    if (found >= 0) {
      this.vals[this.index[found * 2 + 1]] = value;
      return;
    }
    if ((this.count + 1) * 2 > this.capMask + 1) this.resizeIndex((this.capMask + 1) * 2);
    if (this.count === this.hashes.length) this.resizeIds(this.count * 2);
    const id = this.count++;
    this.keys.set(words.subarray(0, FLOW_KEY_WORDS), id * FLOW_KEY_WORDS);
    this.hashes[id] = h;
    this.vals[id] = value;
    this.placeInIndex(h, id);
  }

  delete(words: Int32Array): boolean {
    const s = this.slotOf(words, hashWords(words));
    if (s < 0) return false;
    const id = this.index[s * 2 + 1];
    this.removeSlot(s);
    const last = --this.count;
    if (id !== last) {
      // Keep ids dense: the last id moves into the freed one.
      this.index[this.slotOfId(this.hashes[last], last) * 2 + 1] = id;
      this.keys.copyWithin(id * FLOW_KEY_WORDS, last * FLOW_KEY_WORDS, (last + 1) * FLOW_KEY_WORDS);
      this.hashes[id] = this.hashes[last];
      this.vals[id] = this.vals[last];
    }
    this.vals[last] = undefined;
    const cap = this.capMask + 1;
    if (cap > MIN_CAPACITY && this.count * 8 < cap) {
      this.resizeIndex(cap / 2);
      this.resizeIds(cap / 4);
    }
    return true;
  }

  *values(): IterableIterator<T> {
    for (let id = 0; id < this.count; id++) yield this.vals[id] as T;
  }

  private keyEquals(id: number, key: Uint32Array | Int32Array, mask: Int32Array): boolean {
    const k = this.keys;
    const b = id * FLOW_KEY_WORDS;
    return (
      k[b] === (key[0] & mask[0]) &&
      k[b + 1] === (key[1] & mask[1]) &&
      k[b + 2] === (key[2] & mask[2]) &&
      k[b + 3] === (key[3] & mask[3]) &&
      k[b + 4] === (key[4] & mask[4]) &&
      k[b + 5] === (key[5] & mask[5]) &&
      k[b + 6] === (key[6] & mask[6]) &&
      k[b + 7] === (key[7] & mask[7]) &&
      k[b + 8] === (key[8] & mask[8])
    );
  }

  /** Index slot holding `words` (already masked) with hash h, or -1. */
  private slotOf(words: Int32Array, h: number): number {
    const x = this.index;
    let i = h & this.capMask;
    while (true) {
      const sh = x[i * 2];
      if (sh === 0) return -1;
      if (sh === h) {
        const b = x[i * 2 + 1] * FLOW_KEY_WORDS;
        let j = 0;
        while (j < FLOW_KEY_WORDS && this.keys[b + j] === words[j]) j++;
        if (j === FLOW_KEY_WORDS) return i;
      }
      i = (i + 1) & this.capMask;
    }
  }

  /** Index slot that points at `id` (which is stored, with hash h). */
  private slotOfId(h: number, id: number): number {
    const x = this.index;
    let i = h & this.capMask;
    while (x[i * 2 + 1] !== id || x[i * 2] !== h) i = (i + 1) & this.capMask;
    return i;
  }

  private placeInIndex(h: number, id: number): void {
    const x = this.index;
    let i = h & this.capMask;
    while (x[i * 2] !== 0) i = (i + 1) & this.capMask;
    x[i * 2] = h;
    x[i * 2 + 1] = id;
  }

  /** Backward-shift deletion: moves later members of the probe run into the hole. */
  private removeSlot(hole: number): void {
    const x = this.index;
    const cm = this.capMask;
    let i = hole;
    let j = hole;
    while (true) {
      j = (j + 1) & cm;
      if (x[j * 2] === 0) break;
      const home = x[j * 2] & cm;
      // The slot at j may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      x[i * 2] = x[j * 2];
      x[i * 2 + 1] = x[j * 2 + 1];
      i = j;
    }
    x[i * 2] = 0;
    x[i * 2 + 1] = 0;
  }

  private resizeIndex(capacity: number): void {
    this.index = new Int32Array(capacity * 2);
    this.capMask = capacity - 1;
    for (let id = 0; id < this.count; id++) this.placeInIndex(this.hashes[id], id);
  }

  private resizeIds(capacity: number): void {
    const keys = new Int32Array(capacity * FLOW_KEY_WORDS);
    keys.set(this.keys.subarray(0, this.count * FLOW_KEY_WORDS));
    const hashes = new Int32Array(capacity);
    hashes.set(this.hashes.subarray(0, this.count));
    this.keys = keys;
    this.hashes = hashes;
    this.vals.length = capacity;
    this.vals.fill(undefined, this.count);
  }
}
