// Packet and byte counters and the last-used time of live flow entries, one record of
// RECORD doubles per entry in a single Float64Array. recordHit then writes one dense record
// instead of the entry's double fields (each a separate heap box in V8: another cache miss),
// and at 100,000 entries the whole store (3 MB) can stay in cache.
export const RECORD = 4;
export const PACKETS = 0;
export const BYTES = 1;
export const LAST_USED = 2;

export class HitCounters {
  /** Read `data` afresh after alloc(): it is replaced when the store grows. */
  data = new Float64Array(64 * RECORD);
  private free = new Int32Array(64);
  private freeCount = 0;
  private used = 0;

  /** A zeroed record stamped `nowMs`; returns its slot. */
  alloc(nowMs: number): number {
    let slot: number;
    if (this.freeCount > 0) slot = this.free[--this.freeCount];
    else {
      if (this.used * RECORD === this.data.length) this.grow();
      slot = this.used++;
    }
    const b = slot * RECORD;
    this.data[b + PACKETS] = 0;
    this.data[b + BYTES] = 0;
    this.data[b + LAST_USED] = nowMs;
    return slot;
  }

  release(slot: number): void {
    if (this.freeCount === this.free.length) {
      const free = new Int32Array(this.free.length * 2);
      free.set(this.free);
      this.free = free;
    }
    this.free[this.freeCount++] = slot;
  }

  private grow(): void {
    const data = new Float64Array(this.data.length * 2);
    data.set(this.data);
    this.data = data;
  }
}
