// Indexed binary min-heap of flow entries keyed by entry.deadlineMs. Each entry with a timeout
// sits in it once (entry.heapIndex), so a deleted entry is taken out in O(log n) and expiry
// touches only entries whose deadline has come.
import type { FlowEntry } from "./flow-entry.js";

export class ExpiryHeap<A> {
  private readonly items: FlowEntry<A>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): FlowEntry<A> | undefined {
    return this.items[0];
  }

  push(e: FlowEntry<A>): void {
    e.heapIndex = this.items.length;
    this.items.push(e);
    this.up(e.heapIndex);
  }

  remove(e: FlowEntry<A>): void {
    const i = e.heapIndex;
    if (i < 0) return;
    const last = this.items.pop() as FlowEntry<A>;
    e.heapIndex = -1;
    if (last === e) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  /** Re-sorts `e` after its deadlineMs changed. */
  update(e: FlowEntry<A>): void {
    this.up(e.heapIndex);
    this.down(e.heapIndex);
  }

  private up(i: number): void {
    const items = this.items;
    const e = items[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (items[p].deadlineMs <= e.deadlineMs) break;
      items[i] = items[p];
      items[i].heapIndex = i;
      i = p;
    }
    items[i] = e;
    e.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[i];
    while (true) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && items[c + 1].deadlineMs < items[c].deadlineMs) c++;
      if (items[c].deadlineMs >= e.deadlineMs) break;
      items[i] = items[c];
      items[i].heapIndex = i;
      i = c;
    }
    items[i] = e;
    e.heapIndex = i;
  }
}
