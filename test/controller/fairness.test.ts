// Fair input (issue 12): each connection handles at most `inputBudget` messages per event-loop
// turn, round-robin, so a switch that floods cannot delay another switch's messages by more than
// one slice per busy connection.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Controller, type SwitchHandle } from "../../src/controller/index.js";
import { InputScheduler, type BacklogOwner } from "../../src/controller/input-scheduler.js";
import { FakeSwitch, nextEvent, packetInBytes } from "./fake-switch.js";

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

  it("rejects a budget that is not a positive integer", () => {
    expect(() => new InputScheduler(0)).toThrow(RangeError);
    expect(() => new Controller({ inputBudget: 1.5, logger: pino({ level: "silent" }) })).toThrow(
      /input budget/,
    );
  });
});

describe("a switch flooding the controller", () => {
  let controller: Controller | undefined;
  const fakes: FakeSwitch[] = [];
  afterEach(async () => {
    for (const f of fakes.splice(0)) f.close();
    await controller?.close();
  });

  it("delays another switch's message by at most a slice, not by its whole backlog", async () => {
    controller = new Controller({ logger: pino({ level: "silent" }) });
    const handled = new Map<bigint, number>();
    let floodBeforeOther = -1;
    controller.register("packet-in", (sw) => {
      handled.set(sw.datapathId, (handled.get(sw.datapathId) ?? 0) + 1);
      if (sw.datapathId === 2n && floodBeforeOther < 0) floodBeforeOther = handled.get(1n) ?? 0;
    });
    const { port } = await controller.listen("ptcp:0");
    const joins = nextEvent<[SwitchHandle]>((f) => controller!.register("join", f));
    const flooder = await FakeSwitch.joined(port, 1n);
    await joins;
    const other = await FakeSwitch.joined(port, 2n);
    fakes.push(flooder, other);
    await expect.poll(() => controller!.switches.size).toBe(2);

    const one = packetInBytes(
      Buffer.from("02000000000202000000000108004500".padEnd(120, "0"), "hex"),
    );
    const total = 20_000; // 1.6 MB: what a cbench switch has in its socket buffers
    flooder.sendRaw(Buffer.concat(Array.from({ length: total }, () => one)));
    other.sendRaw(one);
    await expect.poll(() => handled.get(1n) ?? 0, { timeout: 20_000 }).toBe(total);
    expect(handled.get(2n)).toBe(1);
    // Before the budget, every byte of the flood already in the kernel (hundreds of KB) was
    // handled first: thousands of packet-ins.
    expect(floodBeforeOther).toBeGreaterThanOrEqual(0);
    expect(floodBeforeOther).toBeLessThanOrEqual(500);
  });
});
