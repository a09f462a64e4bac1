// What the harness measures, and how a figure's runs become one JSON line. Runs are taken in
// rounds (every peer once per round, in rotating order), so a ratio is computed per round, from
// two runs taken minutes apart at most, and its spread is that of the rounds.
import { median } from "./stats.js";

export const PEERS = ["ofswitch", "linux_bridge", "ovs_netdev"] as const;
export type PeerId = (typeof PEERS)[number];
export const PEER_LABEL: Record<PeerId, string> = {
  ofswitch: "ofswitch",
  linux_bridge: "Linux bridge",
  ovs_netdev: "OVS netdev",
};

/** "info" figures describe the test itself (e.g. the generator's ceiling): no ratio. */
export type Better = "higher" | "lower" | "info";

/**
 * A value that is only a bound: "atLeast" when the peer was not saturated (the load generator
 * topped out first) or a ping was lost (its delay is at least the deadline); "atMost" for a
 * ratio of an exact value to an "at least" one.
 */
export type Bound = "atLeast" | "atMost";

export interface Targets {
  /** Least advantage (ofswitch better by this factor; < 1 allows it to be worse) per peer. */
  vsBridge?: number;
  vsOvs?: number;
}

export interface FigureDef {
  id: string;
  title: string;
  unit: string;
  better: Better;
  /** Which measurement group produces it (selectable with --figures). */
  group: FigureGroup;
  targets?: Targets;
}

export const FIGURE_GROUPS = ["tcp", "udp64", "latency", "flowsetup", "preload"] as const;
export type FigureGroup = (typeof FIGURE_GROUPS)[number];

const tcp = (streams: number, offloads: "off" | "on", targets?: Targets): FigureDef => ({
  id: `tcp_${streams}stream_offload_${offloads}`,
  title: `TCP ${streams} stream${streams > 1 ? "s" : ""}, offloads ${offloads === "on" ? "default" : "off"}`,
  unit: "Gbit/s",
  better: "higher",
  group: "tcp",
  targets,
});

const ping = (p: 50 | 99, load: "idle" | "load", targets?: Targets): FigureDef => ({
  id: `ping_p${p}_${load}`,
  title: `ping RTT p${p}, ${load === "idle" ? "idle" : "under TCP load"}`,
  unit: "ms",
  better: "lower",
  group: "latency",
  targets,
});

export const FIGURES: readonly FigureDef[] = [
  tcp(1, "off", { vsBridge: 0.6, vsOvs: 3 }),
  tcp(4, "off"),
  tcp(1, "on"),
  tcp(4, "on"),
  {
    id: "udp64_capacity_fps",
    title: "64-byte frames, zero-loss rate",
    unit: "frames/s",
    better: "higher",
    group: "udp64",
    targets: { vsBridge: 0.7, vsOvs: 1.5 },
  },
  {
    id: "udp64_generator_fps",
    title: "64-byte generator alone (ceiling)",
    unit: "frames/s",
    better: "info",
    group: "udp64",
  },
  ping(50, "idle"),
  ping(99, "idle", { vsOvs: 1 }),
  ping(50, "load", { vsOvs: 1 }),
  ping(99, "load", { vsOvs: 1 }),
  {
    id: "ping_lost_load_pct",
    title: "pings lost under TCP load",
    unit: "%",
    better: "lower",
    group: "latency",
  },
  {
    id: "ping_load_tcp_gbps",
    title: "TCP load during those pings",
    unit: "Gbit/s",
    better: "higher",
    group: "latency",
  },
  {
    id: "flow_setup_per_s",
    title: "flow setups (controller), best step",
    unit: "flows/s",
    better: "higher",
    group: "flowsetup",
  },
  {
    id: "flow_load_s",
    title: "load 100k exact + 1k wildcard",
    unit: "s",
    better: "lower",
    group: "preload",
  },
  {
    id: "bytes_per_entry",
    title: "memory per loaded entry",
    unit: "bytes",
    better: "lower",
    group: "preload",
    targets: { vsOvs: 1 },
  },
  {
    id: "cpu_s_tcp1_off",
    title: "switch CPU, TCP 1 stream off",
    unit: "CPU s",
    better: "lower",
    group: "tcp",
  },
  {
    id: "cpu_us_per_frame_udp64",
    title: "switch CPU per 64-byte frame at that rate",
    unit: "µs",
    better: "lower",
    group: "udp64",
  },
  {
    id: "peak_rss_mib",
    title: "switch peak RSS",
    unit: "MiB",
    better: "lower",
    group: "tcp",
    targets: { vsOvs: 1 },
  },
];

/** The peers in the order of round `k` (1-based): each takes each position in turn. */
export function rotation<T>(peers: readonly T[], k: number): T[] {
  const n = peers.length;
  return peers.map((_, i) => peers[(i + k - 1) % n]);
}

export function figureDef(id: string): FigureDef {
  const def = FIGURES.find((f) => f.id === id);
  if (!def) throw new Error(`unknown figure ${id}`);
  return def;
}

/** One run's outcome: a value, or null with why (a failed or inapplicable run). */
export interface RunValue {
  value: number | null;
  note?: string;
  /** The round it was taken in (1-based). */
  round: number;
  bound?: Bound;
}

export const FAILED = "failed: ";

/** Values per figure and peer, in run order. */
export class Results {
  private readonly byFigure = new Map<string, Map<PeerId, RunValue[]>>();
  /** The round runs are being taken in; recorded with each. */
  round = 1;

  add(
    figure: string,
    peer: PeerId,
    value: number | null,
    extra: { note?: string; bound?: Bound } = {},
  ): void {
    figureDef(figure);
    let peers = this.byFigure.get(figure);
    if (!peers) this.byFigure.set(figure, (peers = new Map()));
    let runs = peers.get(peer);
    if (!runs) peers.set(peer, (runs = []));
    const run: RunValue = { value, round: this.round };
    if (extra.note !== undefined) run.note = extra.note;
    if (extra.bound !== undefined && value !== null) run.bound = extra.bound;
    runs.push(run);
  }

  /** A run that did not produce its figure (the note says why). */
  fail(figure: string, peer: PeerId, why: string): void {
    this.add(figure, peer, null, { note: `${FAILED}${why}` });
  }

  runs(figure: string, peer: PeerId): RunValue[] {
    return this.byFigure.get(figure)?.get(peer) ?? [];
  }

  /** Figures that have at least one run, in FIGURES order. */
  figures(): FigureDef[] {
    return FIGURES.filter((f) => this.byFigure.has(f.id));
  }
}

/** A ratio ofswitch ÷ peer over the rounds where both have a value. */
export interface RatioSummary {
  median: number;
  min: number;
  max: number;
  /** Rounds it was computed from. */
  rounds: number;
  bound?: Bound;
}

export interface FigureLine {
  figure: string;
  title: string;
  unit: string;
  better: Better;
  ofswitch: number | null;
  linux_bridge: number | null;
  ovs_netdev: number | null;
  /**
   * Peers whose median is only a bound: some round was not saturated or lost a ping (at
   * least), or saw no trial pass (at most).
   */
  bounds?: Partial<Record<PeerId, Bound>>;
  ratio_vs_bridge: number | null;
  ratio_vs_ovs: number | null;
  ratios?: { vs_bridge?: RatioSummary; vs_ovs?: RatioSummary };
  targets?: Targets;
  runs: {
    peer: PeerId;
    values: (number | null)[];
    rounds: number[];
    bounds?: (Bound | null)[];
    notes?: string[];
  }[];
}

/** ofswitch ÷ peer, or null when either is missing or the peer's value is 0. */
export function ratio(ofswitch: number | null, peer: number | null): number | null {
  if (ofswitch === null || peer === null || peer === 0) return null;
  return ofswitch / peer;
}

/** The bound of a ÷ b from the bounds of a and b; null when nothing can be said. */
export function ratioBound(a?: Bound, b?: Bound): Bound | undefined | null {
  if (a === undefined) return b === undefined ? undefined : b === "atLeast" ? "atMost" : "atLeast";
  if (b === undefined || a !== b) return a;
  return null;
}

/** Per-round ratios of ofswitch to `peer`, summarised; null when no round has both. */
export function ratioSummary(ofs: RunValue[], peer: RunValue[]): RatioSummary | null {
  const values: number[] = [];
  const bounds = new Set<Bound>();
  for (const a of ofs) {
    const b = peer.find((p) => p.round === a.round);
    const r = ratio(a.value, b?.value ?? null);
    const bound = b ? ratioBound(a.bound, b.bound) : null;
    if (r === null || bound === null) continue;
    values.push(r);
    if (bound) bounds.add(bound);
  }
  const m = median(values);
  if (m === null || bounds.size > 1) return null;
  const s: RatioSummary = {
    median: m,
    min: Math.min(...values),
    max: Math.max(...values),
    rounds: values.length,
  };
  const [bound] = [...bounds];
  if (bound) s.bound = bound;
  return s;
}

/** The JSON line of one figure: medians per peer, ratios ofswitch ÷ peer per round, every run. */
export function figureLine(def: FigureDef, results: Results): FigureLine {
  const med = (peer: PeerId) => median(results.runs(def.id, peer).map((r) => r.value));
  const values = {
    ofswitch: med("ofswitch"),
    linux_bridge: med("linux_bridge"),
    ovs_netdev: med("ovs_netdev"),
  };
  const info = def.better === "info";
  const ofs = results.runs(def.id, "ofswitch");
  const vsBridge = info ? null : ratioSummary(ofs, results.runs(def.id, "linux_bridge"));
  const vsOvs = info ? null : ratioSummary(ofs, results.runs(def.id, "ovs_netdev"));
  const line: FigureLine = {
    figure: def.id,
    title: def.title,
    unit: def.unit,
    better: def.better,
    ...values,
    ratio_vs_bridge: vsBridge?.median ?? null,
    ratio_vs_ovs: vsOvs?.median ?? null,
    runs: [],
  };
  const bounds: Partial<Record<PeerId, Bound>> = {};
  for (const peer of PEERS) {
    const kinds = new Set(results.runs(def.id, peer).flatMap((r) => (r.bound ? [r.bound] : [])));
    // Runs bounded both ways leave a median that is neither: shown as is.
    if (kinds.size === 1) bounds[peer] = [...kinds][0];
  }
  if (Object.keys(bounds).length > 0) line.bounds = bounds;
  if (vsBridge || vsOvs)
    line.ratios = {
      ...(vsBridge ? { vs_bridge: vsBridge } : {}),
      ...(vsOvs ? { vs_ovs: vsOvs } : {}),
    };
  if (def.targets) line.targets = def.targets;
  for (const peer of PEERS) {
    const runs = results.runs(def.id, peer);
    if (runs.length === 0) continue;
    const notes = runs.flatMap((r) => (r.note ? [r.note] : []));
    const runBounds = runs.map((r) => r.bound ?? null);
    line.runs.push({
      peer,
      values: runs.map((r) => r.value),
      rounds: runs.map((r) => r.round),
      ...(runBounds.some((b) => b !== null) ? { bounds: runBounds } : {}),
      ...(notes.length ? { notes } : {}),
    });
  }
  return line;
}

/** True when every run of `peer` failed (as opposed to a figure that does not apply to it). */
export function allFailed(line: FigureLine, peer: PeerId): boolean {
  const runs = line.runs.find((r) => r.peer === peer);
  return (
    !!runs &&
    runs.values.every((v) => v === null) &&
    (runs.notes ?? []).some((n) => n.startsWith(FAILED))
  );
}

/** "Advantage" of ofswitch over a peer: the ratio turned so that > 1 always means ofswitch is better. */
export function advantage(better: Better, r: number | null): number | null {
  if (r === null || better === "info" || r === 0) return null;
  return better === "higher" ? r : 1 / r;
}

/** The bound of an advantage from the bound of its ratio (turned over for "lower" figures). */
export function advantageBound(better: Better, bound?: Bound): Bound | undefined {
  if (bound === undefined || better === "higher") return bound;
  return bound === "atLeast" ? "atMost" : "atLeast";
}
