// Strict decoding: every malformed input gives the OfpError OpenFlow prescribes, carrying the
// first 64 bytes of the offending message.
import { describe, expect, it } from "vitest";
import {
  OFPAT,
  OFPBAC,
  OFPBRC,
  OFPET,
  OFPST,
  OFPT,
  OFPQT,
} from "../../src/openflow/of10/constants.js";
import { decodeActions, decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import { OfpError } from "../../src/openflow/of10/errors.js";
import { fixLength, flowMod, MATCH_ALL } from "./helpers.js";

function decodeError(b: Buffer): OfpError {
  try {
    decodeMessage(b);
  } catch (e) {
    expect(e).toBeInstanceOf(OfpError);
    const err = e as OfpError;
    expect(err.data).toEqual(b.subarray(0, 64));
    return err;
  }
  throw new Error("decodeMessage accepted malformed input");
}

function expectError(b: Buffer, errType: number, code: number): OfpError {
  const err = decodeError(b);
  expect([err.errType, err.code], err.message).toEqual([errType, code]);
  return err;
}

const badReq = (b: Buffer, code: number) => expectError(b, OFPET.BAD_REQUEST, code);
const badAct = (b: Buffer, code: number) => expectError(b, OFPET.BAD_ACTION, code);

/** A FLOW_MOD whose action list is `raw` bytes. */
function flowModWithRawActions(raw: number[]): Buffer {
  return fixLength(Buffer.concat([encodeMessage(flowMod([])), Buffer.from(raw)]));
}

describe("strict header checks", () => {
  it("rejects fewer than 8 bytes", () => {
    for (let n = 0; n < 8; n++) badReq(Buffer.alloc(n, 1), OFPBRC.BAD_LEN);
  });

  it("rejects a header length that differs from the buffer", () => {
    const b = encodeMessage(flowMod());
    const longer = Buffer.concat([b, Buffer.alloc(8)]);
    badReq(longer, OFPBRC.BAD_LEN);
    const shorter = Buffer.from(b);
    shorter.writeUInt16BE(b.length + 8, 2);
    badReq(shorter, OFPBRC.BAD_LEN);
  });

  it("rejects unknown message types with BAD_TYPE", () => {
    for (const t of [22, 23, 100, 255]) {
      badReq(Buffer.from([1, t, 0, 8, 0, 0, 0, 1]), OFPBRC.BAD_TYPE);
    }
  });

  it("rejects non-HELLO messages of another version, but decodes any HELLO", () => {
    const echo = encodeMessage({ type: OFPT.ECHO_REQUEST, xid: 9, data: Buffer.alloc(0) });
    for (const v of [0, 2, 4, 0xff]) {
      const b = Buffer.from(echo);
      b[0] = v;
      expect(badReq(b, OFPBRC.BAD_VERSION).data.readUInt32BE(4)).toBe(9);
      const hello = Buffer.from([v, 0, 0, 16, 0, 0, 0, 5, 0, 1, 0, 8, 0, 0, 0, 0x12]);
      expect(decodeMessage(hello)).toEqual({
        type: OFPT.HELLO,
        xid: 5,
        version: v,
        body: hello.subarray(8),
      });
    }
  });

  it("keeps only the first 64 bytes of a long message as error data", () => {
    const b = encodeMessage(flowMod());
    b.writeUInt16BE(3, 72 + 2); // action length 3
    const err = badAct(b, OFPBAC.BAD_LEN);
    expect(err.data.length).toBe(64);
    b.fill(0); // the stream buffer may be reused: the error keeps its own copy
    expect(err.data[1]).toBe(OFPT.FLOW_MOD);
  });
});

describe("strict body lengths", () => {
  const fixedSize: [string, Buffer][] = [
    ["FEATURES_REQUEST", encodeMessage({ type: OFPT.FEATURES_REQUEST, xid: 1 })],
    ["BARRIER_REQUEST", encodeMessage({ type: OFPT.BARRIER_REQUEST, xid: 1 })],
    ["SET_CONFIG", encodeMessage({ type: OFPT.SET_CONFIG, xid: 1, flags: 0, missSendLen: 128 })],
    [
      "PORT_MOD",
      encodeMessage({
        type: OFPT.PORT_MOD,
        xid: 1,
        portNo: 1,
        hwAddr: "00:11:22:33:44:55",
        config: 1,
        mask: 1,
        advertise: 0,
      }),
    ],
    [
      "QUEUE_GET_CONFIG_REQUEST",
      encodeMessage({ type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 1, port: 1 }),
    ],
    [
      "STATS_REQUEST/PORT",
      encodeMessage({
        type: OFPT.STATS_REQUEST,
        xid: 1,
        flags: 0,
        statsType: OFPST.PORT,
        portNo: 1,
      }),
    ],
    [
      "STATS_REQUEST/FLOW",
      encodeMessage({
        type: OFPT.STATS_REQUEST,
        xid: 1,
        flags: 0,
        statsType: OFPST.FLOW,
        match: MATCH_ALL,
        tableId: 0xff,
        outPort: 0xffff,
      }),
    ],
    [
      "STATS_REQUEST/DESC",
      encodeMessage({ type: OFPT.STATS_REQUEST, xid: 1, flags: 0, statsType: OFPST.DESC }),
    ],
  ];

  it.each(fixedSize)("%s: one byte more or less is BAD_LEN", (_name, b) => {
    expect(() => decodeMessage(b)).not.toThrow();
    badReq(fixLength(Buffer.concat([b, Buffer.alloc(1)])), OFPBRC.BAD_LEN);
    if (b.length > 8) badReq(fixLength(Buffer.from(b.subarray(0, b.length - 1))), OFPBRC.BAD_LEN);
  });

  it("rejects truncated variable messages", () => {
    badReq(fixLength(Buffer.from(encodeMessage(flowMod()).subarray(0, 60))), OFPBRC.BAD_LEN);
    badReq(
      Buffer.from([1, OFPT.PACKET_IN, 0, 17, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
      OFPBRC.BAD_LEN,
    );
    badReq(Buffer.from([1, OFPT.ERROR, 0, 10, 0, 0, 0, 1, 0, 1]), OFPBRC.BAD_LEN);
    badReq(Buffer.from([1, OFPT.VENDOR, 0, 10, 0, 0, 0, 1, 0, 0]), OFPBRC.BAD_LEN);
    badReq(Buffer.from([1, OFPT.STATS_REPLY, 0, 10, 0, 0, 0, 1, 0, 0]), OFPBRC.BAD_LEN);
  });

  it("rejects a FEATURES_REPLY whose port list is not whole ports", () => {
    const b = encodeMessage({
      type: OFPT.FEATURES_REPLY,
      xid: 1,
      datapathId: 1n,
      nBuffers: 0,
      nTables: 1,
      capabilities: 0,
      actions: 0,
      ports: [],
    });
    badReq(fixLength(Buffer.concat([b, Buffer.alloc(47)])), OFPBRC.BAD_LEN);
  });

  it("rejects a PACKET_OUT whose actions_len runs past the message", () => {
    const b = encodeMessage({
      type: OFPT.PACKET_OUT,
      xid: 1,
      bufferId: 0xffffffff,
      inPort: 1,
      actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
      data: Buffer.alloc(4),
    });
    b.writeUInt16BE(16, 14);
    badReq(b, OFPBRC.BAD_LEN);
    b.writeUInt16BE(12, 14); // inside the message but not whole actions
    badAct(b, OFPBAC.BAD_LEN);
  });

  it("rejects flow stats entries whose length is inconsistent (zero too: no endless loop)", () => {
    const reply = encodeMessage({
      type: OFPT.STATS_REPLY,
      xid: 1,
      flags: 0,
      statsType: OFPST.FLOW,
      flows: [
        {
          tableId: 0,
          match: MATCH_ALL,
          durationSec: 1,
          durationNsec: 2,
          priority: 3,
          idleTimeout: 0,
          hardTimeout: 0,
          cookie: 0n,
          packetCount: 0n,
          byteCount: 0n,
          actions: [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }],
        },
      ],
    });
    for (const len of [0, 8, 87, 97, 200]) {
      const b = Buffer.from(reply);
      b.writeUInt16BE(len, 12);
      badReq(b, OFPBRC.BAD_LEN);
    }
  });

  it("rejects queue and property lengths that are zero or inconsistent", () => {
    const reply = encodeMessage({
      type: OFPT.QUEUE_GET_CONFIG_REPLY,
      xid: 1,
      port: 1,
      queues: [{ queueId: 1, properties: [{ property: OFPQT.MIN_RATE, rate: 500 }] }],
    });
    for (const [at, len] of [
      [16 + 4, 0],
      [16 + 4, 4],
      [16 + 4, 100],
      [24 + 2, 0],
      [24 + 2, 8],
    ]) {
      const b = Buffer.from(reply);
      b.writeUInt16BE(len, at);
      badReq(b, OFPBRC.BAD_LEN);
    }
  });
});

describe("stats types", () => {
  it("rejects unknown stats types with BAD_STAT, in requests and replies", () => {
    for (const t of [OFPT.STATS_REQUEST, OFPT.STATS_REPLY]) {
      for (const st of [6, 7, 0x100, 0xfffe]) {
        badReq(Buffer.from([1, t, 0, 12, 0, 0, 0, 1, st >> 8, st & 0xff, 0, 0]), OFPBRC.BAD_STAT);
      }
    }
  });

  it("decodes vendor stats and vendor messages (the switch then answers BAD_VENDOR)", () => {
    const req = Buffer.from([
      1, 16, 0, 20, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 0, 0x23, 0x20, 1, 2, 3, 4,
    ]);
    expect(decodeMessage(req)).toEqual({
      type: OFPT.STATS_REQUEST,
      xid: 1,
      flags: 0,
      statsType: OFPST.VENDOR,
      vendor: 0x2320,
      body: Buffer.from([1, 2, 3, 4]),
    });
    const vendor = Buffer.from([1, 4, 0, 14, 0, 0, 0, 2, 0, 0, 0x23, 0x20, 9, 9]);
    expect(decodeMessage(vendor)).toEqual({
      type: OFPT.VENDOR,
      xid: 2,
      vendor: 0x2320,
      data: Buffer.from([9, 9]),
    });
  });
});

describe("strict actions", () => {
  it("decodes a VENDOR action", () => {
    const b = flowModWithRawActions([
      0xff, 0xff, 0, 16, 0, 0, 0x23, 0x20, 0, 1, 0, 3, 0xff, 0, 0, 0,
    ]);
    const m = decodeMessage(b);
    expect(m.type === OFPT.FLOW_MOD && m.actions).toEqual([
      { type: OFPAT.VENDOR, vendor: 0x2320, body: Buffer.from([0, 1, 0, 3, 0xff, 0, 0, 0]) },
    ]);
  });

  it("rejects zero, non-multiple-of-8 and overrunning lengths with BAD_LEN", () => {
    badAct(flowModWithRawActions([0, 0, 0, 0, 0, 1, 0, 0]), OFPBAC.BAD_LEN);
    badAct(flowModWithRawActions([0, 0, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0]), OFPBAC.BAD_LEN);
    badAct(flowModWithRawActions([0, 0, 0, 16, 0, 1, 0, 0]), OFPBAC.BAD_LEN);
    badAct(flowModWithRawActions([0, 0, 0, 8, 0, 1, 0, 0, 0, 0, 0, 8]), OFPBAC.BAD_LEN); // stray bytes
    badAct(flowModWithRawActions([0xff, 0xff, 0, 0, 0, 0, 0x23, 0x20]), OFPBAC.BAD_LEN);
  });

  it("rejects a known action type with the wrong length for it", () => {
    const cases: [number, number][] = [
      [OFPAT.OUTPUT, 16],
      [OFPAT.STRIP_VLAN, 16],
      [OFPAT.SET_DL_SRC, 8],
      [OFPAT.SET_DL_DST, 24],
      [OFPAT.ENQUEUE, 8],
      [OFPAT.SET_NW_SRC, 16],
    ];
    for (const [type, len] of cases) {
      const raw = Array<number>(len).fill(0);
      raw[1] = type;
      raw[3] = len;
      badAct(flowModWithRawActions(raw), OFPBAC.BAD_LEN);
    }
  });

  it("rejects unknown action types with BAD_TYPE", () => {
    for (const type of [12, 13, 0x100, 0xfffe]) {
      badAct(flowModWithRawActions([type >> 8, type & 0xff, 0, 8, 0, 0, 0, 0]), OFPBAC.BAD_TYPE);
    }
  });

  it("decodeActions on its own throws the same errors (without message data)", () => {
    expect(() => decodeActions(Buffer.from([0, 0, 0, 0]))).toThrow(OfpError);
    try {
      decodeActions(Buffer.from([0, 99, 0, 8, 0, 0, 0, 0]));
    } catch (e) {
      expect((e as OfpError).pair).toBe("OFPET_BAD_ACTION/OFPBAC_BAD_TYPE");
    }
  });
});
