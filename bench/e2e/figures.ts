// What the harness measures, and how a figure's runs become one JSON line.
import { median } from "./stats.js";

export const PEERS = ["ofswitch", "linux_bridge", "ovs_netdev"] as const;
export type PeerId = (typeof PEERS)[number];
export const PEER_LABEL: Record<PeerId, string> = {
  ofswitch: "ofswitch",
  linux_bridge: "Linux bridge",
  ovs_netdev: "OVS netdev",
};

/** "info" figures describe the test itself (e.g. the generator's offered rate): no ratio. */
export type Better = "higher" | "lower" | "info";

export interface Targets {
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

const ping = (p: 50 | 99, load: "idle" | "load"): FigureDef => ({
  id: `ping_p${p}_${load}`,
  title: `ping RTT p${p}, ${load === "idle" ? "idle" : "under TCP load"}`,
  unit: "ms",
  better: "lower",
  group: "latency",
});

export const FIGURES: readonly FigureDef[] = [
  tcp(1, "off", { vsBridge: 0.8, vsOvs: 3 }),
  tcp(4, "off"),
  tcp(1, "on"),
  tcp(4, "on"),
  {
    id: "udp64_delivered_fps",
    title: "64-byte frames delivered",
    unit: "frames/s",
    better: "higher",
    group: "udp64",
    targets: { vsBridge: 0.7, vsOvs: 1.5 },
  },
  {
    id: "udp64_loss_pct",
    title: "64-byte frames lost",
    unit: "%",
    better: "lower",
    group: "udp64",
  },
  {
    id: "udp64_offered_fps",
    title: "64-byte frames offered",
    unit: "frames/s",
    better: "info",
    group: "udp64",
  },
  ping(50, "idle"),
  ping(99, "idle"),
  ping(50, "load"),
  ping(99, "load"),
  {
    id: "ping_load_tcp_gbps",
    title: "TCP load during those pings",
    unit: "Gbit/s",
    better: "higher",
    group: "latency",
  },
  {
    id: "flow_setup_per_s",
    title: "flow setups (controller)",
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
    id: "cpu_s_tcp1_off",
    title: "switch CPU, TCP 1 stream off",
    unit: "CPU s",
    better: "lower",
    group: "tcp",
  },
  {
    id: "cpu_s_udp64",
    title: "switch CPU, 64-byte frames",
    unit: "CPU s",
    better: "lower",
    group: "udp64",
  },
  { id: "peak_rss_mib", title: "switch peak RSS", unit: "MiB", better: "lower", group: "tcp" },
];

export function figureDef(id: string): FigureDef {
  const def = FIGURES.find((f) => f.id === id);
  if (!def) throw new Error(`unknown figure ${id}`);
  return def;
}

/** One run's outcome: a value, or null with why (a failed or inapplicable run). */
export interface RunValue {
  value: number | null;
  note?: string;
}

export const FAILED = "failed: ";

/** Values per figure and peer, in run order. */
export class Results {
  private readonly byFigure = new Map<string, Map<PeerId, RunValue[]>>();

  add(figure: string, peer: PeerId, value: number | null, note?: string): void {
    figureDef(figure);
    let peers = this.byFigure.get(figure);
    if (!peers) this.byFigure.set(figure, (peers = new Map()));
    let runs = peers.get(peer);
    if (!runs) peers.set(peer, (runs = []));
    runs.push(note === undefined ? { value } : { value, note });
  }

  /** A run that did not produce its figure (the note says why). */
  fail(figure: string, peer: PeerId, why: string): void {
    this.add(figure, peer, null, `${FAILED}${why}`);
  }

  runs(figure: string, peer: PeerId): RunValue[] {
    return this.byFigure.get(figure)?.get(peer) ?? [];
  }

  /** Figures that have at least one run, in FIGURES order. */
  figures(): FigureDef[] {
    return FIGURES.filter((f) => this.byFigure.has(f.id));
  }
}

export interface FigureLine {
  figure: string;
  title: string;
  unit: string;
  better: Better;
  ofswitch: number | null;
  linux_bridge: number | null;
  ovs_netdev: number | null;
  ratio_vs_bridge: number | null;
  ratio_vs_ovs: number | null;
  targets?: Targets;
  runs: { peer: PeerId; values: (number | null)[]; notes?: string[] }[];
}

/** ofswitch ÷ peer, or null when either is missing or the peer's value is 0. */
export function ratio(ofswitch: number | null, peer: number | null): number | null {
  if (ofswitch === null || peer === null || peer === 0) return null;
  return ofswitch / peer;
}

/** The JSON line of one figure: medians per peer, ratios ofswitch ÷ peer, every run. */
export function figureLine(def: FigureDef, results: Results): FigureLine {
  const med = (peer: PeerId) => median(results.runs(def.id, peer).map((r) => r.value));
  const values = {
    ofswitch: med("ofswitch"),
    linux_bridge: med("linux_bridge"),
    ovs_netdev: med("ovs_netdev"),
  };
  const info = def.better === "info";
  const line: FigureLine = {
    figure: def.id,
    title: def.title,
    unit: def.unit,
    better: def.better,
    ...values,
    ratio_vs_bridge: info ? null : ratio(values.ofswitch, values.linux_bridge),
    ratio_vs_ovs: info ? null : ratio(values.ofswitch, values.ovs_netdev),
    runs: [],
  };
  if (def.targets) line.targets = def.targets;
  for (const peer of PEERS) {
    const runs = results.runs(def.id, peer);
    if (runs.length === 0) continue;
    const notes = runs.flatMap((r) => (r.note ? [r.note] : []));
    line.runs.push({ peer, values: runs.map((r) => r.value), ...(notes.length ? { notes } : {}) });
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
