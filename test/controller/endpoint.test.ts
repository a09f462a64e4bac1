import { describe, expect, it } from "vitest";
import {
  EndpointError,
  parseConnectTarget,
  parseListenTarget,
} from "../../src/controller/endpoint.js";

describe("connection targets", () => {
  it("ptcp: defaults to port 6653 on 127.0.0.1", () => {
    expect(parseListenTarget("ptcp:")).toEqual({ host: "127.0.0.1", port: 6653 });
    expect(parseListenTarget("ptcp:6633")).toEqual({ host: "127.0.0.1", port: 6633 });
    expect(parseListenTarget("ptcp:0:0.0.0.0")).toEqual({ host: "0.0.0.0", port: 0 });
    expect(parseListenTarget("ptcp:6653:[::1]")).toEqual({ host: "::1", port: 6653 });
  });

  it("tcp: needs a host; the port defaults to 6653", () => {
    expect(parseConnectTarget("tcp:10.0.0.1:6634")).toEqual({ host: "10.0.0.1", port: 6634 });
    expect(parseConnectTarget("tcp:switch1")).toEqual({ host: "switch1", port: 6653 });
    expect(parseConnectTarget("tcp:[::1]:6634")).toEqual({ host: "::1", port: 6634 });
  });

  for (const bad of ["tcp:1.2.3.4:1", "ptcp:70000", "ptcp:1:notanip", "ptcp:x", "unix:/x"]) {
    it(`rejects listen target ${bad}`, () => {
      expect(() => parseListenTarget(bad)).toThrow(EndpointError);
    });
  }
  for (const bad of ["ptcp:1", "tcp:", "tcp:h:99999", "tcp:h:x", "h:1"]) {
    it(`rejects connect target ${bad}`, () => {
      expect(() => parseConnectTarget(bad)).toThrow(EndpointError);
    });
  }
});
