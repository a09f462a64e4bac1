// Every command of a SwitchHandle, checked by decoding what the fake switch receives; requests
// settled by their reply (stats joined across REPLY_MORE parts), by OFPT_ERROR, timeout, disconnect.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import {
  OFPAT,
  OFPET,
  OFPFC,
  OFPP,
  OFPPC,
  OFPQ_ALL,
  OFPSF_REPLY_MORE,
  OFPST,
  OFPT,
  OFPTT,
  OFP_NO_BUFFER,
} from "../../src/openflow/of10/constants.js";
import type { FlowStats, PortStats } from "../../src/openflow/of10/types.js";
import {
  Controller,
  RequestFailed,
  SwitchError,
  type SwitchHandle,
} from "../../src/controller/index.js";
import { exactMatch, matchAll } from "../../src/controller/match.js";
import { FakeSwitch, logSink, nextEvent, phyPort } from "./fake-switch.js";

let controller: Controller;
let fake: FakeSwitch;
let sw: SwitchHandle;

beforeEach(async () => {
  controller = new Controller({
    logger: pino({ level: "debug" }, logSink()),
    requestTimeoutMs: 500,
  });
  const { port } = await controller.listen("ptcp:0");
  const join = nextEvent<[SwitchHandle]>((f) => controller.register("join", f));
  fake = await FakeSwitch.joined(port, 1n, [phyPort(1), phyPort(2)]);
  [sw] = await join;
});
afterEach(async () => {
  fake.close();
  await controller.close();
});

const output = (port: number) => ({ type: OFPAT.OUTPUT, port, maxLen: 0 }) as const;

function flowStats(cookie: bigint): FlowStats {
  return {
    tableId: 0,
    match: matchAll(),
    durationSec: 1,
    durationNsec: 2,
    priority: 10,
    idleTimeout: 0,
    hardTimeout: 0,
    cookie,
    packetCount: 3n,
    byteCount: 4n,
    actions: [output(2)],
  };
}

function portStats(portNo: number): PortStats {
  const n = BigInt(portNo);
  return {
    portNo,
    rxPackets: n,
    txPackets: n,
    rxBytes: n,
    txBytes: n,
    rxDropped: 0n,
    txDropped: 0n,
    rxErrors: 0n,
    txErrors: 0n,
    rxFrameErr: 0n,
    rxOverErr: 0n,
    rxCrcErr: 0n,
    collisions: 0n,
  };
}

describe("fire-and-forget commands", () => {
  it("flowMod fills defaults and returns its xid", async () => {
    const frame = Buffer.from(
      "020000000002020000000001080045000014000000004001000000000001" + "0a000002",
      "hex",
    );
    const match = exactMatch(frame, 1);
    const xid = sw.flowMod({ match, idleTimeout: 60, bufferId: 9, actions: [output(2)] });
    const m = await fake.expect(OFPT.FLOW_MOD);
    expect(m.xid).toBe(xid);
    expect(m.match).toEqual(match);
    expect(m.match.wildcards).toBe(0);
    expect(m.match.dlSrc).toBe("02:00:00:00:00:01");
    expect([m.command, m.idleTimeout, m.hardTimeout, m.bufferId]).toEqual([OFPFC.ADD, 60, 0, 9]);
    expect([m.priority, m.outPort, m.flags, m.cookie]).toEqual([0x8000, OFPP.NONE, 0, 0n]);
    expect(m.actions).toEqual([output(2)]);
  });

  it("deleteAllFlows sends a wildcard DELETE", async () => {
    sw.deleteAllFlows();
    const m = await fake.expect(OFPT.FLOW_MOD);
    expect([m.command, m.match.wildcards]).toEqual([OFPFC.DELETE, matchAll().wildcards]);
  });

  it("packetOut by buffer id and by data", async () => {
    sw.packetOut({ bufferId: 17, inPort: 1, actions: [output(OFPP.FLOOD)] });
    const byBuffer = await fake.expect(OFPT.PACKET_OUT);
    expect([byBuffer.bufferId, byBuffer.inPort, byBuffer.data.length]).toEqual([17, 1, 0]);
    expect(byBuffer.actions).toEqual([output(OFPP.FLOOD)]);
    const data = Buffer.alloc(60, 0xab);
    sw.packetOut({ data, actions: [output(2)] });
    const byData = await fake.expect(OFPT.PACKET_OUT);
    expect([byData.bufferId, byData.inPort]).toEqual([OFP_NO_BUFFER, OFPP.NONE]);
    expect(byData.data.equals(data)).toBe(true);
    expect(() => sw.packetOut({ actions: [] })).toThrow(TypeError);
  });

  it("portMod takes the port's address from the features", async () => {
    sw.portMod({ portNo: 2, config: OFPPC.PORT_DOWN, mask: OFPPC.PORT_DOWN });
    const m = await fake.expect(OFPT.PORT_MOD);
    expect(m).toMatchObject({ portNo: 2, hwAddr: "02:00:00:00:00:02", config: 1, mask: 1 });
    expect(() => sw.portMod({ portNo: 99, config: 0, mask: 0 })).toThrow(/unknown port/);
  });

  it("setConfig and getConfig", async () => {
    sw.setConfig({ flags: 0, missSendLen: 0xffff });
    expect(await fake.expect(OFPT.SET_CONFIG)).toMatchObject({ flags: 0, missSendLen: 0xffff });
    const reply = sw.getConfig();
    const req = await fake.expect(OFPT.GET_CONFIG_REQUEST);
    fake.send({ type: OFPT.GET_CONFIG_REPLY, xid: req.xid, flags: 1, missSendLen: 128 });
    expect(await reply).toEqual({ flags: 1, missSendLen: 128 });
  });

  it("batches the messages of one tick into one write", async () => {
    for (let i = 0; i < 50; i++) sw.packetOut({ bufferId: i, actions: [output(2)] });
    const before = fake.chunks;
    for (let i = 0; i < 50; i++) await fake.expect(OFPT.PACKET_OUT);
    expect(fake.chunks - before).toBeLessThanOrEqual(2); // one write; TCP may still split it
  });
});

describe("requests", () => {
  it("barrier resolves on its BARRIER_REPLY only", async () => {
    let done = false;
    const b = sw.barrier().then(() => (done = true));
    const req = await fake.expect(OFPT.BARRIER_REQUEST);
    fake.send({ type: OFPT.BARRIER_REPLY, xid: req.xid + 1000 });
    fake.send({ type: OFPT.ECHO_REQUEST, xid: 1, data: Buffer.alloc(0) });
    await fake.expect(OFPT.ECHO_REPLY);
    expect(done).toBe(false);
    fake.send({ type: OFPT.BARRIER_REPLY, xid: req.xid });
    await b;
    expect(done).toBe(true);
  });

  it("desc stats", async () => {
    const p = sw.descStats();
    const req = await fake.expect(OFPT.STATS_REQUEST);
    expect(req.statsType).toBe(OFPST.DESC);
    const desc = { mfrDesc: "m", hwDesc: "h", swDesc: "s", serialNum: "n", dpDesc: "d" };
    fake.send({ type: OFPT.STATS_REPLY, xid: req.xid, flags: 0, statsType: OFPST.DESC, desc });
    expect(await p).toEqual(desc);
  });

  it("flow stats joins the parts of a multipart reply", async () => {
    const p = sw.flowStats({ outPort: 2 });
    const req = await fake.expect(OFPT.STATS_REQUEST);
    expect(req).toMatchObject({ statsType: OFPST.FLOW, tableId: OFPTT.ALL, outPort: 2 });
    const reply = { type: OFPT.STATS_REPLY, xid: req.xid, statsType: OFPST.FLOW } as const;
    fake.send({ ...reply, flags: OFPSF_REPLY_MORE, flows: [flowStats(1n), flowStats(2n)] });
    fake.send({ ...reply, flags: OFPSF_REPLY_MORE, flows: [flowStats(3n)] });
    fake.send({ ...reply, flags: 0, flows: [flowStats(4n)] });
    expect((await p).map((f) => f.cookie)).toEqual([1n, 2n, 3n, 4n]);
  });

  it("aggregate stats", async () => {
    const p = sw.aggregateStats();
    const req = await fake.expect(OFPT.STATS_REQUEST);
    expect(req).toMatchObject({ statsType: OFPST.AGGREGATE, outPort: OFPP.NONE });
    const aggregate = { packetCount: 10n, byteCount: 1000n, flowCount: 2 };
    fake.send({
      type: OFPT.STATS_REPLY,
      xid: req.xid,
      flags: 0,
      statsType: OFPST.AGGREGATE,
      aggregate,
    });
    expect(await p).toEqual(aggregate);
  });

  it("table stats", async () => {
    const p = sw.tableStats();
    const req = await fake.expect(OFPT.STATS_REQUEST);
    const table = {
      tableId: 0,
      name: "classifier",
      wildcards: 0x3fffff,
      maxEntries: 1000,
      activeCount: 1,
      lookupCount: 5n,
      matchedCount: 4n,
    };
    fake.send({
      type: OFPT.STATS_REPLY,
      xid: req.xid,
      flags: 0,
      statsType: OFPST.TABLE,
      tables: [table],
    });
    expect(await p).toEqual([table]);
  });

  it("port stats, all ports by default, joined across parts", async () => {
    const p = sw.portStats();
    const req = await fake.expect(OFPT.STATS_REQUEST);
    expect(req).toMatchObject({ statsType: OFPST.PORT, portNo: OFPP.NONE });
    const reply = { type: OFPT.STATS_REPLY, xid: req.xid, statsType: OFPST.PORT } as const;
    fake.send({ ...reply, flags: OFPSF_REPLY_MORE, ports: [portStats(1)] });
    fake.send({ ...reply, flags: 0, ports: [portStats(2)] });
    expect((await p).map((s) => s.portNo)).toEqual([1, 2]);
  });

  it("queue stats", async () => {
    const p = sw.queueStats();
    const req = await fake.expect(OFPT.STATS_REQUEST);
    expect(req).toMatchObject({ statsType: OFPST.QUEUE, portNo: OFPP.ALL, queueId: OFPQ_ALL });
    const q = { portNo: 1, queueId: 0, txBytes: 1n, txPackets: 2n, txErrors: 0n };
    fake.send({
      type: OFPT.STATS_REPLY,
      xid: req.xid,
      flags: 0,
      statsType: OFPST.QUEUE,
      queues: [q],
    });
    expect(await p).toEqual([q]);
  });

  it("rejects with SwitchError on an OFPT_ERROR carrying the request's xid", async () => {
    const p = sw.queueStats(1, 5);
    const req = await fake.expect(OFPT.STATS_REQUEST);
    fake.send({
      type: OFPT.ERROR,
      xid: req.xid,
      errType: OFPET.QUEUE_OP_FAILED,
      code: 1,
      data: Buffer.alloc(0),
    });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchError);
    expect((err as SwitchError).pair).toBe("OFPET_QUEUE_OP_FAILED/OFPQOFC_BAD_QUEUE");
  });

  it("rejects a reply of the wrong stats type", async () => {
    const p = sw.tableStats();
    const req = await fake.expect(OFPT.STATS_REQUEST);
    fake.send({ type: OFPT.STATS_REPLY, xid: req.xid, flags: 0, statsType: OFPST.PORT, ports: [] });
    await expect(p).rejects.toMatchObject({ reason: "bad-reply" });
  });

  it("rejects on timeout", async () => {
    const err = await sw.barrier(100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestFailed);
    expect((err as RequestFailed).reason).toBe("timeout");
  });

  it("rejects every pending request on disconnect, and later ones at once", async () => {
    const a = sw.barrier();
    const b = sw.flowStats();
    await fake.expect(OFPT.STATS_REQUEST);
    fake.close();
    await expect(a).rejects.toMatchObject({ reason: "disconnected" });
    await expect(b).rejects.toMatchObject({ reason: "disconnected" });
    await expect(sw.barrier()).rejects.toMatchObject({ reason: "disconnected" });
  });
});
