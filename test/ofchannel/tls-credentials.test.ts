// Reading --private-key, --certificate and --ca-cert: each wrong file is one clear line.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTlsCredentials } from "../../src/ofchannel/tls.js";
import { makeTestPki, type TestPki } from "../support/pki.js";
import { programsMissing, skipWithout } from "../support/prereq.js";

const skip = skipWithout(import.meta.url, programsMissing("openssl"));

describe.skipIf(skip)("loadTlsCredentials", () => {
  let pki: TestPki;
  const files = (over: Record<string, string | undefined> = {}) => ({
    privateKey: pki.switch.key,
    certificate: pki.switch.cert,
    caCert: pki.caCert,
    ...over,
  });
  const load = (over: Record<string, string | undefined> = {}, warnings: string[] = []) =>
    loadTlsCredentials(files(over), "ssl:10.0.0.1:6653", warnings);

  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki?.remove());

  it("reads the three files", () => {
    const warnings: string[] = [];
    const c = load({}, warnings);
    expect(c.key).toEqual(readFileSync(pki.switch.key));
    expect(c.cert).toEqual(readFileSync(pki.switch.cert));
    expect(c.ca).toEqual(readFileSync(pki.caCert));
    expect(warnings).toEqual([]);
  });

  it("says which are missing, for which target", () => {
    expect(() => load({ privateKey: undefined, caCert: undefined })).toThrow(
      "ssl:10.0.0.1:6653 needs --private-key, --certificate and --ca-cert (missing: --private-key, --ca-cert)",
    );
  });

  it("one line for a file that is not there, not PEM, or not the certificate's key", () => {
    const junk = join(pki.dir, "junk.pem");
    writeFileSync(junk, "not pem\n");
    const cases: [Record<string, string>, RegExp][] = [
      [{ privateKey: join(pki.dir, "nope.pem") }, /^--private-key .*nope\.pem: no such file$/],
      [{ certificate: pki.dir }, /^--certificate .*: is a directory$/],
      [{ privateKey: junk }, /^--private-key .*junk\.pem: not a usable PEM private key/],
      [{ certificate: junk }, /^--certificate .*junk\.pem: not a PEM certificate/],
      [{ caCert: junk }, /^--ca-cert .*junk\.pem: not a PEM certificate/],
      [{ privateKey: pki.controller.key }, /is not the key of --certificate/],
    ];
    for (const [over, message] of cases) {
      let err: Error | undefined;
      try {
        load(over);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message, JSON.stringify(over)).toMatch(message);
      expect(err?.message.includes("\n")).toBe(false);
    }
  });

  it("an expired certificate of our own is a warning (peers will refuse it), not a refusal", () => {
    const warnings: string[] = [];
    load({ privateKey: pki.expired.key, certificate: pki.expired.cert }, warnings);
    expect(warnings).toEqual([expect.stringMatching(/expired-cert\.pem expired on .*2020/)]);
  });
});
