// Fair input (issue 12): each connection handles at most `inputBudget` messages per event-loop
// turn, round-robin, so a switch that floods cannot delay another switch's messages by more than
// one slice per busy connection.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Controller, type SwitchHandle } from "../../src/controller/index.js";
import { FakeSwitch, nextEvent, packetInBytes } from "./fake-switch.js";

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
