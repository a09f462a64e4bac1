// Command line of the end-to-end harness.
import { Command, InvalidArgumentError, Option } from "commander";
import { FIGURE_GROUPS, type FigureGroup, PEERS, type PeerId } from "./figures.js";
import { DEFAULT_PRELOAD, type PreloadSize } from "./flows-file.js";

export interface Options {
  quick: boolean;
  /** Rounds: every peer measured once per round, in rotating order. */
  repeat: number;
  /** Length of each iperf3 run. */
  seconds: number;
  pings: number;
  peers: PeerId[];
  groups: FigureGroup[];
  preload: PreloadSize | null;
  preloadOvs: boolean;
  ovsReactive: boolean;
  /** Flow setup: offered rates, stepped up until the set-ups stop rising. */
  flowRates: number[];
  /** Flow setup: seconds of new flows per step. */
  flowSeconds: number;
  /** 64-byte search: seconds per trial, the loss a trial may have (%), trials after the first. */
  trialSeconds: number;
  lossPct: number;
  maxTrials: number;
  cpuProf: string | null;
  out: string;
  docs: boolean;
  /** Write the --cpu-prof summary into docs/performance.md's "### Profile". */
  profileDocs: boolean;
  keepLogs: boolean;
  /** The command line as typed, for the record in docs. */
  command: string;
}

const PEER_ALIASES: Record<string, PeerId> = {
  ofswitch: "ofswitch",
  bridge: "linux_bridge",
  linux_bridge: "linux_bridge",
  ovs: "ovs_netdev",
  ovs_netdev: "ovs_netdev",
};

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a number >= 0");
  return n;
}

function rates(v: string): number[] {
  const list = v.split(",").map((x) => positiveInt(x.trim()));
  if (list.some((r, i) => i > 0 && r <= list[i - 1]))
    throw new InvalidArgumentError("expected rising rates, e.g. 10000,20000,40000");
  return list;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function list<T extends string>(allowed: Record<string, T> | readonly T[]) {
  const map: Record<string, T> = Array.isArray(allowed)
    ? Object.fromEntries((allowed as readonly T[]).map((a) => [a, a]))
    : (allowed as Record<string, T>);
  return (v: string): T[] =>
    v.split(",").map((item) => {
      const hit = map[item.trim()];
      if (!hit)
        throw new InvalidArgumentError(
          `unknown "${item}" (one of: ${Object.keys(map).join(", ")})`,
        );
      return hit;
    });
}

export function parseOptions(argv: string[]): Options {
  const cmd = new Command("e2e")
    .description(
      "End-to-end benchmark: ofswitch vs Linux bridge vs Open vSwitch (userspace datapath) on veths",
    )
    .option("--quick", "short run (~4 min): 1 round, 2 s per traffic run, 100 pings")
    .option(
      "--repeat <n>",
      "rounds (every peer once per round); medians and per-round ratios (default 3, quick 1)",
      positiveInt,
    )
    .option("--seconds <s>", "length of each iperf3 run (default 5, quick 2)", positiveInt)
    .option(
      "--pings <n>",
      "pings per latency run, 10 ms apart (default 300, quick 100)",
      positiveInt,
    )
    .option("--peers <list>", "ofswitch,bridge,ovs (default all)", list(PEER_ALIASES))
    .option("--figures <list>", `${FIGURE_GROUPS.join(",")} (default all)`, list(FIGURE_GROUPS))
    .option("--no-preload", "do not preload ofswitch with 100k exact + 1k wildcard entries")
    .option("--preload-exact <n>", "exact-match entries to preload", positiveInt)
    .option("--preload-wildcard <n>", "wildcard entries to preload", positiveInt)
    .option("--no-preload-ovs", "do not preload Open vSwitch with the same entries")
    .option("--no-ovs-reactive", "skip Open vSwitch's reactive flow-setup run")
    .option(
      "--flow-rates <list>",
      "offered new flows/s per flow-setup step, rising (default 10000,20000,40000,80000,160000)",
      rates,
    )
    .option("--flow-seconds <s>", "seconds of new flows per step (default 2, quick 1)", positiveInt)
    .option(
      "--trial-seconds <s>",
      "64-byte search: seconds per trial (default 3, quick 2)",
      positiveInt,
    )
    .option("--loss-pct <p>", "64-byte search: loss a passing trial may have", positiveNumber, 0.1)
    .option(
      "--max-trials <n>",
      "64-byte search: trials after the one at the ceiling (default 6, quick 4)",
      positiveInt,
    )
    .option("--cpu-prof <dir>", "run ofswitch under node --cpu-prof, profiles written to DIR")
    .option("--out <file>", "JSON lines output", "dist/e2e-results.jsonl")
    .addOption(
      new Option(
        "--docs",
        "rewrite docs/performance.md and docs/e2e-ratios.svg (default: full runs of all peers)",
      ),
    )
    .option("--no-docs", "leave docs alone")
    .option("--keep-logs", "keep the run directory (switch logs, flows file)")
    .exitOverride();
  cmd.parse(argv, { from: "user" });
  const o = cmd.opts();
  const quick = Boolean(o.quick);
  const peers: PeerId[] = o.peers ? [...new Set<PeerId>(o.peers)] : [...PEERS];
  const groups: FigureGroup[] = o.figures
    ? [...new Set<FigureGroup>(o.figures)]
    : [...FIGURE_GROUPS];
  const seconds: number = o.seconds ?? (quick ? 2 : 5);
  const preload =
    o.preload === false
      ? null
      : {
          exact: o.preloadExact ?? DEFAULT_PRELOAD.exact,
          wildcard: o.preloadWildcard ?? DEFAULT_PRELOAD.wildcard,
        };
  const explicitDocs = argv.includes("--docs") || argv.includes("--no-docs");
  return {
    quick,
    repeat: o.repeat ?? (quick ? 1 : 3),
    seconds,
    pings: o.pings ?? (quick ? 100 : 300),
    peers,
    groups,
    preload,
    preloadOvs: o.preloadOvs !== false,
    ovsReactive: o.ovsReactive !== false,
    flowRates: o.flowRates ?? [10_000, 20_000, 40_000, 80_000, 160_000],
    flowSeconds: o.flowSeconds ?? (quick ? 1 : 2),
    trialSeconds: o.trialSeconds ?? (quick ? 2 : 3),
    lossPct: o.lossPct,
    maxTrials: o.maxTrials ?? (quick ? 4 : 6),
    cpuProf: o.cpuProf ?? null,
    out: o.out,
    docs: explicitDocs ? o.docs !== false : !quick && peers.length === PEERS.length && !o.cpuProf,
    profileDocs: Boolean(o.cpuProf) && !argv.includes("--no-docs"),
    keepLogs: Boolean(o.keepLogs),
    command: ["bash scripts/bench.sh", ...argv].join(" "),
  };
}
