// The output queue's pause and resume, on a real loopback socket whose peer stops reading.
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { OutputQueue } from "../../src/controller/output-queue.js";

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

describe("OutputQueue", () => {
  it("resumes its owner when the peer reads again, with a pause mark below the socket's high-water mark", async () => {
    const [ours, peer] = await pair();
    peer.pause(); // the switch stops reading
    const events: boolean[] = [];
    const q = new OutputQueue(
      ours,
      { maxQueuedBytes: 64 << 20, pauseBytes: 4096, policy: "drop" },
      { onPressure: (p) => void events.push(p), onOverflow: () => undefined },
    );
    expect(ours.writableHighWaterMark).toBeGreaterThan(4096 * 2);
    // Fill the kernel's buffers in 8 KB steps, then go on 1 KB at a time, so that the pause comes
    // with fewer bytes waiting in the socket than its high-water mark: no write returned false,
    // so Node will emit no 'drain' to wait for.
    for (let i = 0; i < 100_000 && events.length === 0; i++) {
      q.push(Buffer.alloc(ours.writableLength === 0 ? 8192 : 1024));
      await turn();
    }
    expect(events).toEqual([true]);
    expect(ours.writableLength).toBeLessThan(ours.writableHighWaterMark);
    peer.resume();
    await expect.poll(() => events, { timeout: 10_000 }).toEqual([true, false]);
    expect(q.backlog()).toBeLessThanOrEqual(2048);
  });

  it("writes a held slice as it is released, or after the I/O poll with release(true), in one write", async () => {
    const [ours] = await pair();
    const writes: number[] = [];
    const write = ours.write.bind(ours);
    ours.write = ((chunk: Buffer, cb?: () => void) => {
      writes.push(chunk.length);
      return write(chunk, cb);
    }) as typeof ours.write;
    const q = new OutputQueue(
      ours,
      { maxQueuedBytes: 1 << 20, pauseBytes: 1 << 19, policy: "drop" },
      { onPressure: () => undefined, onOverflow: () => undefined },
    );
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
});
