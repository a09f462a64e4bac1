// The channel's one send queue, on real loopback sockets whose peer stops reading: the drain
// signal, batching, and both policies (the switch's: shed packet-ins, then give up on the peer;
// the controller's: stop reading, then drop).
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CONTROLLER_SEND_POLICY,
  SWITCH_SEND_POLICY,
  SendQueue,
  type SendQueueEvents,
  type SendQueueOptions,
} from "../../src/ofchannel/send-queue.js";
import { sleep, waitFor } from "../support/wait.js";

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A connected pair on 127.0.0.1: [our side, the peer]. */
async function pair(): Promise<[Socket, Socket]> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const { port } = server!.address() as { port: number };
  const peer = connect({ port, host: "127.0.0.1" });
  const ours = await accepted;
  sockets.push(ours, peer);
  return [ours, peer];
}

const turn = () => new Promise((r) => setImmediate(r));

/** A queue on `socket` that records its events. */
function queueOn(socket: Socket, options: SendQueueOptions) {
  const pressure: boolean[] = [];
  let overflows = 0;
  const events: SendQueueEvents = {
    onPressure: (p) => void pressure.push(p),
    onOverflow: () => void overflows++,
  };
  const q = new SendQueue(socket, options, events);
  return { q, pressure, overflows: () => overflows };
}

/** Writes 64 KiB at a time until the kernel's buffers are full and the socket holds bytes. */
async function backUp(q: SendQueue, socket: Socket): Promise<void> {
  for (let i = 0; i < 1000 && socket.writableLength < 64 * 1024; i++) {
    q.push(Buffer.alloc(64 * 1024));
    await turn();
  }
  expect(socket.writableLength).toBeGreaterThan(0);
}

describe("SendQueue: drain signal", () => {
  it("onWritable fires once the peer has read enough, not before; at once when already so", async () => {
    const [ours, peer] = await pair();
    peer.pause(); // the peer stops reading
    const { q } = queueOn(ours, { ...SWITCH_SEND_POLICY, maxQueuedBytes: 64 << 20 });
    let fired = 0;
    for (let i = 0; i < 200; i++) expect(q.push(Buffer.alloc(64 * 1024))).toBe(true);
    await waitFor(() => ours.writableLength > 64 * 1024, "the socket to back up");
    q.onWritable(64 * 1024, () => fired++);
    await sleep(100);
    expect(fired).toBe(0);
    peer.resume(); // the peer reads everything
    await waitFor(() => fired === 1, "onWritable", 5000);
    expect(q.unsentBytes).toBeLessThan(64 * 1024);
    q.onWritable(64 * 1024, () => fired++); // already writable: fires at once
    expect(fired).toBe(2);
  });

  it("the controller's policy resumes its owner on write completions, with a pause mark below the socket's high-water mark", async () => {
    const [ours, peer] = await pair();
    peer.pause();
    const { q, pressure } = queueOn(ours, {
      ...CONTROLLER_SEND_POLICY,
      maxQueuedBytes: 64 << 20,
      pauseBytes: 4096,
    });
    expect(ours.writableHighWaterMark).toBeGreaterThan(4096 * 2);
    // Fill the kernel's buffers in 8 KB steps, then go on 1 KB at a time, so that the pause comes
    // with fewer bytes waiting in the socket than its high-water mark: no write returned false,
    // so Node will emit no 'drain' to wait for.
    for (let i = 0; i < 100_000 && pressure.length === 0; i++) {
      q.push(Buffer.alloc(ours.writableLength === 0 ? 8192 : 1024));
      await turn();
    }
    expect(pressure).toEqual([true]);
    expect(q.pressure).toBe(true);
    expect(ours.writableLength).toBeLessThan(ours.writableHighWaterMark);
    peer.resume();
    await expect.poll(() => pressure, { timeout: 10_000 }).toEqual([true, false]);
    expect(q.unsentBytes).toBeLessThanOrEqual(2048);
  });
});

describe("SendQueue: batching", () => {
  /** Our socket with its writes recorded. */
  async function recorded(): Promise<[Socket, number[]]> {
    const [ours] = await pair();
    const writes: number[] = [];
    const write = ours.write.bind(ours);
    ours.write = ((chunk: Buffer, cb?: () => void) => {
      writes.push(chunk.length);
      return write(chunk, cb);
    }) as typeof ours.write;
    return [ours, writes];
  }

  it("writes a held slice as it is released, or after the I/O poll with release(true), in one write", async () => {
    const [ours, writes] = await recorded();
    const { q } = queueOn(ours, CONTROLLER_SEND_POLICY);
    q.hold();
    q.push(Buffer.alloc(80));
    q.push(Buffer.alloc(80));
    q.release();
    expect(writes).toEqual([160]); // at once
    q.hold();
    q.push(Buffer.alloc(80));
    q.push(Buffer.alloc(8));
    q.release(true);
    expect(writes).toEqual([160]); // not yet: the check phase of this turn
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    await turn();
    expect(writes).toEqual([160, 88]);
    expect(timerRan).toBe(false); // in this turn, before the next turn's timers
  });

  it("writes the slices released after the poll by several queues from one immediate, in order", async () => {
    // Answers to the reads of one poll (cbench's latency mode: one per switch) cost one
    // Immediate and one run of the tick queue in all, not one per connection.
    const writes: string[] = [];
    const socketOf = (name: string) =>
      ({
        writableLength: 0,
        destroyed: false,
        writable: true,
        write: (chunk: Buffer) => void writes.push(`${name}:${chunk.length}`),
      }) as unknown as Socket;
    const events: SendQueueEvents = { onPressure: () => undefined, onOverflow: () => undefined };
    const queues = ["a", "b", "c"].map(
      (n) => new SendQueue(socketOf(n), CONTROLLER_SEND_POLICY, events),
    );
    const immediates = vi.spyOn(globalThis, "setImmediate");
    try {
      for (const [i, q] of [queues[1], queues[0], queues[2]].entries()) {
        q.hold();
        q.push(Buffer.alloc(10 + i));
        q.release(true);
      }
      expect(immediates).toHaveBeenCalledTimes(1);
    } finally {
      immediates.mockRestore();
    }
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toEqual(["b:10", "a:11", "c:12"]);
    // The next poll's slices get an immediate of their own.
    queues[0].hold();
    queues[0].push(Buffer.alloc(5));
    queues[0].release(true);
    await turn();
    expect(writes.at(-1)).toBe("a:5");
  });

  for (const batching of ["tick", "turn"] as const) {
    it(`batching "${batching}" joins what is pushed outside a hold by ${batching}`, async () => {
      const [ours, writes] = await recorded();
      const { q } = queueOn(ours, { ...SWITCH_SEND_POLICY, batching });
      q.push(Buffer.alloc(10));
      q.push(Buffer.alloc(20));
      await Promise.resolve(); // a microtask: the tick is not over yet
      expect(writes).toEqual([]);
      await new Promise((r) => process.nextTick(r));
      q.push(Buffer.alloc(30)); // a later tick of the same turn
      await turn();
      expect(writes).toEqual(batching === "tick" ? [30, 30] : [60]);
    });
  }
});

describe("SendQueue: the switch's policy with a peer that stops reading", () => {
  it("sheds droppable messages past their mark while replies still go, then gives up on the peer past the bound", async () => {
    const [ours, peer] = await pair();
    peer.pause();
    const policy = { ...SWITCH_SEND_POLICY, droppableBytes: 64 * 1024, maxQueuedBytes: 1 << 20 };
    const { q, pressure, overflows } = queueOn(ours, policy);
    await backUp(q, ours);
    const unsent = q.unsentBytes;
    expect(unsent).toBeGreaterThanOrEqual(64 * 1024);
    // Past the mark: a packet-in is refused (before and after encoding), a reply is not.
    expect(q.admitsDroppable()).toBe(false);
    expect(q.push(Buffer.alloc(100), true)).toBe(false);
    expect(q.stats.shed).toBe(2);
    expect(q.push(Buffer.alloc(100))).toBe(true);
    // Never stops reading the peer: the switch keeps serving a controller that reads slowly.
    expect(pressure).toEqual([]);
    // The hard bound: the first message past it gives up on the peer, once.
    let refused = 0;
    for (let i = 0; i < 100 && overflows() === 0; i++) {
      if (!q.push(Buffer.alloc(64 * 1024))) refused++;
    }
    expect(overflows()).toBe(1);
    expect(refused).toBe(1);
    expect(q.unsentBytes).toBeLessThanOrEqual(policy.maxQueuedBytes);
    expect(q.push(Buffer.alloc(10))).toBe(false); // closed from now on
    expect(overflows()).toBe(1);
  });
});

describe("SendQueue: the controller's policy with a peer that stops reading", () => {
  it("asks its owner to stop reading, drops what goes past the bound and counts it, and keeps the connection", async () => {
    const [ours, peer] = await pair();
    peer.pause();
    const policy = { ...CONTROLLER_SEND_POLICY, pauseBytes: 64 * 1024, maxQueuedBytes: 1 << 20 };
    const { q, pressure, overflows } = queueOn(ours, policy);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      if (q.push(Buffer.alloc(16 * 1024))) accepted++;
      else refused++;
      if (i % 16 === 15) await turn();
    }
    expect(pressure).toEqual([true]);
    expect(refused).toBeGreaterThan(0);
    expect(q.stats.dropped).toBe(refused);
    expect(q.unsentBytes).toBeLessThanOrEqual(policy.maxQueuedBytes);
    expect(overflows()).toBe(0);
    // No droppable mark: only the bound applies.
    expect(q.admitsDroppable()).toBe(true);
    // What was accepted arrives whole once the peer reads again, and reading resumes.
    let received = 0;
    peer.on("data", (d: Buffer) => (received += d.length));
    peer.resume();
    await waitFor(() => received === accepted * 16 * 1024, "everything accepted", 10_000);
    await expect.poll(() => pressure).toEqual([true, false]);
  });
});
