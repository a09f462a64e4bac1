// Setting an interface up or down (PORT_MOD's PORT_DOWN): the errors each way gives, as errno
// names. The change itself on real veths: test/daemon/port-events.integration.test.ts.
import { describe, expect, it } from "vitest";
import { FrameIoError } from "../../src/datapath/frame-io.js";
import { setInterfaceUp, setUpByIp } from "../../src/datapath/if-admin.js";
import { programsMissing, skipWithout } from "../support/prereq.js";

const NO_SUCH_IF = "ofsnoif0";
const noIp = skipWithout(import.meta.url, programsMissing("ip"));

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FrameIoError);
    return (e as FrameIoError).code;
  }
  return undefined;
}

describe("if-admin", () => {
  it.skipIf(noIp)("`ip link set` on an interface that does not exist: ENODEV", () => {
    expect(codeOf(() => setUpByIp(NO_SUCH_IF, false))).toBe("ENODEV");
  });

  it("`ip` missing: ENOENT", () => {
    expect(codeOf(() => setUpByIp(NO_SUCH_IF, true, "/nonexistent/ip"))).toBe("ENOENT");
  });

  it.skipIf(noIp)("the chosen way (the addon's ioctl when it loads): ENODEV too", () => {
    expect(codeOf(() => setInterfaceUp(NO_SUCH_IF, true))).toBe("ENODEV");
  });
});
