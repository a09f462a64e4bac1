// Watching a running switch: the Prometheus endpoint (--metrics) and the control socket
// (ofswitch-ctl status), with real packets between namespaced hosts under ovs-testcontroller.
// The counters must move with the traffic and agree with what ovs-ofctl reads over OpenFlow.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ROOT,
  ensureBuilt,
  freePort,
  ofctl,
  startDaemon,
  startProcess,
  type Proc,
} from "../support/daemon.js";
import { labPrefix, Topology } from "../support/netns.js";
import { afpacketMissing, firstMissing, programsMissing, skipWithout } from "../support/prereq.js";

const skip = skipWithout(
  import.meta.url,
  firstMissing(afpacketMissing(), programsMissing("ovs-testcontroller", "ovs-ofctl")),
);
const CTL = join(ROOT, "dist/src/ctl.js");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Samples = Map<string, number>;

/** Prometheus text format -> `name{labels}` (labels as printed) -> value. */
function parseExposition(text: string): Samples {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not exposition format: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

function ctl(socket: string, ...args: string[]) {
  const r = spawnSync("node", [CTL, "-t", socket, ...args], { encoding: "utf8", timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(skip)("metrics and the control socket on a running switch", () => {
  let topo: Topology;
  let dir = "";
  let controller: Proc | undefined;
  let daemon: Proc | undefined;
  let url = "";
  let socket = "";
  let ctrlTarget = "";
  let listenTarget = "";

  const scrape = async (): Promise<Samples> => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };
  const ping = (count: number) =>
    topo.runIn(0, `ping -c ${count} -i 0.05 -W 1 ${topo.hosts[1].ip}`, 15_000);

  beforeAll(async () => {
    ensureBuilt();
    topo = Topology.create(labPrefix("ob"), 2);
    dir = mkdtempSync(join(tmpdir(), "ofswitch-observe-"));
    socket = join(dir, "switch.ctl");
    const cport = await freePort();
    const lport = await freePort();
    ctrlTarget = `tcp:127.0.0.1:${cport}`;
    listenTarget = `ptcp:${lport}:127.0.0.1`;
    controller = startProcess("ovs-testcontroller", [
      `--unixctl=${join(dir, "tc.ctl")}`,
      `ptcp:${cport}:127.0.0.1`,
    ]);
    daemon = await startDaemon([
      ...topo.hosts.flatMap((h) => ["-i", h.switchIf]),
      ...["-c", ctrlTarget, "-l", `ptcp:${lport}`, "--fail-mode", "secure"],
      ...["--max-backoff", "1", "--probe-interval", "1"],
      ...["--metrics", "0", "--ctl-socket", socket],
    ]);
    const m = /"url":"(http:\/\/[^"]+)"/.exec(daemon.output);
    expect(m, daemon.output).not.toBeNull();
    url = (m as RegExpExecArray)[1];
    await daemon.waitFor(/session established/, 15_000);
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    await controller?.stop().catch(() => undefined);
    topo?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves on loopback by default, only /metrics", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const other = await fetch(url.replace("/metrics", "/nothing"));
    expect(other.status).toBe(404);
    const post = await fetch(url, { method: "POST" });
    expect(post.status).toBe(405);
  });

  it("counters move with traffic and agree with ovs-ofctl dump-ports", async () => {
    const before = await scrape();
    const r = await ping(20);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The controller installed exact-match flows: more pings are table hits (and cache hits).
    expect((await ping(20)).code).toBe(0);
    const after = await scrape();
    const p1 = '{port="1",name="' + topo.hosts[0].switchIf + '"}';
    const p2 = '{port="2",name="' + topo.hosts[1].switchIf + '"}';
    const delta = (k: string) => (after.get(k) ?? NaN) - (before.get(k) ?? 0);
    expect(delta(`ofswitch_port_rx_packets_total${p1}`)).toBeGreaterThanOrEqual(40);
    expect(delta(`ofswitch_port_tx_packets_total${p2}`)).toBeGreaterThanOrEqual(40);
    expect(delta(`ofswitch_port_rx_bytes_total${p1}`)).toBeGreaterThanOrEqual(40 * 98);
    expect(delta(`ofswitch_port_tx_bytes_total${p1}`)).toBeGreaterThanOrEqual(40 * 98);
    expect(delta("ofswitch_flow_table_lookups_total")).toBeGreaterThanOrEqual(80);
    expect(delta("ofswitch_flow_table_matched_total")).toBeGreaterThanOrEqual(60);
    expect(delta("ofswitch_flow_cache_hits_total")).toBeGreaterThan(0);
    const ratio = after.get("ofswitch_flow_cache_hit_ratio") ?? -1;
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1);
    expect(after.get("ofswitch_flow_table_entries")).toBeGreaterThanOrEqual(2);
    expect(after.get(`ofswitch_packet_ins_sent_total{controller="${ctrlTarget}"}`)).toBeGreaterThan(
      0,
    );
    expect(
      after.get(
        `ofswitch_packet_ins_dropped_total{controller="${ctrlTarget}",reason="rate_limit"}`,
      ),
    ).toBe(0);
    expect(
      after.get(`ofswitch_controller_connected{controller="${ctrlTarget}",role="primary"}`),
    ).toBe(1);
    expect(
      after.get(`ofswitch_controller_send_queue_bytes{controller="${ctrlTarget}"}`),
    ).toBeGreaterThanOrEqual(0);
    expect(after.get(`ofswitch_controller_sessions{controller="${listenTarget}"}`)).toBe(0);
    expect(after.get(`ofswitch_port_link_up${p1}`)).toBe(1);
    expect(after.get("process_resident_memory_bytes")).toBeGreaterThan(10e6);
    expect(after.get("process_cpu_seconds_total")).toBeGreaterThan(0);

    // The same numbers as OpenFlow PORT stats, read while the hosts are quiet.
    const target = `tcp:127.0.0.1:${listenTarget.split(":")[1]}`;
    let agreed = false;
    for (let i = 0; i < 20 && !agreed; i++) {
      const ports = ofctl(target, "dump-ports", "1");
      const m = /rx pkts=(\d+), bytes=(\d+)[\s\S]*tx pkts=(\d+), bytes=(\d+)/.exec(ports);
      const now = await scrape();
      agreed =
        m !== null &&
        Number(m[1]) === now.get(`ofswitch_port_rx_packets_total${p1}`) &&
        Number(m[2]) === now.get(`ofswitch_port_rx_bytes_total${p1}`) &&
        Number(m[3]) === now.get(`ofswitch_port_tx_packets_total${p1}`) &&
        Number(m[4]) === now.get(`ofswitch_port_tx_bytes_total${p1}`);
      if (!agreed) await sleep(100);
    }
    expect(agreed).toBe(true);
    // ovs-ofctl's session on the listener counted while it was up, and went.
    expect((await scrape()).get(`ofswitch_controller_sessions{controller="${listenTarget}"}`)).toBe(
      0,
    );
  });

  it("ofswitch-ctl status: the same state, as text and as JSON", () => {
    const text = ctl(socket, "status");
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/fail mode secure/);
    expect(text.stdout).toContain(`${ctrlTarget} (active, primary): connected`);
    expect(text.stdout).toContain(`1 ${topo.hosts[0].switchIf} (`);
    const json = ctl(socket, "--json", "status");
    const s = JSON.parse(json.stdout) as {
      ports: { name: string; rxPackets: number }[];
      controllers: { target: string; sessions: number }[];
    };
    expect(s.ports.map((p) => p.name)).toEqual(topo.hosts.map((h) => h.switchIf));
    expect(s.ports[0].rxPackets).toBeGreaterThanOrEqual(40);
    expect(s.controllers.find((c) => c.target === ctrlTarget)?.sessions).toBe(1);
  });

  it("the control socket is root's alone (mode 0600), and a refusal is one line", () => {
    const st = statSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(0);
    const asNobody = spawnSync(
      "setpriv",
      ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "node", CTL, "-t", socket, "status"],
      { encoding: "utf8", timeout: 15_000 },
    );
    expect(asNobody.status).toBe(1);
    expect(asNobody.stderr).toMatch(/EACCES.*run ofswitch-ctl as root/);
    const bad = ctl(socket, "no-such-command");
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/unknown command "no-such-command"/);
  });

  it("controller_connected drops to 0 when the controller goes, packet-ins stop counting", async () => {
    await controller?.stop();
    let connected = 1;
    for (let i = 0; i < 100 && connected !== 0; i++) {
      connected =
        (await scrape()).get(
          `ofswitch_controller_connected{controller="${ctrlTarget}",role="primary"}`,
        ) ?? -1;
      if (connected !== 0) await sleep(100);
    }
    expect(connected).toBe(0);
  });

  it("stopping the switch removes its control socket", async () => {
    await daemon?.stop();
    expect(existsSync(socket)).toBe(false);
  });
});
