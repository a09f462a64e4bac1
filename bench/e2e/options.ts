// Command line of the end-to-end harness.
import { Command, InvalidArgumentError, Option } from "commander";
import { FIGURE_GROUPS, type FigureGroup, PEERS, type PeerId } from "./figures.js";
import { DEFAULT_PRELOAD, type PreloadSize } from "./flows-file.js";

export interface Options {
  quick: boolean;
  repeat: number;
  /** Length of each iperf3 / 64-byte run. */
  seconds: number;
  pings: number;
  peers: PeerId[];
  groups: FigureGroup[];
  preload: PreloadSize | null;
  preloadOvs: boolean;
  ovsReactive: boolean;
  flowRate: number;
  flowCount: number;
  /** Offered rate of the 64-byte frame test. */
  frameRate: number;
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
    .option("--quick", "short run (~3 min): 1 repeat, 2 s per traffic run, 100 pings")
    .option(
      "--repeat <n>",
      "runs per figure; the median is reported (default 3, quick 1)",
      positiveInt,
    )
    .option(
      "--seconds <s>",
      "length of each iperf3 and 64-byte run (default 5, quick 2)",
      positiveInt,
    )
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
    .option("--preload-ovs", "preload Open vSwitch with the same entries (default: only ofswitch)")
    .option("--no-ovs-reactive", "skip Open vSwitch's reactive flow-setup run")
    .option(
      "--flow-rate <r>",
      "offered new flows per second in the flow-setup run",
      positiveInt,
      50_000,
    )
    .option(
      "--frame-rate <r>",
      "offered 64-byte frames per second (AF_PACKET generator in host 1)",
      positiveInt,
      400_000,
    )
    .option(
      "--flow-count <n>",
      "new flows per flow-setup run (default rate x seconds)",
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
    preloadOvs: Boolean(o.preloadOvs),
    ovsReactive: o.ovsReactive !== false,
    flowRate: o.flowRate,
    flowCount: o.flowCount ?? o.flowRate * seconds,
    frameRate: o.frameRate,
    cpuProf: o.cpuProf ?? null,
    out: o.out,
    docs: explicitDocs ? o.docs !== false : !quick && peers.length === PEERS.length && !o.cpuProf,
    profileDocs: Boolean(o.cpuProf) && !argv.includes("--no-docs"),
    keepLogs: Boolean(o.keepLogs),
    command: ["bash scripts/bench.sh", ...argv].join(" "),
  };
}
