// Fair input: the InputScheduler gives each channel with received input at most `budget`
// messages per event-loop turn, round-robin (issue 12), for the switch and the controller alike.
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { Controller } from "../../src/controller/index.js";
import {
  DEFAULT_CONNECTIONS_PER_TURN,
  InputScheduler,
  type BacklogOwner,
} from "../../src/ofchannel/input-scheduler.js";

const turn = () => new Promise((r) => setImmediate(r));

/** A connection whose backlog is just a number of messages; records the slices it was given. */
class Owner implements BacklogOwner {
  slices: number[] = [];
  cleared = 0;
  constructor(
    private left: number,
    readonly log: string[],
    readonly name: string,
  ) {}
  runInput(budget: number): boolean {
    const n = Math.min(budget, this.left);
    this.left -= n;
    this.slices.push(n);
    this.log.push(this.name);
    return this.left > 0;
  }
  backlogCleared(): void {
    this.cleared++;
  }
}

describe("InputScheduler", () => {
  it("gives each waiting connection one slice of at most `budget` per turn, round-robin", async () => {
    const s = new InputScheduler(50);
    const log: string[] = [];
    const a = new Owner(120, log, "a");
    const b = new Owner(30, log, "b");
    const c = new Owner(101, log, "c");
    s.add(a);
    s.add(b);
    s.add(c);
    expect(log).toEqual([]); // nothing runs before the next turn
    await turn();
    expect(log).toEqual(["a", "b", "c"]);
    expect(b.cleared).toBe(1); // done after one slice: leaves the queue, may read again
    await turn();
    await turn();
    await turn();
    expect(log).toEqual(["a", "b", "c", "a", "c", "a", "c"]);
    expect(a.slices).toEqual([50, 50, 20]);
    expect(c.slices).toEqual([50, 50, 1]);
    expect([a.cleared, b.cleared, c.cleared]).toEqual([1, 1, 1]);
    expect(s.waiting).toBe(0);
  });

  it("keeps the others' places when a handler throws", async () => {
    const s = new InputScheduler(10);
    const log: string[] = [];
    let throws = true;
    const bad: BacklogOwner = {
      runInput: () => {
        log.push("bad");
        if (throws) {
          throws = false;
          throw new Error("boom");
        }
        return false;
      },
      backlogCleared: () => undefined,
    };
    const good = new Owner(5, log, "good");
    s.add(bad);
    s.add(good);
    // The turn the event loop would run, called here so that the throw is not an uncaught one.
    expect(() => (s as unknown as { run(): void }).run()).toThrow("boom");
    expect(good.slices).toEqual([]); // not served in that turn...
    expect(s.waiting).toBe(2); // ...nor dropped: both keep their places
    await turn();
    expect(log).toEqual(["bad", "bad", "good"]);
    expect(good.slices).toEqual([5]);
    expect(s.waiting).toBe(0);
  });

  it("serves at most `perTurn` connections per turn, so a turn stays short however many flood", async () => {
    // Node accepts one connection per event-loop turn: with 256 flooding switches all served in
    // every turn, the turn took tens of ms and the last switch's accept waited 2.3 s.
    const s = new InputScheduler(50, 16);
    expect(DEFAULT_CONNECTIONS_PER_TURN).toBe(16);
    const log: string[] = [];
    const owners = Array.from({ length: 40 }, (_, i) => new Owner(100, log, `o${i}`));
    for (const o of owners) s.add(o);
    const name = (i: number) => `o${i}`;
    await turn();
    expect(log).toEqual(Array.from({ length: 16 }, (_, i) => name(i)));
    await turn();
    expect(log.slice(16)).toEqual(Array.from({ length: 16 }, (_, i) => name(16 + i)));
    // The last 8 of the first round, then the first 8 again: round-robin across turns.
    await turn();
    expect(log.slice(32)).toEqual(
      [32, 33, 34, 35, 36, 37, 38, 39, 0, 1, 2, 3, 4, 5, 6, 7].map(name),
    );
    // Every connection gets both of its slices, the same number of turns apart.
    for (let t = 0; t < 3; t++) await turn();
    expect(owners.map((o) => o.slices)).toEqual(owners.map(() => [50, 50]));
    expect(owners.every((o) => o.cleared === 1)).toBe(true);
    expect(s.waiting).toBe(0);
  });

  it("rejects a budget that is not a positive integer", () => {
    expect(() => new InputScheduler(0)).toThrow(RangeError);
    expect(() => new InputScheduler(50, 0)).toThrow(/connections per turn/);
    expect(() => new Controller({ inputBudget: 1.5, logger: pino({ level: "silent" }) })).toThrow(
      /input budget/,
    );
  });
});
