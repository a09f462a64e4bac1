// An exact-match cache in front of the classifier (Open vSwitch's EMC): the full 12-tuple of a
// recent packet maps straight to the entry the classifier chose for it (or to "no entry"), so a
// packet of an established flow costs one hash and one nine-word compare, whatever the number of
// wildcard masks or the size of the exact table. Direct-mapped: a colliding flow just replaces
// the slot. The owner invalidates the whole cache in O(1) whenever the table changes.
// Like Open vSwitch's emc-insert-inv-prob, a classifier answer is stored only now and then
// (`offer`): a flow that keeps sending gets in after a few packets, while traffic with no repeats
// (a scan, or uniform random keys over a huge table) does not pay a store per packet.
import { FLOW_KEY_WORDS } from "../packet/flow-key.js";

export const DEFAULT_CACHE_SLOTS = 8192;

export class MicroflowCache<T> {
  private readonly mask: number;
  private readonly keys: Uint32Array;
  private readonly hashes: Int32Array;
  /** Slot generation; a slot is valid only when it equals `gen`. */
  private readonly gens: Uint32Array;
  private readonly values: (T | undefined)[];
  private gen = 1;
  private rng = 0x2545f491;
  private readonly insertMask: number;
  hits = 0;

  /** `insertOneIn`: a power of two; 1 stores every answer offered. */
  constructor(slots = DEFAULT_CACHE_SLOTS, insertOneIn = 8) {
    if (insertOneIn < 1 || (insertOneIn & (insertOneIn - 1)) !== 0) {
      throw new RangeError("insertOneIn: a power of two");
    }
    this.insertMask = insertOneIn - 1;
    if (slots < 1 || (slots & (slots - 1)) !== 0) throw new RangeError("slots: a power of two");
    this.mask = slots - 1;
    this.keys = new Uint32Array(slots * FLOW_KEY_WORDS);
    this.hashes = new Int32Array(slots);
    this.gens = new Uint32Array(slots);
    this.values = new Array<T | undefined>(slots).fill(undefined);
  }

  /** Forgets every slot (O(1)). */
  invalidate(): void {
    if (++this.gen === 0xffffffff) {
      this.gens.fill(0);
      this.values.fill(undefined);
      this.gen = 1;
    }
  }

  /** The slot holding `key` (hashed to `hash`), or -1. */
  find(key: Uint32Array, hash: number): number {
    const slot = hash & this.mask;
    if (this.gens[slot] !== this.gen || this.hashes[slot] !== hash) return -1;
    const k = this.keys;
    const o = slot * FLOW_KEY_WORDS;
    if (
      k[o] !== key[0] ||
      k[o + 1] !== key[1] ||
      k[o + 2] !== key[2] ||
      k[o + 3] !== key[3] ||
      k[o + 4] !== key[4] ||
      k[o + 5] !== key[5] ||
      k[o + 6] !== key[6] ||
      k[o + 7] !== key[7] ||
      k[o + 8] !== key[8]
    ) {
      return -1;
    }
    this.hits++;
    return slot;
  }

  value(slot: number): T | undefined {
    return this.values[slot];
  }

  /** Stores the answer with probability 1/insertOneIn (xorshift32: no Math.random per packet). */
  offer(key: Uint32Array, hash: number, value: T | undefined): void {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x;
    if ((x & this.insertMask) === 0) this.store(key, hash, value);
  }

  /** Remembers the classifier's answer (an entry, or undefined for a table miss) for `key`. */
  store(key: Uint32Array, hash: number, value: T | undefined): void {
    const slot = hash & this.mask;
    this.keys.set(key, slot * FLOW_KEY_WORDS);
    this.hashes[slot] = hash;
    this.gens[slot] = this.gen;
    this.values[slot] = value;
  }
}
