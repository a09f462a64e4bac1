// Control-path throughput of OpenFlowSwitch over loopback TCP, with MemoryPorts as data ports:
// FLOW_MODs applied per second (N adds then a BARRIER), and PACKET_INs delivered per second
// for table misses (rate limit off).
// Run: npx tsc -p . && node dist/bench/switch.js [flow-mods, default 20000] [misses, default 20000]
import { connect, type Socket } from "node:net";
import { pino } from "pino";
import { MemoryPort } from "../test/support/memory-port.js";
import { matchAll } from "../src/openflow/of10/match.js";
import { decodeMessage, encodeMessage } from "../src/openflow/of10/codec.js";
import {
  OFPAT,
  OFPC_FRAG,
  OFPFC,
  OFPFW,
  OFPP,
  OFPT,
  OFP_NO_BUFFER,
} from "../src/openflow/of10/constants.js";
import { MessageFramer } from "../src/ofchannel/framer.js";
import type { OfpMessage } from "../src/openflow/of10/messages.js";
import { OpenFlowSwitch } from "../src/switch/switch.js";
import { parsePassiveTarget } from "../src/ofchannel/targets.js";

const nFlowMods = Number(process.argv[2] ?? 20000);
const nMisses = Number(process.argv[3] ?? 20000);

function mac(i: number): string {
  const h = (n: number) => (n & 0xff).toString(16).padStart(2, "0");
  return `02:00:${h(i >> 24)}:${h(i >> 16)}:${h(i >> 8)}:${h(i)}`;
}

/** Counts messages by type as they arrive; resolves waiters on a predicate. */
class Peer {
  readonly counts = new Map<number, number>();
  private readonly framer = new MessageFramer();
  private waiter: (() => void) | undefined;
  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.framer.feed(chunk, (out) => {
        if (out.kind !== "message") return;
        const type = decodeMessage(out.data).type;
        this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
      });
      this.waiter?.();
    });
  }
  send(m: OfpMessage): void {
    this.socket.write(encodeMessage(m));
  }
  count(type: number): number {
    return this.counts.get(type) ?? 0;
  }
  async until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) return false;
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 50);
      });
    }
    return true;
  }
}

async function main(): Promise<void> {
  const sw = new OpenFlowSwitch({
    log: pino({ level: "silent" }),
    // A primary controller on the listener (as OVS's Controller type=primary): a service session
    // would get no packet-in until it set a miss_send_len.
    listeners: [{ ...parsePassiveTarget("ptcp:0"), role: "primary" }],
    failMode: "secure",
    packetInRate: 0,
  });
  const [p1, host1] = MemoryPort.pair(1, "p1", "02:00:00:00:00:01");
  const [p2] = MemoryPort.pair(2, "p2", "02:00:00:00:00:02");
  sw.addPort(p1);
  sw.addPort(p2);
  await sw.start();
  const socket = connect({ port: sw.connmgr.listenPorts()[0], host: "127.0.0.1" });
  await new Promise((r) => socket.once("connect", r));
  const peer = new Peer(socket);
  peer.send({ type: OFPT.HELLO, xid: 1, version: 1, body: Buffer.alloc(0) });
  await peer.until(() => peer.count(OFPT.HELLO) > 0, 2000);
  // A session on a listener is a service session: no PACKET_IN until it sets a miss_send_len.
  peer.send({ type: OFPT.SET_CONFIG, xid: 2, flags: OFPC_FRAG.NORMAL, missSendLen: 128 });

  console.log(`flow_mod: ${nFlowMods} ADDs (exact dl_src) then BARRIER ...`);
  let t = performance.now();
  for (let i = 0; i < nFlowMods; i++) {
    peer.send({
      type: OFPT.FLOW_MOD,
      xid: i,
      match: { ...matchAll(), wildcards: OFPFW.ALL & ~OFPFW.DL_SRC, dlSrc: mac(i + 0x10000) },
      cookie: 0n,
      command: OFPFC.ADD,
      idleTimeout: 0,
      hardTimeout: 0,
      priority: 100,
      bufferId: OFP_NO_BUFFER,
      outPort: OFPP.NONE,
      flags: 0,
      actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
    });
  }
  peer.send({ type: OFPT.BARRIER_REQUEST, xid: 0xfffffff0 });
  await peer.until(() => peer.count(OFPT.BARRIER_REPLY) > 0, 60_000);
  let s = (performance.now() - t) / 1000;
  console.log(
    `flow_mod: ${sw.table.activeCount} flows in ${s.toFixed(2)} s = ${(nFlowMods / s).toFixed(0)}/s`,
  );

  console.log(`packet_in: ${nMisses} table misses of 128-byte frames ...`);
  const frame = Buffer.alloc(128, 0xab);
  frame.writeUInt16BE(0x88b5, 12);
  t = performance.now();
  for (let sent = 0; sent < nMisses;) {
    for (let k = 0; k < 500 && sent < nMisses; k++, sent++) {
      frame.writeUInt32BE(sent, 8); // a source MAC no flow matches
      host1.send(frame, frame.length);
    }
    await new Promise((r) => setImmediate(r));
  }
  const got = () => peer.count(OFPT.PACKET_IN);
  await peer.until(() => got() + sw.stats.packetInsQueueDropped >= nMisses, 30_000);
  s = (performance.now() - t) / 1000;
  console.log(
    `packet_in: ${got()} delivered, ${sw.stats.packetInsQueueDropped} dropped (slow reader) ` +
      `in ${s.toFixed(2)} s = ${(got() / s).toFixed(0)}/s`,
  );
  socket.destroy();
  await sw.stop();
}

await main();
