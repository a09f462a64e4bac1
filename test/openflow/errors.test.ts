import { describe, expect, it } from "vitest";
import { OFPBAC, OFPBRC, OFPET, OFPFMFC, OFPHFC, OFPT } from "../../src/openflow/of10/constants.js";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import { errorPairName, errorToMessage, OfpError } from "../../src/openflow/of10/errors.js";
import { flowMod } from "./helpers.js";
import { haveOvsOfctl, ofpPrint } from "./ofp-print.js";

describe("OfpError", () => {
  it("names (type, code) pairs from the constants", () => {
    expect(errorPairName(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN)).toBe(
      "OFPET_BAD_REQUEST/OFPBRC_BAD_LEN",
    );
    expect(errorPairName(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT)).toBe(
      "OFPET_BAD_ACTION/OFPBAC_BAD_OUT_PORT",
    );
    expect(errorPairName(OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP)).toBe(
      "OFPET_FLOW_MOD_FAILED/OFPFMFC_OVERLAP",
    );
    expect(errorPairName(OFPET.QUEUE_OP_FAILED, 2)).toBe("OFPET_QUEUE_OP_FAILED/OFPQOFC_EPERM");
    expect(errorPairName(OFPET.PORT_MOD_FAILED, 9)).toBe("OFPET_PORT_MOD_FAILED/9");
    expect(errorPairName(0xb0c2, 1)).toBe("OFPET_45250/1");
    expect(errorPairName(0xb0c2, 0)).toBe("NXET_VENDOR/NXVC_VENDOR_ERROR");
  });

  it("builds each error type with its helper", () => {
    const msg = encodeMessage(flowMod());
    const e = OfpError.flowModFailed(OFPFMFC.OVERLAP, "overlaps", msg);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("OfpError");
    expect([e.errType, e.code, e.pair]).toEqual([3, 1, "OFPET_FLOW_MOD_FAILED/OFPFMFC_OVERLAP"]);
    expect(e.message).toBe("OFPET_FLOW_MOD_FAILED/OFPFMFC_OVERLAP: overlaps");
    expect(e.data).toEqual(msg.subarray(0, 64));
    expect(OfpError.portModFailed(0).errType).toBe(OFPET.PORT_MOD_FAILED);
    expect(OfpError.queueOpFailed(1).errType).toBe(OFPET.QUEUE_OP_FAILED);
    expect(OfpError.badAction(OFPBAC.TOO_MANY).pair).toBe("OFPET_BAD_ACTION/OFPBAC_TOO_MANY");
    const h = OfpError.helloFailed(OFPHFC.INCOMPATIBLE, "we support version 0x01 only");
    expect(h.data.toString()).toBe("we support version 0x01 only");
  });

  it("turns into the OFPT_ERROR to send, echoing the offending xid", () => {
    const req = encodeMessage(flowMod(undefined, 0xdeadbeef));
    const e = OfpError.badRequest(OFPBRC.BUFFER_UNKNOWN, "", req);
    const m = errorToMessage(e);
    expect(m).toEqual({
      type: OFPT.ERROR,
      xid: 0xdeadbeef,
      errType: OFPET.BAD_REQUEST,
      code: OFPBRC.BUFFER_UNKNOWN,
      data: req.subarray(0, 64),
    });
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
    expect(errorToMessage(e, 7).xid).toBe(7);
    expect(errorToMessage(OfpError.badRequest(OFPBRC.BAD_LEN)).xid).toBe(0);
  });

  it("encodes errors OF1.0 has no code for as Open vSwitch does (Nicira vendor error)", () => {
    const req = encodeMessage(flowMod(undefined, 0x1234));
    const e = OfpError.nicira("OFPBRC_BAD_PORT", "in_port").withData(req);
    expect(e.pair).toBe("OFPBRC_BAD_PORT");
    const m = errorToMessage(e);
    expect([m.xid, m.errType, m.code]).toEqual([0x1234, 0xb0c2, 0]);
    expect(m.data.subarray(0, 8).toString("hex")).toBe("0000232000010202");
    expect(m.data.subarray(8)).toEqual(req.subarray(0, 64));
    if (haveOvsOfctl) {
      expect(ofpPrint(encodeMessage(m))).toMatch(/^OFPT_ERROR \(xid=0x1234\): OFPBRC_BAD_PORT\n/);
    }
  });
});
