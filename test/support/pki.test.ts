// The test certificates work with Open vSwitch's TLS, so the TLS tests measure ofswitch and not
// the certificates: ovs-testcontroller (pssl:) accepts a TLS client holding the switch
// certificate and refuses one holding a certificate from the other CA; ovs-ofctl (ssl:) completes
// a handshake with a TLS server holding the switch certificate.
import { readFileSync } from "node:fs";
import { connect as tlsConnect, createServer, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startProcess, type Proc } from "./daemon.js";
import { makeTestPki, type KeyPair, type TestPki } from "./pki.js";
import { programsMissing, skipWithout } from "./prereq.js";

const skip = skipWithout(
  import.meta.url,
  programsMissing("openssl", "ovs-testcontroller", "ovs-ofctl"),
);

/** The bytes a TLS client holding `who` receives from 127.0.0.1:`port`, or the error. */
function tlsRead(pki: TestPki, who: KeyPair, port: number): Promise<Buffer | Error> {
  return new Promise((resolve) => {
    const s: TLSSocket = tlsConnect({
      host: "127.0.0.1",
      port,
      key: readFileSync(who.key),
      cert: readFileSync(who.cert),
      ca: readFileSync(pki.caCert),
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => (s.destroy(), resolve(new Error("timed out"))), 5000);
    s.once("data", (d: Buffer) => (clearTimeout(timer), s.destroy(), resolve(d)));
    s.once("error", (e) => (clearTimeout(timer), resolve(e)));
    s.once("close", () => (clearTimeout(timer), resolve(new Error("closed"))));
  });
}

describe.skipIf(skip)("test certificates (openssl) with Open vSwitch's TLS", () => {
  let pki: TestPki;
  let ctl: Proc | undefined;
  let port = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    pki = makeTestPki();
    console.log(`test PKI made in ${(performance.now() - t0).toFixed(0)} ms`);
    port = await freePort();
    ctl = startProcess("ovs-testcontroller", [
      "-O",
      "OpenFlow10",
      `--unixctl=${pki.dir}/tc.ctl`,
      "-p",
      pki.controller.key,
      "-c",
      pki.controller.cert,
      "-C",
      pki.caCert,
      `pssl:${port}:127.0.0.1`,
    ]);
    await new Promise((r) => setTimeout(r, 300));
  });

  afterAll(async () => {
    await ctl?.stop().catch(() => undefined);
    pki?.remove();
  });

  it("ovs-testcontroller pssl: sends HELLO to the switch certificate, refuses the other CA's", async () => {
    const ok = await tlsRead(pki, pki.switch, port);
    expect(ok).toBeInstanceOf(Buffer);
    expect((ok as Buffer)[0]).toBeGreaterThanOrEqual(1); // an OpenFlow HELLO: version byte
    expect((ok as Buffer)[1]).toBe(0); // OFPT_HELLO
    expect(await tlsRead(pki, pki.foreign, port)).toBeInstanceOf(Error);
    expect(await tlsRead(pki, pki.expired, port)).toBeInstanceOf(Error);
  });

  it("ovs-ofctl ssl: completes a handshake with a server holding the switch certificate", async () => {
    const hello: Buffer[] = [];
    const server = createServer(
      {
        key: readFileSync(pki.switch.key),
        cert: readFileSync(pki.switch.cert),
        ca: readFileSync(pki.caCert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (s) => {
        s.once("data", (d: Buffer) => {
          hello.push(d);
          s.destroy();
        });
        s.on("error", () => undefined);
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const p = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) =>
      execFile(
        "ovs-ofctl",
        [
          "-O",
          "OpenFlow10",
          `--private-key=${pki.controller.key}`,
          `--certificate=${pki.controller.cert}`,
          `--ca-cert=${pki.caCert}`,
          "show",
          `ssl:127.0.0.1:${p}`,
        ],
        { timeout: 10_000 },
        () => resolve(),
      ),
    );
    server.close();
    expect(hello).toHaveLength(1);
    expect(hello[0][1]).toBe(0); // OFPT_HELLO, sent over the authenticated channel
  });
});
