// A fuzz run against the built daemon, and what it costs in logs: 100,000 mutated messages over
// sessions on its listener, each framed as sent (its length field set to its size, so that a
// BARRIER after a batch is read as one), with now and then a length field below 8 that closes
// the session (the test reconnects); then 300 short sessions that send garbage instead of HELLO. The daemon keeps running and answering, and its
// whole log (stderr, JSON lines at the default level) stays under 1 MB: malformed input is
// logged a few times per kind per minute, then counted.
import { Buffer } from "node:buffer";
import { connect, createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OFPT } from "../../src/openflow/of10/constants.js";
import { corpus, mutate, prng } from "../openflow/mutations.js";
import { ControllerPeer } from "../switch/peer.js";
import { labPrefix, Topology } from "../support/netns.js";
import { netnsMissing, skipWithout } from "../support/prereq.js";
import {
  ensureBuilt,
  ofctl,
  startDaemon,
  startListeningDaemon,
  type Proc,
} from "../support/daemon.js";

const skip = skipWithout(import.meta.url, netnsMissing());

const MESSAGES = 100_000;
const BATCH = 500;
const SHORT_SESSIONS = 300;
const LOG_LIMIT = 1 << 20;
const BARRIER_XID = 0x7eedf00d;
/** One in this many messages gets a length field below 8: unrecoverable, the session closes. */
const FATAL_EVERY = 2_000;
/** How long the flapping controller runs. */
const RUN_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A mutated message the framer reads as one (or, rarely, one with a fatal length field). */
function framedMutation(rand: () => number): Buffer {
  for (;;) {
    const m = mutate(rand);
    if (m.length < 8 || m.length > 0xffff) continue;
    m.writeUInt16BE(rand() * FATAL_EVERY < 1 ? Math.floor(rand() * 8) : m.length, 2);
    return m;
  }
}

describe.skipIf(skip)("ofswitch daemon: a fuzz run's log", () => {
  let topo: Topology;
  let daemon: Proc | undefined;
  let port = 0;

  beforeAll(async () => {
    ensureBuilt();
    topo = Topology.create(labPrefix("dz"), 2);
    ({ daemon, port } = await startListeningDaemon(topo.hosts.map((h) => h.switchIf)));
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    topo?.teardown();
  });

  /** Sends `bytes` on a session and waits until the switch has handled them (a BARRIER), or
   * until it closed the session; true when the session is still open. */
  async function deliver(peer: ControllerPeer, bytes: Buffer): Promise<boolean> {
    peer.sendRaw(bytes);
    peer.send({ type: OFPT.BARRIER_REQUEST, xid: BARRIER_XID });
    try {
      await peer.take((m) => m.type === OFPT.BARRIER_REPLY && m.xid === BARRIER_XID, 10_000);
    } catch (e) {
      if (!peer.closed) throw e;
    }
    peer.inbox.length = 0;
    return !peer.closed;
  }

  it(`${MESSAGES} mutated messages and ${SHORT_SESSIONS} garbage sessions: the daemon runs on, its log stays under 1 MB`, async () => {
    const rand = prng(0x5eed);
    const t0 = performance.now();
    let peer = await ControllerPeer.connect(port);
    let sessions = 1;
    for (let sent = 0; sent < MESSAGES; sent += BATCH) {
      const batch = Buffer.concat(Array.from({ length: BATCH }, () => framedMutation(rand)));
      if (!(await deliver(peer, batch))) {
        peer.close();
        peer = await ControllerPeer.connect(port);
        sessions++;
      }
    }
    peer.close();
    const t1 = performance.now();
    for (let i = 0; i < SHORT_SESSIONS; i++) {
      const s = connect({ host: "127.0.0.1", port });
      s.on("data", () => undefined);
      await new Promise<void>((resolve) => {
        // then half-closed, as a client that gives up would
        s.once("connect", () => s.end(i % 2 ? framedMutation(rand) : corpus[i % corpus.length]));
        s.once("close", () => resolve());
        s.once("error", () => resolve());
        setTimeout(() => (s.destroy(), resolve()), 5000).unref();
      });
    }
    const t2 = performance.now();
    // still serving: a new session is answered, ovs-ofctl too
    const last = await ControllerPeer.connect(port);
    expect((await last.request({ type: OFPT.FEATURES_REQUEST, xid: 0 })).type).toBe(
      OFPT.FEATURES_REPLY,
    );
    last.close();
    expect(ofctl(`tcp:127.0.0.1:${port}`, "show")).toMatch(/n_tables:1/);
    expect(daemon!.running).toBe(true);
    await daemon!.stop();
    const bytes = Buffer.byteLength(daemon!.output);
    const lines = daemon!.output.split("\n").filter((l) => l !== "");
    const warn = lines.filter((l) => l.includes('"level":40')).length;
    console.log(
      `fuzz run: ${MESSAGES} messages over ${sessions} sessions + ${SHORT_SESSIONS} short ones: ` +
        `log ${bytes} bytes, ${lines.length} lines (${warn} warn); ` +
        `${((t1 - t0) / 1000).toFixed(1)} s + ${((t2 - t1) / 1000).toFixed(1)} s`,
    );
    expect(bytes).toBeLessThan(LOG_LIMIT);
    // the suppressed lines are counted, not silently lost
    const counted = daemon!.logLines().find((l) => l.kind === "malformed message");
    expect(counted?.suppressed).toBeGreaterThan(MESSAGES / 10);
  }, 240_000);

  it("a controller the switch connects to that sends garbage and breaks every session: reconnects back off, a few lines each", async () => {
    const rand = prng(0xfacade);
    let sessions = 0;
    const server = createServer((s) => {
      sessions++;
      s.on("error", () => undefined);
      s.on("data", () => undefined);
      const hello = Buffer.from("0100000800000001", "hex");
      const garbage = Array.from({ length: 50 }, () => framedMutation(rand));
      // then a length field below 8: the switch cannot resynchronise and closes the session
      s.write(Buffer.concat([hello, ...garbage, Buffer.from("0102000300000009", "hex")]));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const ctlPort = (server.address() as AddressInfo).port;
    const d = await startDaemon([
      ...topo.hosts.flatMap((h) => ["-i", h.switchIf]),
      "-c",
      `tcp:127.0.0.1:${ctlPort}`,
    ]);
    try {
      await sleep(RUN_MS);
      const bytes = Buffer.byteLength(d.output);
      const lines = d.logLines().length;
      console.log(
        `flapping fuzzing controller for ${RUN_MS / 1000} s: ${sessions} sessions, ` +
          `log ${bytes} bytes, ${lines} lines`,
      );
      expect(d.running).toBe(true);
      // Sessions that end at once reconnect after 0.1 s, then 1, 2, 4, 8 s (--max-backoff):
      // at 0, 0.1, 1.1, 3.1 and 7.1 s, each a few lines, and malformed input rate-limited.
      expect(sessions).toBeGreaterThanOrEqual(3);
      expect(sessions).toBeLessThanOrEqual(6);
      expect(lines).toBeLessThan(60);
    } finally {
      await d.stop().catch(() => undefined);
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 60_000);
});
