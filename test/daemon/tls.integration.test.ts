// The built daemon over TLS with real peers, certificates made by openssl in the test
// (test/support/pki.ts): ofswitch ssl: -> ovs-testcontroller pssl: with ping and iperf3 through
// the switch; ovs-ofctl ssl: -> ofswitch pssl:; peers whose certificate does not verify are
// refused and logged (rate-limited); ofcontroller and ofswitch over TLS both ways.
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { iperfBytes } from "../support/iperf.js";
import { labPrefix, Topology } from "../support/netns.js";
import { netnsMissing, programsMissing, firstMissing, skipWithout } from "../support/prereq.js";
import {
  ROOT,
  ensureBuilt,
  freePort,
  ofctlWith,
  startDaemon,
  startProcess,
  type Proc,
} from "../support/daemon.js";
import {
  makeOvsPki,
  makeTestPki,
  ovsTlsArgs,
  tlsArgs,
  type KeyPair,
  type TestPki,
} from "../support/pki.js";

const skip = skipWithout(
  import.meta.url,
  firstMissing(
    netnsMissing(),
    programsMissing("openssl", "ovs-pki", "ovs-testcontroller", "ovs-ofctl"),
  ),
);

const ESTABLISHED = /session established/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)("ofswitch over TLS", () => {
  let topo: Topology;
  let pki: TestPki;
  const procs: Proc[] = [];
  const track = (p: Proc) => (procs.push(p), p);
  const ports = () => topo.hosts.flatMap((h) => ["-i", h.switchIf]);

  const ping = (from: number, to: number, count = 2) =>
    topo.runIn(from, `ping -c ${count} -i 0.2 -W 1 ${topo.hosts[to].ip}`, 10_000);

  /** ovs-testcontroller on pssl:`port`, once it listens (the switch's first attempt connects). */
  async function testcontroller(port: number, who: KeyPair = pki.controller): Promise<Proc> {
    const ctl = track(
      startProcess("ovs-testcontroller", [
        "-O",
        "OpenFlow10",
        `--unixctl=${pki.dir}/tc-${port}.ctl`,
        ...ovsTlsArgs(pki, who),
        `pssl:${port}:127.0.0.1`,
      ]),
    );
    await ctl.waitListening(port);
    return ctl;
  }

  /** ovs-ofctl over ssl: holding `who`'s certificate. */
  const ofctlTls = (who: KeyPair, port: number, ...args: string[]) =>
    ofctlWith(ovsTlsArgs(pki, who), `ssl:127.0.0.1:${port}`, ...args);

  /** ofswitch connecting to a controller over TLS with the switch's certificate. */
  async function sslSwitch(port: number, ...extra: string[]): Promise<Proc> {
    return track(
      await startDaemon([
        ...ports(),
        "-c",
        `ssl:127.0.0.1:${port}`,
        ...tlsArgs(pki, pki.switch),
        ...extra,
      ]),
    );
  }

  function ofcontroller(...args: string[]): Proc {
    return track(
      startProcess("node", [
        join(ROOT, "dist/src/controller/cli.js"),
        "learning-switch",
        ...tlsArgs(pki, pki.controller),
        ...args,
      ]),
    );
  }

  beforeAll(() => {
    ensureBuilt();
    pki = makeTestPki();
    topo = Topology.create(labPrefix("dt"), 3);
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop("SIGTERM").catch(() => undefined);
  });

  afterAll(() => {
    topo?.teardown();
    pki?.remove();
  });

  it("ssl: to ovs-testcontroller pssl: ping and iperf3 -t 3 through the switch", async () => {
    const port = await freePort();
    await testcontroller(port);
    const d = await sslSwitch(port, "--fail-mode", "secure", "--max-backoff", "1");
    await d.waitFor(ESTABLISHED, 10_000);
    expect(d.output).toMatch(/"controller":"ssl:127\.0\.0\.1:\d+"/);
    expect((await ping(0, 1, 3)).stdout).toMatch(/3 received/);
    expect(await iperfBytes(topo, 3, "ovs-testcontroller over TLS")).toBeGreaterThan(1e6);
    expect(d.output).not.toMatch(/unreachable/);
  }, 40_000);

  it("ovs-ofctl over ssl: to pssl: adds flows that carry traffic and dumps them", async () => {
    const port = await freePort();
    const d = track(
      await startDaemon([
        ...ports(),
        "-l",
        `pssl:${port}`,
        ...tlsArgs(pki, pki.switch),
        "--fail-mode",
        "secure",
      ]),
    );
    expect(d.output).toMatch(new RegExp(`"listener":"pssl:${port}:127\\.0\\.0\\.1"`));
    ofctlTls(pki.controller, port, "add-flow", "in_port=1,actions=output:2");
    ofctlTls(pki.controller, port, "add-flow", "in_port=2,actions=output:1");
    expect((await ping(0, 1, 3)).stdout).toMatch(/3 received/);
    const flows = ofctlTls(pki.controller, port, "dump-flows");
    expect(flows).toMatch(/n_packets=[1-9]\d*.*in_port=1 actions=output:2/);
    expect(flows).toMatch(/in_port=2 actions=output:1/);
    expect(ofctlTls(pki.controller, port, "show")).toMatch(/n_tables:1/);
  }, 30_000);

  it("refuses clients whose certificate does not verify, logs it rate-limited, serves the others", async () => {
    const port = await freePort();
    const d = track(
      await startDaemon([...ports(), "-l", `pssl:${port}`, ...tlsArgs(pki, pki.switch)]),
    );
    // another CA, and one that trusts the other CA only (the switch's certificate fails there)
    expect(() => ofctlTls(pki.foreign, port, "show")).toThrow();
    expect(() =>
      ofctlWith(ovsTlsArgs(pki, pki.foreign, pki.foreignCaCert), `ssl:127.0.0.1:${port}`, "show"),
    ).toThrow();
    expect(() => ofctlTls(pki.expired, port, "show")).toThrow();
    // plain TCP to a TLS listener
    expect(() => ofctlWith([], `tcp:127.0.0.1:${port}`, "show")).toThrow();
    await d.waitFor(/TLS handshake refused/, 5000, 4);
    const refused = d.logged("TLS handshake refused");
    expect(refused.map((l) => [l.level, l.listener])).toEqual(
      Array(4).fill([40, `pssl:${port}:127.0.0.1`]),
    );
    expect(refused.map((l) => l.reason)).toEqual([
      "certificate not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
      "tlsv1 alert unknown ca", // the client refused the switch's certificate
      "certificate has expired (CERT_HAS_EXPIRED)",
      "wrong version number", // no TLS at all
    ]);
    expect(refused[0].peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(d.output).not.toMatch(ESTABLISHED);
    // a flood of refused clients costs a few lines (5 a minute), then a count
    for (let i = 0; i < 30; i++) expect(() => ofctlTls(pki.foreign, port, "show")).toThrow();
    await sleep(200);
    expect(d.logged("TLS handshake refused")).toHaveLength(5);
    expect(ofctlTls(pki.controller, port, "show")).toMatch(/n_tables:1/);
    expect(d.running).toBe(true);
  }, 60_000);

  it("an ssl: controller whose certificate does not verify is refused and reported once as unreachable, until a good one answers", async () => {
    const port = await freePort();
    let ctl = await testcontroller(port, pki.foreign);
    const d = await sslSwitch(port, "--max-backoff", "1");
    await d.waitFor(/controller unreachable/, 10_000);
    expect(d.logged("controller unreachable")).toEqual([
      expect.objectContaining({
        level: 40,
        controller: `ssl:127.0.0.1:${port}`,
        error: "certificate not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
      }),
    ]);
    await sleep(3000); // three more attempts at --max-backoff 1: no more warnings
    const reports = () => d.logLines().filter((l) => / unreachable$/.test(String(l.msg)));
    expect(reports()).toHaveLength(1);
    expect(d.output).not.toMatch(ESTABLISHED);
    await ctl.stop();
    ctl = await testcontroller(port);
    await d.waitFor(ESTABLISHED, 10_000);
    // logged just after the line above, in a write of its own that may not have been read yet
    await d.waitFor(/controller reachable again/, 2000);
    const back = d.logLines().filter((l) => /controller reachable again/.test(String(l.msg)));
    expect(back).toEqual([expect.objectContaining({ level: 30 })]);
    // Attempts between the two controllers meet a closed port (or one closing): the error
    // changed, which OutageReport reports at once; nothing else was reported.
    const all = reports();
    for (let k = 1; k < all.length; k++) {
      expect(all[k].msg).toBe("controller still unreachable");
      expect(all[k].error).not.toBe(all[k - 1].error);
      expect(String(all[k].error)).not.toMatch(/UNABLE_TO_VERIFY/);
    }
    expect(back[0].failedAttempts).toBeGreaterThanOrEqual(3);
    expect((await ping(0, 1)).stdout).toMatch(/2 received/);
  }, 40_000);

  it("ofswitch ssl: -> ofcontroller learning-switch pssl:: ping through the switch", async () => {
    const port = await freePort();
    const ctl = ofcontroller("-l", `pssl:${port}`);
    await ctl.waitFor(/listening for switches/, 10_000);
    const d = await sslSwitch(port, "--fail-mode", "secure");
    await d.waitFor(ESTABLISHED, 10_000);
    await ctl.waitFor(/switch joined/, 10_000);
    expect((await ping(0, 2, 3)).stdout).toMatch(/3 received/);
  }, 30_000);

  it("ofcontroller ssl: -> ofswitch pssl:: the switch joins; a foreign switch certificate is refused", async () => {
    const port = await freePort();
    const d = track(
      await startDaemon([...ports(), "-l", `pssl:${port}`, ...tlsArgs(pki, pki.switch)]),
    );
    const ctl = ofcontroller("-c", `ssl:127.0.0.1:${port}`);
    await ctl.waitFor(/switch joined/, 10_000);
    await ctl.stop();
    await d.stop();
    const bad = await freePort();
    track(await startDaemon([...ports(), "-l", `pssl:${bad}`, ...tlsArgs(pki, pki.foreign)]));
    const refused = ofcontroller("-c", `ssl:127.0.0.1:${bad}`);
    await refused.waitFor(/switch unreachable/, 10_000);
    expect(refused.logged("switch unreachable")).toEqual([
      expect.objectContaining({
        level: 40,
        switch: `ssl:127.0.0.1:${bad}`,
        error: "certificate not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
      }),
    ]);
    expect(refused.output).not.toMatch(/switch joined/);
  }, 40_000);

  it("the user guide's ovs-pki steps: ofcontroller pssl: with the switch CA, ofswitch ssl: with the controller CA, ovs-ofctl ssl: to pssl:", async () => {
    const ovs = makeOvsPki();
    try {
      const port = await freePort();
      const ctl = track(
        startProcess("node", [
          join(ROOT, "dist/src/controller/cli.js"),
          "learning-switch",
          "-l",
          `pssl:${port}`,
          ...["--private-key", ovs.ctl.key, "--certificate", ovs.ctl.cert],
          ...["--ca-cert", ovs.switchCa],
        ]),
      );
      await ctl.waitFor(/listening for switches/, 10_000);
      const mgmt = await freePort();
      const d = track(
        await startDaemon([
          ...ports(),
          "-c",
          `ssl:127.0.0.1:${port}`,
          "-l",
          `pssl:${mgmt}`,
          ...["--private-key", ovs.sw1.key, "--certificate", ovs.sw1.cert],
          ...["--ca-cert", ovs.controllerCa],
          "--fail-mode",
          "secure",
        ]),
      );
      await d.waitFor(ESTABLISHED, 10_000);
      await ctl.waitFor(/switch joined/, 10_000);
      expect((await ping(1, 2, 3)).stdout).toMatch(/3 received/);
      const flows = ofctlWith(
        [
          `--private-key=${ovs.ctl.key}`,
          `--certificate=${ovs.ctl.cert}`,
          `--ca-cert=${ovs.switchCa}`,
        ],
        `ssl:127.0.0.1:${mgmt}`,
        "dump-flows",
      );
      expect(flows).toMatch(/icmp.*actions=output:/); // the learning switch's flows
    } finally {
      ovs.remove();
    }
  }, 60_000);
});
