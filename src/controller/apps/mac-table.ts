// MAC address → port for one switch, as a learning switch keeps it: at most `capacity` entries,
// the least recently learned forgotten first. A MAC is 48 bits, which a JavaScript Map can only
// key as a heap number: every lookup boxed a fresh one and hashed it on V8's slow path, about a
// tenth of the controller's user-space time per packet-in. Here a MAC is two integers (its top
// 16 bits and its low 32) in typed arrays: chained hashing for lookup, a doubly linked list in
// learning order for eviction. Storage grows by doubling up to `capacity`.

const NONE = -1;
const INITIAL = 256;

export class MacTable {
  private hi = new Uint16Array(INITIAL);
  private lo = new Uint32Array(INITIAL);
  private port = new Uint16Array(INITIAL);
  /** Next entry in the same bucket. */
  private chain = new Int32Array(INITIAL);
  /** Learning order: toward the oldest and toward the newest entry. */
  private older = new Int32Array(INITIAL);
  private newer = new Int32Array(INITIAL);
  private buckets = new Int32Array(INITIAL).fill(NONE);
  private shift = 32 - Math.log2(INITIAL);
  private oldest = NONE;
  private newest = NONE;
  private used = 0;
  /** Entries freed by forget(), reused before `used` grows (linked through `chain`). */
  private freeList = NONE;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`MAC table capacity must be a positive integer, not ${capacity}`);
    }
  }

  get size(): number {
    return this.count;
  }

  /** The port behind MAC (hi16:lo32), or -1 if it is not known. */
  lookup(hi: number, lo: number): number {
    const e = this.find(hi, lo);
    return e === NONE ? -1 : this.port[e];
  }

  /** Learns that MAC (hi16:lo32) is behind `port`. A new MAC, or one that moved, becomes the
   * newest; when the table is full the oldest is forgotten to make room. */
  learn(hi: number, lo: number, port: number): void {
    const found = this.find(hi, lo);
    if (found !== NONE) {
      if (this.port[found] === port) return;
      this.forget(found);
    }
    if (this.count >= this.capacity) this.forget(this.oldest);
    const e = this.allocate();
    this.hi[e] = hi;
    this.lo[e] = lo;
    this.port[e] = port;
    const b = this.bucket(hi, lo);
    this.chain[e] = this.buckets[b];
    this.buckets[b] = e;
    this.older[e] = this.newest;
    this.newer[e] = NONE;
    if (this.newest === NONE) this.oldest = e;
    else this.newer[this.newest] = e;
    this.newest = e;
    this.count++;
  }

  private bucket(hi: number, lo: number): number {
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  private find(hi: number, lo: number): number {
    let e = this.buckets[this.bucket(hi, lo)];
    while (e !== NONE && (this.lo[e] !== lo || this.hi[e] !== hi)) e = this.chain[e];
    return e;
  }

  private forget(e: number): void {
    const b = this.bucket(this.hi[e], this.lo[e]);
    if (this.buckets[b] === e) {
      this.buckets[b] = this.chain[e];
    } else {
      let p = this.buckets[b];
      while (this.chain[p] !== e) p = this.chain[p];
      this.chain[p] = this.chain[e];
    }
    const o = this.older[e];
    const n = this.newer[e];
    if (o === NONE) this.oldest = n;
    else this.newer[o] = n;
    if (n === NONE) this.newest = o;
    else this.older[n] = o;
    this.chain[e] = this.freeList;
    this.freeList = e;
    this.count--;
  }

  private allocate(): number {
    if (this.freeList !== NONE) {
      const e = this.freeList;
      this.freeList = this.chain[e];
      return e;
    }
    if (this.used === this.hi.length) this.grow();
    return this.used++;
  }

  /** Doubles the storage and the buckets (only while every slot is in use: no free list). */
  private grow(): void {
    const n = this.hi.length * 2;
    const widen = <T extends Uint16Array | Uint32Array | Int32Array>(
      a: T,
      make: (n: number) => T,
    ) => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.hi = widen(this.hi, (k) => new Uint16Array(k));
    this.lo = widen(this.lo, (k) => new Uint32Array(k));
    this.port = widen(this.port, (k) => new Uint16Array(k));
    this.chain = new Int32Array(n);
    this.older = widen(this.older, (k) => new Int32Array(k));
    this.newer = widen(this.newer, (k) => new Int32Array(k));
    this.buckets = new Int32Array(n).fill(NONE);
    this.shift--;
    for (let e = 0; e < this.used; e++) {
      const b = this.bucket(this.hi[e], this.lo[e]);
      this.chain[e] = this.buckets[b];
      this.buckets[b] = e;
    }
  }
}
