// The results table (Markdown, aligned the way prettier aligns it, so the same text serves the
// terminal and docs/performance.md) and the rewriting of one section of a Markdown file.
import {
  advantage,
  advantageBound,
  allFailed,
  type Bound,
  type FigureLine,
  type PeerId,
  type RatioSummary,
} from "./figures.js";

/** 3 significant digits; thousands grouped; "n/a" for missing. */
export function formatValue(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "n/a";
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString("en-US");
  if (abs === 0) return "0";
  const digits = Math.max(0, 2 - Math.floor(Math.log10(abs)));
  return v.toFixed(Math.min(digits, 4));
}

const BOUND_SIGN: Record<Bound, string> = { atLeast: ">= ", atMost: "<= " };

/** A value with its bound: ">= 1,234" for a lower bound. */
export function formatBounded(v: number | null, bound?: Bound): string {
  const text = formatValue(v);
  return bound && v !== null ? `${BOUND_SIGN[bound]}${text}` : text;
}

export function formatRatio(r: number | null): string {
  return r === null || !Number.isFinite(r) ? "n/a" : `${formatValue(r)}x`;
}

/** "0.61x (0.55-0.68)": the median of the per-round ratios and their range; bound first. */
export function formatRatioSummary(s: RatioSummary | undefined): string {
  if (!s) return "n/a";
  const sign = s.bound ? BOUND_SIGN[s.bound] : "";
  const range = s.rounds > 1 ? ` (${formatValue(s.min)}-${formatValue(s.max)})` : "";
  return `${sign}${formatRatio(s.median)}${range}`;
}

/** "≥ 0.8x bridge: met" style notes for the figures that have targets. */
export function targetNote(line: FigureLine): string {
  const parts: string[] = [];
  const check = (target: number | undefined, s: RatioSummary | undefined, peer: string) => {
    if (target === undefined) return;
    const adv = advantage(line.better, s?.median ?? null);
    const bound = advantageBound(line.better, s?.bound);
    let verdict = adv === null ? "n/a" : adv >= target ? "met" : "missed";
    // A bound on the wrong side of the target decides nothing.
    if ((bound === "atLeast" && verdict === "missed") || (bound === "atMost" && verdict === "met"))
      verdict = "undecided";
    parts.push(`>= ${target}x ${peer}: ${verdict}`);
  };
  check(line.targets?.vsBridge, line.ratios?.vs_bridge, "bridge");
  check(line.targets?.vsOvs, line.ratios?.vs_ovs, "OVS");
  return parts.join("; ");
}

const HEADER = [
  "Figure",
  "Unit",
  "ofswitch",
  "Linux bridge",
  "OVS netdev",
  "ofswitch / bridge",
  "ofswitch / OVS",
  "Target",
];

export function tableRows(lines: FigureLine[]): string[][] {
  return lines.map((l) => [
    `${l.title}${l.better === "lower" ? " (lower is better)" : ""}`,
    l.unit,
    ...(["ofswitch", "linux_bridge", "ovs_netdev"] as PeerId[]).map((p) =>
      allFailed(l, p) ? "failed" : formatBounded(l[p], l.bounds?.[p]),
    ),
    formatRatioSummary(l.ratios?.vs_bridge),
    formatRatioSummary(l.ratios?.vs_ovs),
    targetNote(l),
  ]);
}

/** A Markdown table with every column padded to its widest cell, as prettier writes it. */
export function markdownTable(header: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|");
  const all = [header, ...rows].map((r) => r.map(escape));
  const widths = header.map((_, c) => Math.max(3, ...all.map((r) => [...(r[c] ?? "")].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  return [
    line(all[0]),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...all.slice(1).map(line),
  ].join("\n");
}

export function resultsTable(lines: FigureLine[]): string {
  return markdownTable(HEADER, tableRows(lines));
}

/**
 * Replaces the section that starts with the line `heading` (e.g. "## End to end") up to the next
 * heading of the same or a higher level with `body`, or appends it. `body` excludes the heading.
 */
export function replaceSection(markdown: string, heading: string, body: string): string {
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  if (level === 0) throw new Error(`not a heading: ${heading}`);
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trimEnd() === heading);
  const section = `${heading}\n\n${body.trim()}\n`;
  if (start < 0) return `${markdown.trimEnd()}\n\n${section}`;
  let end = lines.findIndex(
    (l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level,
  );
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join("\n");
  const after = lines.slice(end).join("\n");
  return `${before}${before ? "\n" : ""}${section}${after ? `\n${after}` : ""}`.trimEnd() + "\n";
}

/** The body of a section (text after its heading line up to the next same-or-higher heading). */
export function sectionBody(markdown: string, heading: string): string | null {
  const level = /^#+/.exec(heading)![0].length;
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trimEnd() === heading);
  if (start < 0) return null;
  let end = lines.findIndex(
    (l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level,
  );
  if (end < 0) end = lines.length;
  return lines
    .slice(start + 1, end)
    .join("\n")
    .trim();
}
