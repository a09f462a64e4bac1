// Open-addressing hash table keyed by nine masked 32-bit key words, for the exact-match table and
// for each wildcard subtable. Linear probing over one flat Int32Array: a slot is the key's hash
// (0 = empty) followed by its nine words, so a probe touches one or two cache lines and a hit
// needs no pointer chase before the compare. Deletion shifts later entries back (no tombstones).
// `find` masks the probe key on the fly, so lookups hash the packet key without copying it.
import { FLOW_KEY_WORDS } from "./flow-key.js";

const STRIDE = 1 + FLOW_KEY_WORDS;
const MIN_CAPACITY = 16;

/** Mixes one word into the running hash (murmur3 round). */
function mix(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  h ^= Math.imul(w, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
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

export function hashWords(w: Int32Array): number {
  let h = 0x9747b28c;
  for (let i = 0; i < FLOW_KEY_WORDS; i++) h = mix(h, w[i]);
  return finish(h);
}

export class WordHashTable<T> {
  private slots: Int32Array;
  private vals: (T | undefined)[];
  private capMask: number;
  private count = 0;

  constructor() {
    this.slots = new Int32Array(MIN_CAPACITY * STRIDE);
    this.vals = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
    this.capMask = MIN_CAPACITY - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The value stored under (key & mask), or undefined. Allocation-free. */
  find(key: Uint32Array | Int32Array, mask: Int32Array): T | undefined {
    const k0 = key[0] & mask[0];
    const k1 = key[1] & mask[1];
    const k2 = key[2] & mask[2];
    const k3 = key[3] & mask[3];
    const k4 = key[4] & mask[4];
    const k5 = key[5] & mask[5];
    const k6 = key[6] & mask[6];
    const k7 = key[7] & mask[7];
    const k8 = key[8] & mask[8];
    let h = 0x9747b28c;
    h = mix(h, k0);
    h = mix(h, k1);
    h = mix(h, k2);
    h = mix(h, k3);
    h = mix(h, k4);
    h = mix(h, k5);
    h = mix(h, k6);
    h = mix(h, k7);
    h = finish(mix(h, k8));
    const s = this.slots;
    const cm = this.capMask;
    let i = h & cm;
    while (true) {
      const b = i * STRIDE;
      const sh = s[b];
      if (sh === 0) return undefined;
      if (
        sh === h &&
        s[b + 1] === k0 &&
        s[b + 2] === k1 &&
        s[b + 3] === k2 &&
        s[b + 4] === k3 &&
        s[b + 5] === k4 &&
        s[b + 6] === k5 &&
        s[b + 7] === k6 &&
        s[b + 8] === k7 &&
        s[b + 9] === k8
      ) {
        return this.vals[i];
      }
      i = (i + 1) & cm;
    }
  }

  /** The value stored under exactly `words` (already masked). */
  get(words: Int32Array): T | undefined {
    const i = this.indexOf(words, hashWords(words));
    return i < 0 ? undefined : this.vals[i];
  }

  /** Stores `value` under `words` (already masked), replacing any previous value. */
  set(words: Int32Array, value: T): void {
    const h = hashWords(words);
    const found = this.indexOf(words, h);
    if (found >= 0) {
      this.vals[found] = value;
      return;
    }
    if ((this.count + 1) * 2 > this.capMask + 1) this.resize((this.capMask + 1) * 2);
    this.insertNew(words, h, value);
  }

  delete(words: Int32Array): boolean {
    const i = this.indexOf(words, hashWords(words));
    if (i < 0) return false;
    this.removeAt(i);
    this.count--;
    const cap = this.capMask + 1;
    if (cap > MIN_CAPACITY && this.count * 8 < cap) this.resize(cap / 2);
    return true;
  }

  *values(): IterableIterator<T> {
    for (let i = 0; i <= this.capMask; i++) {
      const v = this.vals[i];
      if (this.slots[i * STRIDE] !== 0 && v !== undefined) yield v;
    }
  }

  private indexOf(words: Int32Array, h: number): number {
    const s = this.slots;
    let i = h & this.capMask;
    while (true) {
      const b = i * STRIDE;
      if (s[b] === 0) return -1;
      if (s[b] === h) {
        let j = 0;
        while (j < FLOW_KEY_WORDS && s[b + 1 + j] === words[j]) j++;
        if (j === FLOW_KEY_WORDS) return i;
      }
      i = (i + 1) & this.capMask;
    }
  }

  private insertNew(words: Int32Array, h: number, value: T): void {
    const s = this.slots;
    let i = h & this.capMask;
    while (s[i * STRIDE] !== 0) i = (i + 1) & this.capMask;
    const b = i * STRIDE;
    s[b] = h;
    for (let j = 0; j < FLOW_KEY_WORDS; j++) s[b + 1 + j] = words[j];
    this.vals[i] = value;
    this.count++;
  }

  /** Backward-shift deletion: moves later members of the probe run into the hole. */
  private removeAt(hole: number): void {
    const s = this.slots;
    const cm = this.capMask;
    let i = hole;
    let j = hole;
    while (true) {
      j = (j + 1) & cm;
      const hb = j * STRIDE;
      if (s[hb] === 0) break;
      const home = s[hb] & cm;
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      s.copyWithin(i * STRIDE, hb, hb + STRIDE);
      this.vals[i] = this.vals[j];
      i = j;
    }
    s.fill(0, i * STRIDE, i * STRIDE + STRIDE);
    this.vals[i] = undefined;
  }

  private resize(capacity: number): void {
    const oldSlots = this.slots;
    const oldVals = this.vals;
    const oldCap = this.capMask + 1;
    this.slots = new Int32Array(capacity * STRIDE);
    this.vals = new Array<T | undefined>(capacity).fill(undefined);
    this.capMask = capacity - 1;
    this.count = 0;
    const words = new Int32Array(FLOW_KEY_WORDS);
    for (let i = 0; i < oldCap; i++) {
      const b = i * STRIDE;
      if (oldSlots[b] === 0) continue;
      for (let j = 0; j < FLOW_KEY_WORDS; j++) words[j] = oldSlots[b + 1 + j];
      this.insertNew(words, oldSlots[b], oldVals[i] as T);
    }
  }
}
