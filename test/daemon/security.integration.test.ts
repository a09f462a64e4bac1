// Who may control the built daemon: a plain-TCP listener on a non-loopback address only with
// --allow-insecure-listen (and then a warning naming it).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { labPrefix, Topology } from "../support/netns.js";
import { netnsMissing, skipWithout } from "../support/prereq.js";
import { ensureBuilt, freePort, ofctl, startDaemon, type Proc } from "../support/daemon.js";

const skip = skipWithout(import.meta.url, netnsMissing());

describe.skipIf(skip)("ofswitch daemon: who may control it", () => {
  let topo: Topology;
  const procs: Proc[] = [];
  const track = (p: Proc) => (procs.push(p), p);
  const ports = () => topo.hosts.flatMap((h) => ["-i", h.switchIf]);

  beforeAll(() => {
    ensureBuilt();
    topo = Topology.create(labPrefix("ds"), 2);
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop("SIGTERM").catch(() => undefined);
  });

  afterAll(() => topo?.teardown());

  it("ptcp: on 0.0.0.0 starts only with --allow-insecure-listen, and warns naming the listener", async () => {
    const port = await freePort();
    const d = track(
      await startDaemon([...ports(), "-l", `ptcp:${port}:0.0.0.0`, "--allow-insecure-listen"]),
    );
    expect(d.output).toMatch(/"level":40.*"listener":"ptcp:\d+:0\.0\.0\.0".*control the switch/);
    expect(ofctl(`tcp:127.0.0.1:${port}`, "show")).toMatch(/n_tables:1/);
  });
});
