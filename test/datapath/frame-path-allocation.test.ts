// The transmit path of an AF_PACKET port allocates nothing per frame: a frame handed to send()
// from a receive slot (a view longer than the frame, as the datapath passes them) is copied
// into the transmit area without a temporary object. Measured as the growth of V8's young
// generation over a run with no collection in it: Buffer.prototype.copy with a source range
// made a Uint8Array view per frame, megabytes over this run, so a collection would always fall
// inside it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AfPacketPort } from "../../src/datapath/afpacket-port.js";
import { copyBytes } from "../../src/datapath/copy-bytes.js";
import { udpFrame } from "../support/frames.js";
import { labPrefix, Topology } from "../support/netns.js";
import { afpacketMissing, skipWithout } from "../support/prereq.js";
import { waitFor } from "../support/wait.js";
import { youngGrowth } from "../support/young-growth.js";

const skip = skipWithout(import.meta.url, afpacketMissing());

describe.skipIf(skip)("frame path allocation", () => {
  const lab = new Topology(labPrefix("alc"));
  let ifA = "";
  let ifIn = "";
  let ifGen = "";
  let ifOut = "";
  beforeAll(() => {
    [ifA] = lab.addVethPair("a");
    [ifIn, ifGen] = lab.addVethPair("i");
    [ifOut] = lab.addVethPair("o");
  });
  afterAll(() => lab.teardown());

  it("copyBytes copies a range, overlapping or not, and refuses ranges outside an array", () => {
    const a = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const b = Buffer.alloc(4);
    copyBytes(b, 1, a, 5, 3);
    expect([...b]).toEqual([0, 5, 6, 7]);
    copyBytes(a, 2, a, 0, 4); // overlap: memmove semantics
    expect([...a]).toEqual([0, 1, 0, 1, 2, 3, 6, 7]);
    expect(() => copyBytes(b, 2, a, 0, 3)).toThrow(RangeError);
    expect(() => copyBytes(b, 0, a, 7, 2)).toThrow(RangeError);
  });

  it("forwards received frames from one port to another without allocating per frame", async () => {
    // No CoDel on either transmit queue (as in afpacket-port.test.ts): on a loaded machine it
    // rightly drops at the head, and this test counts frames.
    const out = new AfPacketPort(2, ifOut, { aqm: false });
    out.open(() => {});
    const into = new AfPacketPort(1, ifIn);
    into.open((frame, length) => out.send(frame, length));
    // The generator sends from this thread: 1,024 frames wait in the receive ring, then reach
    // the handler in a few batches of 256, so what is measured is per frame, not per wake-up
    // of the event loop (Node allocates a little per wake-up, even with no JavaScript called).
    const gen = new AfPacketPort(3, ifGen, { txThread: false });
    gen.open(() => {});
    const frame = udpFrame({ sport: 7, dport: 9 });
    // A round ends when every frame generated so far is forwarded and counted (the transmit
    // thread's counts reach out.counters when it reports going idle, an async callback), not
    // after a fixed 20 ms: on a loaded machine a round still in the ring then met the next
    // one (ring drops), or was counted in the next attempt.
    const allForwarded = () => out.counters.txPackets >= gen.counters.txPackets;
    const unforwarded = () =>
      `${gen.counters.txPackets} frames forwarded (${out.counters.txPackets} so far)`;
    const round = async () => {
      for (let i = 0; i < 1024; i++) gen.send(frame, frame.length);
      gen.flush();
      await waitFor(allForwarded, unforwarded, 5000, 20);
    };
    try {
      for (let i = 0; i < 5; i++) await round(); // warm up
      let frames = 0;
      const grew = await youngGrowth(async () => {
        const forwarded = out.counters.txPackets;
        for (let i = 0; i < 20; i++) await round();
        frames = out.counters.txPackets - forwarded;
      });
      expect(grew, "a collection fell inside every attempt").toBeGreaterThanOrEqual(0);
      expect(frames).toBe(20 * 1024);
      // Measured about 120 KB: the rounds' timers and promises and the transmit counters
      // folded at each hand-over, not per frame; 20 bytes a frame would be 400 KB.
      expect(grew).toBeLessThan(400 * 1024);
    } finally {
      gen.close();
      into.close();
      out.close();
    }
  });

  it("sends 100,000 frames from slot-sized views without allocating per frame", async () => {
    const port = new AfPacketPort(1, ifA, { aqm: false }); // it counts frames, as above
    port.open(() => {});
    const slot = Buffer.alloc(2048);
    udpFrame({ sport: 7, dport: 9 }).copy(slot);
    try {
      const burst = () => {
        for (let i = 0; i < 500; i++) port.send(slot, 60);
      };
      for (let i = 0; i < 20; i++) burst(); // warm up (optimised code, queue in steady state)
      const grew = await youngGrowth(async () => {
        for (let i = 0; i < 200; i++) burst();
      }, 20);
      expect(grew, "a collection fell inside every attempt").toBeGreaterThanOrEqual(0);
      expect(grew).toBeLessThan(64 * 1024); // well under a byte per frame
      await waitFor(() => port.counters.txPackets >= 110_000, "the frames sent");
    } finally {
      port.close();
    }
  });
});
