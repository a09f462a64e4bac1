// The end-to-end harness's pure pieces (no namespaces, no traffic): statistics, JSON lines, table,
// docs section rewriting, SVG, flows file, profile summary, option parsing, and the capacity
// searches driven by made-up trials.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import {
  type FrameTrial,
  generatorLimited,
  steppedSetups,
  zeroLossSearch,
} from "../../bench/e2e/capacity.js";
import { endToEndBody } from "../../bench/e2e/docs.js";
import { ensureBuilt, ROOT } from "../support/daemon.js";
import {
  advantage,
  FIGURES,
  figureDef,
  figureLine,
  ratio,
  ratioBound,
  Results,
  rotation,
} from "../../bench/e2e/figures.js";
import { exactFlow, flowsFileText, wildcardFlow } from "../../bench/e2e/flows-file.js";
import { flowSetupRate, parseIperfTcp } from "../../bench/e2e/measure.js";
import { parsePortNumbers } from "../../bench/e2e/ofctl.js";
import { parseOptions } from "../../bench/e2e/options.js";
import { type CpuProfile, profileSummary, selfTimes } from "../../bench/e2e/profile.js";
import {
  formatRatioSummary,
  formatValue,
  markdownTable,
  replaceSection,
  resultsTable,
  sectionBody,
  targetNote,
} from "../../bench/e2e/report.js";
import { median, parsePingTimes, percentile, percentileWithLoss } from "../../bench/e2e/stats.js";
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

  it("counts lost pings as later than every reply", () => {
    const times = Array.from({ length: 98 }, (_, i) => i + 1); // 1..98 ms, 2 of 100 lost
    expect(percentileWithLoss(times, 100, 50, 1000)).toEqual({ value: 50.5, atLeast: false });
    expect(percentileWithLoss(times, 100, 97, 1000).atLeast).toBe(false);
    expect(percentileWithLoss(times, 100, 99, 1000)).toEqual({ value: 1000, atLeast: true });
    expect(percentileWithLoss(times, 98, 99, 1000)).toEqual({
      value: percentile(times, 99),
      atLeast: false,
    });
    expect(percentileWithLoss([], 10, 50, 1000)).toEqual({ value: 1000, atLeast: true });
  });
});

/** Three rounds; OVS fails TCP in round 2 and is not saturated by 64-byte frames in round 3. */
function sampleResults(): Results {
  const r = new Results();
  const rounds: [number, number, number | null, number, number | null][] = [
    // ofswitch TCP, bridge TCP, OVS TCP, ofswitch 64 B, OVS 64 B (null: at least 500k)
    [1.9, 2.5, 0.5, 400_000, 300_000],
    [2.1, 2.4, null, 420_000, 350_000],
    [2.0, 2.6, 0.4, 380_000, null],
  ];
  rounds.forEach(([ofTcp, brTcp, ovsTcp, of64, ovs64], i) => {
    r.round = i + 1;
    r.add("tcp_1stream_offload_off", "ofswitch", ofTcp);
    r.add("tcp_1stream_offload_off", "linux_bridge", brTcp);
    if (ovsTcp === null)
      r.fail("tcp_1stream_offload_off", "ovs_netdev", "iperf3: unable to connect");
    else r.add("tcp_1stream_offload_off", "ovs_netdev", ovsTcp);
    r.add("udp64_capacity_fps", "ofswitch", of64);
    if (ovs64 === null) r.add("udp64_capacity_fps", "ovs_netdev", 500_000, { bound: "atLeast" });
    else r.add("udp64_capacity_fps", "ovs_netdev", ovs64);
  });
  r.round = 1;
  r.add("ping_p50_idle", "ofswitch", 0.2);
  r.add("ping_p50_idle", "linux_bridge", 0.05);
  r.add("ping_p50_idle", "ovs_netdev", 0.4);
  r.fail("tcp_1stream_offload_on", "ovs_netdev", "iperf3: unable to connect");
  r.add("tcp_1stream_offload_on", "ofswitch", 3);
  r.add("cpu_us_per_frame_udp64", "linux_bridge", null, { note: "kernel: n/a" });
  r.add("ping_p99_load", "ofswitch", 0.5);
  r.add("ping_p99_load", "ovs_netdev", 1000, { bound: "atLeast", note: "9 of 300 pings lost" });
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
    expect(parsed.ovs_netdev).toBe(0.45);
    // Per round: 1.9/2.5, 2.1/2.4, 2.0/2.6; vs OVS only rounds 1 and 3 (round 2 failed).
    expect(parsed.ratio_vs_bridge).toBeCloseTo(2.0 / 2.6, 12);
    expect(parsed.ratios.vs_bridge.min).toBeCloseTo(0.76, 12);
    expect(parsed.ratios.vs_bridge.max).toBeCloseTo(2.1 / 2.4, 12);
    expect(parsed.ratios.vs_bridge.rounds).toBe(3);
    expect(parsed.ratios.vs_ovs).toMatchObject({ min: 3.8, max: 5, rounds: 2 });
    expect(parsed.ratio_vs_ovs).toBeCloseTo(4.4, 12);
    expect(parsed.targets).toEqual({ vsBridge: 0.6, vsOvs: 3 });
    expect(parsed.runs).toEqual([
      { peer: "ofswitch", values: [1.9, 2.1, 2.0], rounds: [1, 2, 3] },
      { peer: "linux_bridge", values: [2.5, 2.4, 2.6], rounds: [1, 2, 3] },
      {
        peer: "ovs_netdev",
        values: [0.5, null, 0.4],
        rounds: [1, 2, 3],
        notes: ["failed: iperf3: unable to connect"],
      },
    ]);
  });

  it("carries bounds: a peer not saturated in some round, and the ratios it allows", () => {
    const line = figureLine(figureDef("udp64_capacity_fps"), sampleResults());
    expect(line.bounds).toEqual({ ovs_netdev: "atLeast" });
    // Rounds 1 and 2 are exact (400/300, 420/350); round 3 is 380k / >= 500k: at most 0.76.
    // One bounded round makes the summary a bound too.
    expect(line.ratios?.vs_ovs).toMatchObject({ median: 1.2, min: 0.76, bound: "atMost" });
    const r = new Results();
    r.add("udp64_capacity_fps", "ofswitch", 600_000, { bound: "atLeast" });
    r.add("udp64_capacity_fps", "linux_bridge", 300_000);
    r.add("udp64_capacity_fps", "ovs_netdev", 500_000, { bound: "atLeast" });
    const l2 = figureLine(figureDef("udp64_capacity_fps"), r);
    expect(l2.ratios?.vs_bridge).toMatchObject({ median: 2, bound: "atLeast" });
    expect(l2.ratios?.vs_ovs).toBeUndefined(); // both only "at least": nothing to say
    expect(ratioBound(undefined, "atLeast")).toBe("atMost");
    expect(ratioBound("atLeast", undefined)).toBe("atLeast");
    expect(ratioBound("atLeast", "atMost")).toBe("atLeast");
    expect(ratioBound("atMost", "atMost")).toBeNull();
  });

  it("rotates the peers' order from round to round", () => {
    const peers = ["a", "b", "c"];
    expect([1, 2, 3, 4].map((k) => rotation(peers, k).join(""))).toEqual([
      "abc",
      "bca",
      "cab",
      "abc",
    ]);
  });

  it("has no ratio for a missing or zero peer value, nor for info figures", () => {
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 2)).toBeNull();
    const r = new Results();
    r.add("udp64_generator_fps", "ofswitch", 10);
    r.add("udp64_generator_fps", "linux_bridge", 20);
    expect(figureLine(figureDef("udp64_generator_fps"), r).ratio_vs_bridge).toBeNull();
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
    expect(table).toContain("| 0.769x (0.760-0.875) |");
    expect(table).toContain(">= 0.6x bridge: met; >= 3x OVS: met");
    expect(table).toMatch(/\| >= 350,000 +\| n\/a +\| <= 1\.20x \(0\.760-1\.33\) +\|/);
    expect(table).toMatch(
      /ping RTT p99, under TCP load.*\| >= 1,000 +\| n\/a +\| <= 0\.0005x +\| >= 1x OVS: met/,
    );
    const withPipe = markdownTable(["a", "b"], [["x|y", "z"]]);
    expect(withPipe + "\n").toBe(await prettier.format(withPipe, { parser: "markdown" }));
  });

  it("marks a target missed, and a figure without a value as failed only when its runs failed", () => {
    const r = sampleResults();
    const lines = r.figures().map((f) => figureLine(f, r));
    const on = resultsTable(lines.filter((l) => l.figure === "tcp_1stream_offload_on"));
    expect(on).toMatch(/\| 3\.00 +\| n\/a +\| failed /);
    const cpu = resultsTable(lines.filter((l) => l.figure === "cpu_us_per_frame_udp64"));
    expect(cpu).not.toContain("failed");
  });

  it("prints ratios with their rounds' range, and leaves a target a bound cannot decide", () => {
    expect(formatRatioSummary({ median: 0.61, min: 0.55, max: 0.68, rounds: 3 })).toBe(
      "0.610x (0.550-0.680)",
    );
    expect(formatRatioSummary({ median: 2, min: 2, max: 2, rounds: 1, bound: "atLeast" })).toBe(
      ">= 2.00x",
    );
    expect(formatRatioSummary(undefined)).toBe("n/a");
    const line = figureLine(figureDef("udp64_capacity_fps"), new Results());
    line.ratios = { vs_bridge: { median: 0.5, min: 0.5, max: 0.5, rounds: 1, bound: "atLeast" } };
    expect(targetNote(line)).toBe(">= 0.7x bridge: undecided; >= 1.5x OVS: n/a");
    line.ratios = { vs_bridge: { median: 0.9, min: 0.9, max: 0.9, rounds: 1, bound: "atLeast" } };
    expect(targetNote(line)).toContain(">= 0.7x bridge: met");
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
    expect(bars.map((b) => [b.label, b.value, b.target, b.bound])).toEqual([
      ["TCP 1 stream, offloads off vs Linux bridge", 2.0 / 2.6, 0.6, undefined],
      ["TCP 1 stream, offloads off vs OVS netdev", 4.4, 3, undefined],
      ["64-byte frames, zero-loss rate vs OVS netdev", 1.2, 1.5, "atMost"],
      ["ping RTT p50, idle vs Linux bridge", 0.25, undefined, undefined],
      ["ping RTT p50, idle vs OVS netdev", 2, undefined, undefined],
      ["ping RTT p99, under TCP load vs OVS netdev", 2000, 1, "atLeast"],
    ]);
    expect([bars[1].min, bars[1].max]).toEqual([3.8, 5]);
    const svg = ratiosSvg(lines, "date <&> command");
    expect(svg.startsWith("<svg xmlns=")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("date &lt;&amp;&gt; command");
    // background, hatch pattern, bars, the bounds' hatching, legend (4, one hatched)
    expect(svg.match(/<rect /g)!.length).toBe(1 + 1 + bars.length + 2 + 4);
    expect(svg.match(/stroke="#c00"/g)!.length).toBe(4 + 1); // four targets + legend
    // whiskers of the rows with more than one round (TCP, 64-byte) + legend
    expect(svg.match(/stroke="#222"/g)!.length).toBe(3 + 1);
    expect(svg).toContain(">&gt;= 2,000x<");
    expect(svg).toContain(">parity (1.0)<");
    // every opened element is closed
    const opened = (svg.match(/<(svg|text|line|title)\b/g) ?? []).length;
    const closed = (svg.match(/<\/(svg|text|title)>|<line [^>]*\/>|<\/line>/g) ?? []).length;
    expect(closed).toBe(opened);
    expect(svg.match(/<pattern\b/g)!.length).toBe((svg.match(/<\/pattern>/g) ?? []).length);
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

describe("capacity searches", () => {
  const opts = { lossPct: 0.1, resolution: 0.03, maxTrials: 6 };
  /** A switch that forwards up to `capacity` frames/s, fed by a generator that tops out at `gen`. */
  const fake = (capacity: number, gen: number) => {
    const asked: number[] = [];
    const trial = async (rate: number): Promise<FrameTrial> => {
      asked.push(rate);
      const offered = Math.min(rate || gen, gen);
      const delivered = Math.min(offered, capacity);
      const lossPct = (100 * (offered - delivered)) / offered;
      return { requested: rate, offeredFps: offered, deliveredFps: delivered, lossPct, cpuS: 1 };
    };
    return { trial, asked };
  };

  it("reports 'at least' the generator's ceiling when the switch takes all of it", async () => {
    const { trial, asked } = fake(2e6, 1e6);
    const r = await zeroLossSearch(trial, 1e6, opts);
    expect(r).toMatchObject({ rate: 1e6, atLeast: true, atMost: false });
    expect(asked).toEqual([1e6]);
  });

  it("finds the zero-loss rate by bisection when the switch is the limit", async () => {
    const { trial, asked } = fake(300_000, 1e6);
    const r = await zeroLossSearch(trial, 1e6, opts);
    expect(r.atLeast).toBe(false);
    expect(r.rate).toBeLessThanOrEqual(300_000);
    expect(r.rate).toBeGreaterThan(300_000 * 0.9);
    expect(asked.length).toBeLessThanOrEqual(1 + opts.maxTrials);
    expect(r.best?.offeredFps).toBe(r.rate);
  });

  it("says 'at most' the lowest rate tried when no trial passes", async () => {
    const { trial, asked } = fake(1000, 1e6);
    const r = await zeroLossSearch(trial, 1e6, opts);
    expect(r).toMatchObject({ atLeast: false, atMost: true, best: null });
    expect(r.rate).toBe(Math.min(...asked));
    expect(asked.length).toBe(1 + opts.maxTrials);
  });

  it("says 'at least' when the generator could not offer a passing rate it was asked for", async () => {
    // The switch's CPU use slows the generator: it manages 60 % of what it is asked for.
    let calls = 0;
    const trial = async (rate: number): Promise<FrameTrial> => {
      calls++;
      const offered = calls === 1 ? rate : 0.6 * rate;
      const lossPct = calls === 1 ? 5 : 0;
      return { requested: rate, offeredFps: offered, deliveredFps: offered, lossPct, cpuS: null };
    };
    const r = await zeroLossSearch(trial, 1e6, opts);
    expect(r).toMatchObject({ rate: 300_000, atLeast: true });
    expect(generatorLimited(r.best!)).toBe(true);
  });

  it("steps flow setups up until they stop rising", async () => {
    const switchMax = 30_000;
    const step = async (rate: number) => ({
      requested: rate,
      offered: rate,
      achieved: Math.min(rate, switchMax),
    });
    const r = await steppedSetups(step, [10_000, 20_000, 40_000, 80_000]);
    expect(r.steps.map((s) => s.requested)).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(r).toMatchObject({ best: { achieved: 30_000 }, atLeast: false });
    const flat = await steppedSetups(step, [40_000, 80_000, 160_000]);
    expect(flat.steps.length).toBe(2); // 30k then 30k: not rising
    const keptUp = await steppedSetups(step, [5_000, 10_000]);
    expect(keptUp).toMatchObject({ best: { achieved: 10_000 }, atLeast: true });
    const senderLimited = await steppedSetups(
      async (rate: number) => ({
        requested: rate,
        offered: Math.min(rate, 15_000),
        achieved: Math.min(rate, 15_000),
      }),
      [10_000, 20_000, 40_000],
    );
    expect(senderLimited.steps.length).toBe(2);
    expect(senderLimited).toMatchObject({ best: { achieved: 15_000 }, atLeast: true });
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
  it("flow-dump answers --help with its usage and a bad option with one line and exit status 2", () => {
    ensureBuilt();
    const script = join(ROOT, "dist/bench/flow-dump.js");
    const help = spawnSync(process.execPath, [script, "--help"], {
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: node dist\/bench\/flow-dump.js .*--flows N/);
    expect(help.stdout).toContain("--repeats R");
    for (const bad of [["--flow", "3"], ["--flows"]]) {
      const r = spawnSync(process.execPath, [script, ...bad], {
        encoding: "utf8",
        timeout: 10_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("(see --help)");
    }
  });

  it("defaults to the full run and shortens it with --quick", () => {
    const full = parseOptions([]);
    expect([full.repeat, full.seconds, full.pings, full.docs]).toEqual([3, 5, 300, true]);
    expect(full.preload).toEqual({ exact: 100_000, wildcard: 1_000 });
    expect(full.preloadOvs).toBe(true);
    expect([full.trialSeconds, full.lossPct, full.maxTrials, full.flowSeconds]).toEqual([
      3, 0.1, 6, 2,
    ]);
    expect(full.flowRates).toEqual([10_000, 20_000, 40_000, 80_000, 160_000]);
    expect(parseOptions(["--no-preload-ovs"]).preloadOvs).toBe(false);
    expect(parseOptions(["--flow-rates", "100,200"]).flowRates).toEqual([100, 200]);
    expect(() => parseOptions(["--flow-rates", "200,100"])).toThrow();
    expect(() => parseOptions(["--loss-pct", "-1"])).toThrow();
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
