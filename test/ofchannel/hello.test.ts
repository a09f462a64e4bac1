// Version negotiation: the highest version both sides list, from a bitmap when the peer sends
// one (OF1.3.1+), else the lower of the two highest versions; ready for a second version.
import { describe, expect, it } from "vitest";
import {
  helloAcceptsV1,
  helloBitmap,
  helloFor,
  negotiateVersion,
  versionName,
} from "../../src/ofchannel/hello.js";
import { OFPT } from "../../src/openflow/of10/constants.js";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { haveOvsOfctl, ofpPrint } from "../openflow/ofp-print.js";
import { programsMissing, skipWithout } from "../support/prereq.js";

const skipLive = skipWithout(
  import.meta.url,
  haveOvsOfctl ? undefined : programsMissing("ovs-ofctl"),
);

/** A HELLO of `version`, with a version bitmap element when `bitmap` is given. */
function hello(version: number, bitmap?: number[]) {
  let body = Buffer.alloc(0);
  if (bitmap !== undefined) {
    const words = Math.max(1, Math.ceil((Math.max(...bitmap) + 1) / 32));
    body = Buffer.alloc(4 + 4 * words + ((8 - ((4 + 4 * words) % 8)) % 8));
    body.writeUInt16BE(1, 0);
    body.writeUInt16BE(4 + 4 * words, 2);
    for (const v of bitmap) {
      const off = 4 + 4 * Math.floor(v / 32);
      body.writeUInt32BE((body.readUInt32BE(off) | (1 << (v % 32))) >>> 0, off);
    }
  }
  return { type: OFPT.HELLO, xid: 1, version, body } as const;
}

describe("HELLO version negotiation", () => {
  it("reads the bitmap element, skipping others", () => {
    expect(helloBitmap(hello(4, [1, 4]))).toEqual([1, 4]);
    expect(helloBitmap(hello(6, [1, 33]))).toEqual([1, 33]);
    expect(helloBitmap(hello(1))).toBeNull();
    const other = Buffer.from("0002000800000000", "hex"); // an unknown element first
    const both = Buffer.concat([other, hello(4, [1]).body]);
    expect(helloBitmap({ ...hello(4), body: both })).toEqual([1]);
  });

  it("speaks 1.0 with any peer that lists it or speaks at least 1.0 without a list", () => {
    expect(negotiateVersion(hello(1))).toBe(1);
    expect(negotiateVersion(hello(4))).toBe(1);
    expect(negotiateVersion(hello(4, [1, 4]))).toBe(1);
    expect(negotiateVersion(hello(4, [4]))).toBeNull();
    expect(negotiateVersion(hello(0))).toBeNull();
    expect(helloAcceptsV1(hello(6, [1, 6]))).toBe(true);
    expect(helloAcceptsV1(hello(4, [3, 4]))).toBe(false);
  });

  it("with a second version offered, settles on the highest common one", () => {
    const ours = [1, 4];
    expect(negotiateVersion(hello(4, [1, 4]), ours)).toBe(4);
    expect(negotiateVersion(hello(6, [1, 4, 6]), ours)).toBe(4);
    expect(negotiateVersion(hello(4, [1]), ours)).toBe(1);
    expect(negotiateVersion(hello(5), ours)).toBe(4); // no bitmap: min(ours, theirs)
    expect(negotiateVersion(hello(2), ours)).toBe(1);
    expect(negotiateVersion(hello(6, [5, 6]), ours)).toBeNull();
  });

  it("offers our highest version and names versions as people write them", () => {
    expect(helloFor(7)).toEqual({ type: OFPT.HELLO, xid: 7, version: 1, body: Buffer.alloc(0) });
    const two = helloFor(7, [1, 4]);
    expect(two.version).toBe(4);
    expect(two.body.toString("hex")).toBe("0001000800000012"); // the bitmap element, 1.0 and 1.3
    expect(helloBitmap(two)).toEqual([1, 4]);
    expect(negotiateVersion(two, [1])).toBe(1); // what a 1.0-only peer of ours settles on
    expect([1, 4, 0x99].map(versionName)).toEqual(["1.0", "1.3", "0x99"]);
  });
});

describe.skipIf(skipLive)("HELLO as Open vSwitch reads it (ovs-ofctl ofp-print)", () => {
  it("our 1.0 HELLO, and the one with a bitmap we would send beside a second version", () => {
    expect(ofpPrint(encodeMessage(helloFor(1)))).toMatch(
      /OFPT_HELLO \(xid=0x1\):\n version bitmap: 0x01\n/,
    );
    expect(ofpPrint(encodeMessage(helloFor(7, [1, 4])))).toMatch(
      /OFPT_HELLO \(OF1\.3\) \(xid=0x7\):\n version bitmap: 0x01, 0x04\n/,
    );
  });
});
