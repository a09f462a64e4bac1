// The end-to-end harness's pure pieces (no namespaces, no traffic): statistics, JSON lines, table,
// docs section rewriting, SVG, flows file, profile summary, option parsing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { endToEndBody } from "../../bench/e2e/docs.js";
import {
  advantage,
  FIGURES,
  figureDef,
  figureLine,
  ratio,
  Results,
} from "../../bench/e2e/figures.js";
import { exactFlow, flowsFileText, wildcardFlow } from "../../bench/e2e/flows-file.js";
import { flowSetupRate, parseIperfTcp } from "../../bench/e2e/measure.js";
import { parsePortNumbers } from "../../bench/e2e/ofctl.js";
import { parseOptions } from "../../bench/e2e/options.js";
import { type CpuProfile, profileSummary, selfTimes } from "../../bench/e2e/profile.js";
import {
  formatValue,
  markdownTable,
  replaceSection,
  resultsTable,
  sectionBody,
} from "../../bench/e2e/report.js";
import { median, parsePingTimes, percentile } from "../../bench/e2e/stats.js";
import { escapeXml, ratioBars, ratiosSvg } from "../../bench/e2e/svg.js";
import { ofswitchArgv } from "../../bench/e2e/switches.js";
import type { Topology } from "../../bench/e2e/topology.js";
import { programsMissing, skipWithout } from "../support/prereq.js";

const noOfctl = skipWithout(import.meta.url, programsMissing("ovs-ofctl"));

describe("statistics", () => {
  it("interpolates percentiles between closest ranks", () => {
    expect(percentile([4, 1, 3, 2], 50)).toBe(2.5);
    expect(percentile([4, 1, 3, 2], 0)).toBe(1);
    expect(percentile([4, 1, 3, 2], 100)).toBe(4);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBeCloseTo(99.01, 10);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([1, Number.NaN, 3], 50)).toBe(2);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it("takes the median of the runs that produced a value", () => {
    expect(median([3, null, 1, 2])).toBe(2);
    expect(median([null, null])).toBeNull();
    expect(median([1, 2])).toBe(1.5);
  });

  it("reads per-packet times from ping's output", () => {
    const out = [
      "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.",
      "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.412 ms",
      "64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=1.05 ms",
      "64 bytes from 10.0.0.2: icmp_seq=4 ttl=64 time<0.001 ms",
      "rtt min/avg/max/mdev = 0.062/0.249/0.399/0.150 ms",
    ].join("\n");
    expect(parsePingTimes(out)).toEqual([0.412, 1.05, 0.001]);
  });
});

function sampleResults(): Results {
  const r = new Results();
  for (const v of [1.9, 2.1, 2.0]) r.add("tcp_1stream_offload_off", "ofswitch", v);
  for (const v of [2.5, 2.4, 2.6]) r.add("tcp_1stream_offload_off", "linux_bridge", v);
  r.add("tcp_1stream_offload_off", "ovs_netdev", 0.5);
  r.fail("tcp_1stream_offload_off", "ovs_netdev", "iperf3: unable to connect");
  r.add("ping_p50_idle", "ofswitch", 0.2);
  r.add("ping_p50_idle", "linux_bridge", 0.05);
  r.add("ping_p50_idle", "ovs_netdev", 0.4);
  r.fail("tcp_1stream_offload_on", "ovs_netdev", "iperf3: unable to connect");
  r.add("tcp_1stream_offload_on", "ofswitch", 3);
  r.add("cpu_s_udp64", "linux_bridge", null, "kernel: n/a");
  return r;
}

describe("JSON lines", () => {
  it("carries medians, ratios ofswitch / peer and every run", () => {
    const line = figureLine(figureDef("tcp_1stream_offload_off"), sampleResults());
    const parsed = JSON.parse(JSON.stringify(line));
    for (const key of [
      "figure",
      "unit",
      "ofswitch",
      "linux_bridge",
      "ovs_netdev",
      "ratio_vs_bridge",
      "ratio_vs_ovs",
      "runs",
    ])
      expect(parsed).toHaveProperty(key);
    expect(parsed.figure).toBe("tcp_1stream_offload_off");
    expect(parsed.unit).toBe("Gbit/s");
    expect(parsed.ofswitch).toBe(2.0);
    expect(parsed.linux_bridge).toBe(2.5);
    expect(parsed.ovs_netdev).toBe(0.5);
    expect(parsed.ratio_vs_bridge).toBeCloseTo(0.8, 12);
    expect(parsed.ratio_vs_ovs).toBeCloseTo(4, 12);
    expect(parsed.targets).toEqual({ vsBridge: 0.8, vsOvs: 3 });
    expect(parsed.runs).toEqual([
      { peer: "ofswitch", values: [1.9, 2.1, 2.0] },
      { peer: "linux_bridge", values: [2.5, 2.4, 2.6] },
      { peer: "ovs_netdev", values: [0.5, null], notes: ["failed: iperf3: unable to connect"] },
    ]);
  });

  it("has no ratio for a missing or zero peer value, nor for info figures", () => {
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 2)).toBeNull();
    const r = new Results();
    r.add("udp64_offered_fps", "ofswitch", 10);
    r.add("udp64_offered_fps", "linux_bridge", 20);
    expect(figureLine(figureDef("udp64_offered_fps"), r).ratio_vs_bridge).toBeNull();
    expect(() => r.add("no_such_figure", "ofswitch", 1)).toThrow();
  });

  it("turns ratios into an advantage that is > 1 when ofswitch is better", () => {
    expect(advantage("higher", 2)).toBe(2);
    expect(advantage("lower", 4)).toBe(0.25);
    expect(advantage("info", 2)).toBeNull();
    expect(advantage("lower", null)).toBeNull();
  });

  it("lists every figure id once", () => {
    expect(new Set(FIGURES.map((f) => f.id)).size).toBe(FIGURES.length);
  });
});

describe("table", () => {
  it("formats values to three significant digits", () => {
    expect(formatValue(null)).toBe("n/a");
    expect(formatValue(123456.7)).toBe("123,457");
    expect(formatValue(2.483)).toBe("2.48");
    expect(formatValue(0.04249)).toBe("0.0425");
    expect(formatValue(0)).toBe("0");
  });

  it("is a Markdown table exactly as prettier would write it", async () => {
    const r = sampleResults();
    const table = resultsTable(r.figures().map((f) => figureLine(f, r)));
    const formatted = await prettier.format(table, { parser: "markdown", printWidth: 100 });
    expect(table + "\n").toBe(formatted);
    expect(table).toContain("| failed ");
    expect(table).toContain(">= 0.8x bridge: met; >= 3x OVS: met");
    const withPipe = markdownTable(["a", "b"], [["x|y", "z"]]);
    expect(withPipe + "\n").toBe(await prettier.format(withPipe, { parser: "markdown" }));
  });

  it("marks a target missed, and a figure without a value as failed only when its runs failed", () => {
    const r = sampleResults();
    const lines = r.figures().map((f) => figureLine(f, r));
    const on = resultsTable(lines.filter((l) => l.figure === "tcp_1stream_offload_on"));
    expect(on).toMatch(/\| 3\.00 +\| n\/a +\| failed /);
    const cpu = resultsTable(lines.filter((l) => l.figure === "cpu_s_udp64"));
    expect(cpu).not.toContain("failed");
  });
});

describe("docs section", () => {
  const doc =
    "# Performance\n\n## Codec\n\ncodec text\n\n## End to end\n\nold\n\n### Profile\n\nprof\n\n## Later\n\nkeep\n";

  it("replaces a section up to the next heading of its level and keeps the others", () => {
    const out = replaceSection(doc, "## End to end", "new body");
    expect(out).toBe(
      "# Performance\n\n## Codec\n\ncodec text\n\n## End to end\n\nnew body\n\n## Later\n\nkeep\n",
    );
    expect(sectionBody(doc, "## End to end")).toBe("old\n\n### Profile\n\nprof");
    expect(sectionBody(sectionBody(doc, "## End to end")!, "### Profile")).toBe("prof");
  });

  it("appends a missing section", () => {
    expect(replaceSection("# Performance\n", "## End to end", "body")).toBe(
      "# Performance\n\n## End to end\n\nbody\n",
    );
  });

  it("writes a body prettier leaves alone, with the command and the profile kept", async () => {
    const r = sampleResults();
    const meta = {
      date: "2025-01-01 00:00 UTC",
      command: "bash scripts/bench.sh",
      machine: "2 cores",
      settings: "3 runs",
    };
    const body = endToEndBody(
      r.figures().map((f) => figureLine(f, r)),
      meta,
      "prof",
    );
    const md = replaceSection("# Performance\n", "## End to end", body);
    expect(md).toContain("```sh\nbash scripts/bench.sh\n```");
    expect(sectionBody(md, "### Profile")).toBe("prof");
    expect(md).toBe(await prettier.format(md, { parser: "markdown", printWidth: 100 }));
  });
});

describe("SVG plot", () => {
  it("draws one bar per available ratio, the parity line and the targets", () => {
    const r = sampleResults();
    const lines = r.figures().map((f) => figureLine(f, r));
    const bars = ratioBars(lines);
    expect(bars.map((b) => [b.label, b.value, b.target])).toEqual([
      ["TCP 1 stream, offloads off vs Linux bridge", 0.8, 0.8],
      ["TCP 1 stream, offloads off vs OVS netdev", 4, 3],
      ["ping RTT p50, idle vs Linux bridge", 0.25, undefined],
      ["ping RTT p50, idle vs OVS netdev", 2, undefined],
    ]);
    const svg = ratiosSvg(lines, "date <&> command");
    expect(svg.startsWith("<svg xmlns=")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("date &lt;&amp;&gt; command");
    expect(svg.match(/<rect /g)!.length).toBe(1 + bars.length + 2); // background, bars, legend
    expect(svg.match(/stroke="#c00"/g)!.length).toBe(2 + 1); // two targets + legend
    expect(svg).toContain(">parity (1.0)<");
    // every opened element is closed
    const opened = (svg.match(/<(svg|text|line|title)\b/g) ?? []).length;
    const closed = (svg.match(/<\/(svg|text|title)>|<line [^>]*\/>|<\/line>/g) ?? []).length;
    expect(closed).toBe(opened);
    expect(escapeXml(`a<b>&"'`)).toBe("a&lt;b&gt;&amp;&quot;&apos;");
  });
});

describe("flows file", () => {
  it("has the requested number of distinct entries, exact ones fully specified", () => {
    const text = flowsFileText({ exact: 3000, wildcard: 1000 });
    const lines = text.trimEnd().split("\n");
    expect(lines.length).toBe(4000);
    expect(new Set(lines).size).toBe(4000);
    const fields = [
      "in_port",
      "dl_vlan",
      "dl_src",
      "dl_dst",
      "dl_type",
      "nw_src",
      "nw_dst",
      "nw_proto",
      "nw_tos",
      "tp_src",
      "tp_dst",
    ];
    for (const f of fields) expect(exactFlow(12345)).toContain(`${f}=`);
    const matches = new Set(lines.slice(3000).map((l) => l.replace(/^priority=\d+,/, "")));
    expect(matches.size).toBe(1000);
  });

  it("never matches the test traffic (10.0.0.0/24, MACs 02:e2:e0:..., untagged)", () => {
    for (let i = 0; i < 5000; i++) expect(exactFlow(i)).toMatch(/nw_src=172\.(1[6-9]|2\d|3[01])\./);
    for (let j = 0; j < 1000; j++) {
      const flow = wildcardFlow(j);
      const excluded =
        /nw_(src|dst)=172\.(1[6-9]|2\d|3[01])\./.test(flow) ||
        /dl_(src|dst)=02:e[cd]:/.test(flow) ||
        /dl_vlan=\d+/.test(flow);
      expect(excluded, flow).toBe(true);
    }
  });

  it("spreads the wildcard entries over many masks", () => {
    const shapes = new Set<string>();
    for (let j = 0; j < 1000; j++)
      shapes.add(
        wildcardFlow(j)
          .replace(/^priority=\d+,/, "")
          .replace(/=[^,/]+/g, "=")
          .replace(/=\/(\d+)/, "=/$1"),
      );
    expect(shapes.size).toBeGreaterThanOrEqual(25);
  });

  it.skipIf(noOfctl)("is accepted by ovs-ofctl parse-flows", () => {
    const dir = mkdtempSync(join(tmpdir(), "e2e-flows-"));
    try {
      const file = join(dir, "f.flows");
      writeFileSync(file, flowsFileText({ exact: 200, wildcard: 200 }));
      const out = execFileSync("ovs-ofctl", ["-O", "OpenFlow10", "parse-flows", file], {
        encoding: "utf8",
      });
      expect(out.match(/OFPT_FLOW_MOD/g)!.length).toBe(400);
      // fully specified: OVS prints no field as wildcarded and the exact ones untagged
      expect(out).toContain("vlan_tci=0x0000");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("measurement parsing", () => {
  it("computes flow set-ups per second from first send to last arrival", () => {
    const r = flowSetupRate(1e9, 1000, 50, [
      [1.1e9, 100],
      [1.5e9, 450],
      [1.5e9 + 5e8, 550],
    ]);
    expect(r.delivered).toBe(500);
    expect(r.windowS).toBe(1);
    expect(r.flowsPerSec).toBe(500);
    expect(flowSetupRate(0, 10, 0, []).flowsPerSec).toBe(0);
  });

  it("reads receiver goodput from iperf3 -J and reports its errors", () => {
    expect(
      parseIperfTcp(JSON.stringify({ end: { sum_received: { bits_per_second: 2.5e9 } } })),
    ).toBe(2.5);
    expect(() => parseIperfTcp(JSON.stringify({ error: "unable to connect" }))).toThrow(
      /unable to connect/,
    );
    expect(() => parseIperfTcp("garbage")).toThrow(/no JSON/);
  });

  it("maps port names to numbers from ovs-ofctl show", () => {
    const show = [
      "OFPT_FEATURES_REPLY (xid=0x2): dpid:0000000000000001",
      " 1(e1234-s1): addr:02:00:00:00:00:01",
      "     config:     0",
      " 2(e1234-s2): addr:02:00:00:00:00:02",
      " LOCAL(br0): addr:02:00:00:00:00:03",
    ].join("\n");
    expect([...parsePortNumbers(show)]).toEqual([
      ["e1234-s1", 1],
      ["e1234-s2", 2],
    ]);
  });
});

describe("profile summary", () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: -1 } },
      {
        id: 2,
        callFrame: {
          functionName: "lookup",
          url: "file:///repo/dist/src/flowtable/classifier.js",
          lineNumber: 9,
        },
      },
      { id: 3, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
      {
        id: 4,
        callFrame: {
          functionName: "parse",
          url: "file:///repo/dist/src/datapath/parse.js",
          lineNumber: 0,
        },
      },
    ],
    samples: [2, 2, 4, 3, 2],
    timeDeltas: [0, 1000, 2000, 3000, 4000],
    startTime: 0,
    endTime: 10_000,
  };

  it("charges each sample the time to the next one and merges by function", () => {
    const { functions, busyMs, idleMs } = selfTimes(profile, "/repo");
    expect(functions).toEqual([
      { name: "lookup", where: "dist/src/flowtable/classifier.js:10", selfMs: 3 },
      { name: "parse", where: "dist/src/datapath/parse.js:1", selfMs: 3 },
    ]);
    expect(busyMs).toBe(6);
    expect(idleMs).toBe(4);
  });

  it("counts only samples from a start time on", () => {
    // sample times: 0, 1000, 3000, 6000, 10000 µs
    const { functions, busyMs, idleMs } = selfTimes(profile, "/repo", 3000);
    expect(functions.map((f) => [f.name, f.selfMs])).toEqual([
      ["parse", 3],
      ["lookup", 0],
    ]);
    expect(busyMs).toBe(3);
    expect(idleMs).toBe(4);
    expect(selfTimes(profile, "/repo", 1000).busyMs).toBe(5);
  });

  it("reports nanoseconds per frame", () => {
    const text = profileSummary(profile, 1000, 10, "/repo");
    expect(text).toContain("6000 ns of busy main-thread time per frame");
    expect(text).toMatch(
      /\| lookup +\| dist\/src\/flowtable\/classifier.js:10 \| 3 +\| 50.0 +\| 3000 +\|/,
    );
  });
});

describe("options and command lines", () => {
  it("defaults to the full run and shortens it with --quick", () => {
    const full = parseOptions([]);
    expect([full.repeat, full.seconds, full.pings, full.docs]).toEqual([3, 5, 300, true]);
    expect(full.preload).toEqual({ exact: 100_000, wildcard: 1_000 });
    expect(full.peers).toEqual(["ofswitch", "linux_bridge", "ovs_netdev"]);
    const quick = parseOptions(["--quick", "--peers", "ofswitch,bridge", "--figures", "tcp"]);
    expect([quick.repeat, quick.seconds, quick.pings, quick.docs]).toEqual([1, 2, 100, false]);
    expect(quick.peers).toEqual(["ofswitch", "linux_bridge"]);
    expect(quick.groups).toEqual(["tcp"]);
    expect(parseOptions(["--no-preload", "--repeat", "5"]).preload).toBeNull();
    expect(parseOptions(["--cpu-prof", "/tmp/p"]).profileDocs).toBe(true);
    expect(() => parseOptions(["--peers", "nope"])).toThrow();
  });

  it("starts ofswitch with its interfaces, listener and controller", () => {
    const topo = { switchIfs: ["e1-s1", "e1-s2"] } as unknown as Topology;
    const argv = ofswitchArgv(topo, {
      root: "/repo",
      runDir: "/tmp",
      listenPort: 16634,
      mode: { kind: "reactive", controllerPort: 16653 },
      nodeFlags: ["--cpu-prof"],
    });
    expect(argv.slice(1)).toEqual([
      "--cpu-prof",
      "/repo/dist/src/cli.js",
      ...[
        "-i",
        "e1-s1",
        "-i",
        "e1-s2",
        "-l",
        "ptcp:16634:127.0.0.1",
        "--fail-mode",
        "secure",
        "--log-level",
        "warn",
      ],
      ...["-c", "tcp:127.0.0.1:16653", "--packet-in-rate", "0"],
    ]);
  });
});
