// AfPacketPort on a veth pair in this namespace; the far end is driven by PcapPort (libpcap,
// independent code) so neither direction is checked by the code under test alone.
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AFP_RX } from "../../src/datapath/afpacket-native.js";
import { AfPacketPort, type AfPacketPortOptions } from "../../src/datapath/afpacket-port.js";
import { PcapPort } from "../../src/datapath/pcap-port.js";
import { eth, udpFrame } from "../support/frames.js";
import { labPrefix, runSync, Topology } from "../support/netns.js";
import { afpacketMissing, capMissing, skipWithout } from "../support/prereq.js";
import { sleep, waitFor } from "../support/wait.js";

// The far end is a libpcap port: independent code on the other side of the wire.
const skip = skipWithout(import.meta.url, afpacketMissing() ?? capMissing());

/** A UDP frame whose payload carries `seq`, so order and integrity can be checked. */
function seqFrame(seq: number, size = 60): Buffer {
  const data = Array.from({ length: size - 42 }, (_, i) => (seq * 7 + i) & 0xff);
  data[0] = seq >>> 8;
  data[1] = seq & 0xff;
  return udpFrame({ sport: 4000, dport: 4001 }, data);
}

const PRIME = udpFrame({ sport: 1, dport: 1 });
const isPrime = (frame: Buffer) => frame.readUInt16BE(34) === 1;

/**
 * libpcap (PcapPort) here drops the first frame arriving after it opens; sending priming frames
 * until one is seen makes the peer's count exact for what follows.
 */
async function prime(from: { send(f: Buffer, n: number): boolean }, seen: () => boolean) {
  for (let i = 0; i < 100 && !seen(); i++) {
    from.send(PRIME, PRIME.length);
    await sleep(10);
  }
  if (!seen()) throw new Error("the peer never saw a priming frame");
}

/**
 * cap's native Pcap object crashes Node when the garbage collector destroys it
 * (Pcap::~Pcap -> AsyncWrap::EmitDestroy, SIGSEGV), even after close(): every PcapPort a test
 * creates stays referenced until the process exits.
 */
const pcapKeepAlive: PcapPort[] = [];

function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

function packetMappings(): number {
  return readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .filter((l) => l.includes("socket:[")).length;
}

describe.skipIf(skip)("AfPacketPort, TPACKET_V2 ring", () => {
  const lab = new Topology(labPrefix("ap2"));
  let sw = "";
  let peerIf = "";
  const open: { close(): void }[] = [];
  const port = (o: AfPacketPortOptions = {}) => {
    const p = new AfPacketPort(1, sw, o);
    open.push(p);
    return p;
  };
  const peer = () => {
    const p = new PcapPort(2, peerIf);
    open.push(p);
    pcapKeepAlive.push(p);
    return p;
  };

  beforeAll(() => {
    [sw, peerIf] = lab.addVethPair("v");
  });
  afterEach(() => {
    for (const p of open.splice(0)) p.close();
  });
  afterAll(() => lab.teardown());

  it("receives frames in order and intact, one JavaScript call per batch", async () => {
    const a = port();
    const got: Buffer[] = [];
    a.open((frame, length) => got.push(Buffer.from(frame.subarray(0, length))));
    const b = peer();
    const seen: Buffer[] = [];
    b.open(() => {});
    const sizes = [60, 61, 128, 1000, 1514];
    for (let i = 0; i < 300; i++) {
      const f = seqFrame(i, sizes[i % sizes.length]);
      seen.push(f);
      b.send(f, f.length);
    }
    await waitFor(() => got.length >= 300, "300 frames");
    expect(got).toEqual(seen);
    expect(a.counters.rxPackets).toBe(300);
    expect(a.counters.rxBytes).toBe(seen.reduce((n, f) => n + f.length, 0));
    expect(a.afStats.batches).toBeLessThan(300);
  });

  it("transmits batched frames that the peer receives intact and in order", async () => {
    // No CoDel: 1,500 frames queued by one task sit in the queue for milliseconds when the
    // machine is loaded, and CoDel then drops at the head, as it should (its own tests in
    // afpacket-native); this test is about what the sender does with what it is given.
    const a = port({ aqm: false });
    a.open(() => {});
    // The peer is a second AfPacketPort: PcapPort's ring holds only ~255 frames (libpcap sizes
    // its slots for 64 KiB snaplen), fewer than this burst.
    const b = new AfPacketPort(2, peerIf);
    open.push(b);
    const got: Buffer[] = [];
    b.open((frame, length) => got.push(Buffer.from(frame.subarray(0, length))));
    const sent: Buffer[] = [];
    for (let i = 0; i < 1500; i++) {
      // more than the transmit queue holds (1024) and a frame as large as the MTU allows
      const f = seqFrame(i, i === 5 ? 1514 : 60 + (i % 50));
      sent.push(f);
      expect(a.send(f, f.length)).toBe(true);
    }
    await waitFor(
      () => got.length >= 1500,
      () =>
        `1500 frames at the peer (got ${got.length}; sent ${a.counters.txPackets}, ` +
        `dropped ${a.counters.txDropped}, the peer's ring dropped ${b.counters.rxDropped})`,
    );
    expect(got).toEqual(sent);
    // The peer has the frames as soon as the transmit thread's sendmmsg returns; its counts
    // reach the port when it reports going idle (an async callback), which may come after.
    await waitFor(
      () => a.counters.txPackets + a.counters.txDropped >= 1500,
      () => `the sender's counts (${a.counters.txPackets} sent, ${a.counters.txDropped} dropped)`,
    );
    expect(a.counters.txPackets).toBe(1500);
    expect(a.counters.txBytes).toBe(sent.reduce((n, f) => n + f.length, 0));
    // Handed over when the queue filled and at the end of the task; sent by sendmmsg in
    // chunks of up to 16 (a hand-over or the end of the ring cuts one short), and a flow's
    // first frame in a hand-over alone ahead of the queue (txq.h, AFP_TX_SPARSE).
    expect(a.afStats.flushes).toBeGreaterThanOrEqual(2);
    expect(a.afStats.sendCalls).toBeGreaterThanOrEqual(94);
    expect(a.afStats.sendCalls).toBeLessThanOrEqual(95 + 2 * a.afStats.flushes); // + a ring wrap
    expect(a.counters.txDropped).toBe(0);
  });

  it("never receives its own transmissions", async () => {
    const a = port();
    const got: Buffer[] = [];
    a.open((frame, length) => got.push(Buffer.from(frame.subarray(0, length))));
    const b = peer();
    let atPeer = 0;
    let primed = false;
    b.open((frame) => (isPrime(frame) ? (primed = true) : atPeer++));
    await prime(a, () => primed);
    for (let i = 0; i < 50; i++) a.send(seqFrame(i), 60);
    await waitFor(() => atPeer >= 50, "50 frames at the peer");
    // A frame from the peer after them: once it is in, anything of ours would be too.
    const marker = seqFrame(999);
    b.send(marker, marker.length);
    await waitFor(() => got.length >= 1, "the marker frame");
    await sleep(20);
    expect(got).toEqual([marker]);
  });

  it("puts back the 802.1Q tag the kernel moved into the ring header", async () => {
    const a = port();
    const got: { bytes: Buffer; flags: number }[] = [];
    a.open((frame, length) =>
      got.push({ bytes: Buffer.from(frame.subarray(0, length)), flags: a.rxFlags }),
    );
    const b = peer();
    b.open(() => {});
    const tagged = eth({ type: 0x0800, vlan: { vid: 100, pcp: 5 } }, [...seqFrame(1).subarray(14)]);
    const priorityOnly = eth({ type: 0x0806, vlan: { vid: 0, pcp: 3 } }, new Array(46).fill(1));
    const untagged = seqFrame(2);
    for (const f of [tagged, priorityOnly, untagged]) b.send(f, f.length);
    await waitFor(() => got.length >= 3, "3 frames");
    expect(got.map((g) => g.bytes)).toEqual([tagged, priorityOnly, untagged]);
    expect(got.map((g) => g.flags & AFP_RX.VLAN)).toEqual([AFP_RX.VLAN, AFP_RX.VLAN, 0]);
    expect(a.afStats.vlanRestored).toBe(2);
  });

  it("counts a burst larger than the ring as kernel drops", async () => {
    // The smallest ring: 2 blocks of 64 KiB, 64 slots of 2 KiB.
    const a = port({ ringBytes: 128 << 10 });
    let got = 0;
    a.open(() => got++);
    const b = peer();
    b.open(() => {});
    const burst = 3000;
    // Synchronous sends: the event loop cannot drain the ring until the burst is over.
    for (let i = 0; i < burst; i++) b.send(seqFrame(i, 200), 200);
    await waitFor(() => {
      a.pollStats();
      return got + a.counters.rxDropped >= burst;
    }, "every frame received or counted as dropped");
    expect(a.counters.rxDropped).toBeGreaterThan(0);
    expect(got).toBeLessThan(burst);
    expect(got + a.counters.rxDropped).toBe(burst);
    expect(a.refresh()).toBe("unchanged");
  });

  it("takes a burst of frames larger than a slot whole, none truncated", async () => {
    // Frames above the 2 KiB slot wait whole in the socket's receive buffer (TP_STATUS_COPY);
    // when that is full the kernel truncates them. 1,000 jumbo frames take about 16 MiB of
    // it (truesize): with a 4 MiB buffer (8 MiB as the kernel counts) hundreds were truncated.
    const mtu = (n: number) =>
      runSync("sh", ["-c", `ip link set ${sw} mtu ${n} && ip link set ${peerIf} mtu ${n}`]);
    mtu(9000);
    try {
      const a = port();
      let whole = 0;
      a.open((_frame, length) => {
        if (length === 9000) whole++;
      });
      // A truncated frame is counted as an overrun and never delivered.
      const truncated = () => a.counters.rxOverErr;
      const b = peer();
      b.open(() => {});
      const burst = 1000;
      const big = seqFrame(1, 9000);
      // Synchronous sends: the event loop cannot read the ring until the burst is over.
      for (let i = 0; i < burst; i++) b.send(big, big.length);
      await waitFor(
        () => whole + truncated() >= burst,
        () => `${burst} jumbo frames (whole ${whole}, truncated ${truncated()})`,
      );
      expect(truncated()).toBe(0);
      expect(whole).toBe(burst);
    } finally {
      mtu(1500);
    }
  });

  it("releases its socket and ring on close, also when opened repeatedly", async () => {
    const fds = fdCount();
    const maps = packetMappings();
    for (let i = 0; i < 10; i++) {
      const a = new AfPacketPort(1, sw);
      a.open(() => {});
      expect(fdCount()).toBe(fds + 1);
      expect(packetMappings()).toBeGreaterThan(maps);
      a.send(seqFrame(i), 60); // queued, flushed by close
      a.close();
      expect(a.counters.txPackets).toBe(1);
      expect(a.send(seqFrame(i), 60)).toBe(false);
    }
    expect(fdCount()).toBe(fds);
    expect(packetMappings()).toBe(maps);
  });
});

describe.skipIf(skip)("AfPacketPort link changes", () => {
  const lab = new Topology(labPrefix("apl"));
  afterAll(() => lab.teardown());

  it("reports a vanished interface as gone and releases its socket", async () => {
    const [sw] = lab.addVethPair("g");
    const fds = fdCount();
    const a = new AfPacketPort(1, sw);
    a.open(() => {});
    // A veth that was just set up may still be settling its carrier: "changed" is fine here.
    expect(a.refresh()).not.toBe("gone");
    lab.teardown();
    // Deleting a veth completes asynchronously in the kernel, and other fds of this process may be
    // closing at the same time: wait (bounded) for both rather than sampling once.
    let state = a.refresh();
    await waitFor(
      () => state === "gone" || (state = a.refresh()) === "gone",
      "the port to be gone",
    );
    await waitFor(() => fdCount() === fds, "the ring socket to be released");
    expect(a.send(seqFrame(1), 60)).toBe(false);
    a.close();
  });
});
