// Fair input on the switch (the channel's InputScheduler, as Open vSwitch's ofconn handles at
// most 50 messages per connection per run): a controller that floods FLOW_MODs delays another
// session's request by a few slices, not by everything it has sent.
import { describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { OFPFW, OFPT } from "../../src/openflow/of10/constants.js";
import { MATCH_ALL } from "../openflow/helpers.js";
import { flowMod, output, switchPerTest } from "./switch-harness.js";

const startSwitch = switchPerTest();

describe("fair input between controller sessions", () => {
  it("a flood of 100,000 FLOW_MODs on one session holds up another session's ECHO by a few slices", async () => {
    const N = 100_000;
    const h = await startSwitch({ maxFlows: N + 10 });
    const flooder = await h.connect();
    const other = await h.connect();
    const flood = Buffer.concat(
      Array.from({ length: N }, (_, i) =>
        encodeMessage(
          flowMod({
            xid: i + 1,
            match: {
              ...MATCH_ALL,
              wildcards: OFPFW.ALL & ~(OFPFW.DL_TYPE | OFPFW.NW_PROTO | OFPFW.TP_DST),
              dlType: 0x0800,
              nwProto: 17,
              tpDst: i & 0xffff,
              tpSrc: 0,
            },
            priority: 1 + (i >>> 16),
            actions: [output(2)],
          }),
        ),
      ),
    ); // 8 MB: several reads of up to 256 KiB each
    flooder.sendRaw(flood);
    // Wait until the flood is being handled, then ask the other session for an echo.
    while (h.sw.table.activeCount === 0) await new Promise((r) => setImmediate(r));
    const before = h.sw.table.activeCount;
    await other.request({ type: OFPT.ECHO_REQUEST, xid: 0, data: Buffer.alloc(0) }, 10_000);
    const meanwhile = h.sw.table.activeCount - before;
    // A read of the flood is up to 256 KiB (3,200 FLOW_MODs) and libuv reads a socket up to 32
    // times per poll: handled at once, that is tens of thousands ahead of the echo.
    expect(meanwhile).toBeLessThan(2000);
    await flooder.request({ type: OFPT.BARRIER_REQUEST, xid: 0 }, 30_000);
    expect(h.sw.table.activeCount).toBe(N);
  }, 60_000);
});
