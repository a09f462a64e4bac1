// The MAC table behind the "normal" action: source MAC -> port with aging, in typed arrays (4-way
// set-associative, oldest way replaced) so learning and lookup never allocate. One table
// for all VLANs, like a Linux bridge without vlan_filtering.

const WAYS = 4;

export class MacLearningTable {
  private readonly hi: Uint16Array;
  private readonly lo: Uint32Array;
  /** Port number + 1, so 0 marks an empty way. */
  private readonly port: Uint32Array;
  private readonly seen: Float64Array;
  private readonly shift: number;

  /**
   * @param buckets a power of two; capacity is buckets * 4 addresses
   * @param agingSec entries not refreshed for this long are forgotten (Linux bridge: 300 s)
   */
  constructor(
    buckets = 4096,
    readonly agingSec = 300,
  ) {
    const bits = Math.round(Math.log2(buckets));
    const n = (1 << bits) * WAYS;
    this.hi = new Uint16Array(n);
    this.lo = new Uint32Array(n);
    this.port = new Uint32Array(n);
    this.seen = new Float64Array(n);
    this.shift = 32 - bits;
  }

  private bucket(hi: number, lo: number): number {
    return (Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift) * WAYS;
  }

  /** Learns the MAC at frame[off..off+6) as reachable through `portNo` at time `now` (s). */
  learn(frame: Uint8Array, off: number, portNo: number, now: number): void {
    const hi = (frame[off] << 8) | frame[off + 1];
    const lo =
      ((frame[off + 2] << 24) | (frame[off + 3] << 16) | (frame[off + 4] << 8) | frame[off + 5]) >>>
      0;
    const b = this.bucket(hi, lo);
    let victim = b;
    for (let i = b; i < b + WAYS; i++) {
      if (this.port[i] !== 0 && this.hi[i] === hi && this.lo[i] === lo) {
        this.port[i] = portNo + 1;
        this.seen[i] = now;
        return;
      }
      if (this.port[i] === 0 || this.seen[i] < this.seen[victim]) victim = i;
      if (this.port[victim] === 0) break;
    }
    this.hi[victim] = hi;
    this.lo[victim] = lo;
    this.port[victim] = portNo + 1;
    this.seen[victim] = now;
  }

  /** The port the MAC at frame[off..off+6) was learned on, or -1 (unknown or aged out). */
  lookup(frame: Uint8Array, off: number, now: number): number {
    const hi = (frame[off] << 8) | frame[off + 1];
    const lo =
      ((frame[off + 2] << 24) | (frame[off + 3] << 16) | (frame[off + 4] << 8) | frame[off + 5]) >>>
      0;
    const b = this.bucket(hi, lo);
    for (let i = b; i < b + WAYS; i++) {
      if (this.port[i] !== 0 && this.hi[i] === hi && this.lo[i] === lo) {
        if (now - this.seen[i] > this.agingSec) {
          this.port[i] = 0;
          return -1;
        }
        return this.port[i] - 1;
      }
    }
    return -1;
  }

  /** Forgets every address learned on `portNo` (the port went down or away). */
  flushPort(portNo: number): void {
    for (let i = 0; i < this.port.length; i++) if (this.port[i] === portNo + 1) this.port[i] = 0;
  }
}
