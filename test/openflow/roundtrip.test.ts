import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OFPT, OFP_VERSION } from "../../src/openflow/of10/constants.js";
import {
  decodeActions,
  decodeMatch,
  decodeMessage,
  encodeActions,
  encodeMatch,
  encodeMessage,
  messageLength,
} from "../../src/openflow/of10/codec.js";
import { actions, match, messageByType } from "./arbitraries.js";

const NAMES = Object.fromEntries(Object.entries(OFPT).map(([k, v]) => [v, k]));

describe("decode(encode(m)) equals m", () => {
  it("covers every OFPT type", () => {
    expect(
      Object.keys(messageByType)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(Object.values(OFPT).sort((a, b) => a - b));
  });

  it.each(Object.entries(messageByType))("type %s", (type, arb) => {
    fc.assert(
      fc.property(arb, (m) => {
        const wire = encodeMessage(m);
        expect(wire.length).toBe(messageLength(m));
        expect(wire.readUInt16BE(2)).toBe(wire.length);
        expect(wire[1]).toBe(Number(type));
        expect(wire[0]).toBe(m.type === OFPT.HELLO ? m.version : OFP_VERSION);
        expect(decodeMessage(wire)).toEqual(m);
        // encoding is deterministic: padding is zeroed, so equal messages give equal bytes
        expect(encodeMessage(decodeMessage(wire))).toEqual(wire);
      }),
      { numRuns: 300 },
    );
    expect(NAMES[Number(type)]).toBeDefined();
  });

  it("round-trips matches and action lists on their own", () => {
    fc.assert(
      fc.property(match, actions, (mt, acts) => {
        expect(decodeMatch(encodeMatch(mt))).toEqual(mt);
        const wire = encodeActions(acts);
        expect(decodeActions(wire)).toEqual(acts);
        // at an offset inside a larger buffer
        const padded = Buffer.concat([Buffer.alloc(5), wire, Buffer.alloc(3)]);
        expect(decodeActions(padded, 5, wire.length)).toEqual(acts);
      }),
      { numRuns: 500 },
    );
  });
});
