// docs/e2e-ratios.svg: one horizontal bar per (figure, peer), the median per-round ratio turned
// into ofswitch's "advantage" (> 1 = ofswitch better, whatever the figure's direction), log
// scale, drawn from the 1.0 line, with the range of the rounds as a whisker; a bound ("at
// least", "at most") is a hatched bar with the sign in its label; targets marked on their rows.
import { advantage, advantageBound, type Bound, type FigureLine } from "./figures.js";
import { formatValue } from "./report.js";

interface Bar {
  label: string;
  value: number;
  /** Range of the rounds' advantages. */
  min: number;
  max: number;
  bound?: Bound;
  peer: "bridge" | "ovs";
  target?: number;
}

const COLORS = { bridge: "#3b75af", ovs: "#ef8636" };

export function ratioBars(lines: FigureLine[]): Bar[] {
  const bars: Bar[] = [];
  for (const l of lines) {
    const vs = [
      ["bridge", l.ratios?.vs_bridge, l.targets?.vsBridge],
      ["ovs", l.ratios?.vs_ovs, l.targets?.vsOvs],
    ] as const;
    for (const [peer, s, target] of vs) {
      const value = advantage(l.better, s?.median ?? null);
      if (!s || value === null || !Number.isFinite(value)) continue;
      const ends = [advantage(l.better, s.min), advantage(l.better, s.max)].filter(
        (v): v is number => v !== null && Number.isFinite(v),
      );
      const bound = advantageBound(l.better, s.bound);
      bars.push({
        label: `${l.title} vs ${peer === "bridge" ? "Linux bridge" : "OVS netdev"}`,
        value,
        min: Math.min(value, ...ends),
        max: Math.max(value, ...ends),
        peer,
        ...(bound ? { bound } : {}),
        ...(target ? { target } : {}),
      });
    }
  }
  return bars;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** The SVG document; `subtitle` carries the date and command. */
export function ratiosSvg(lines: FigureLine[], subtitle: string): string {
  const bars = ratioBars(lines);
  const labelW = 330;
  const plotW = 420;
  const rowH = 20;
  const top = 58;
  const width = labelW + plotW + 70;
  const height = top + Math.max(1, bars.length) * rowH + 40;
  const values = [
    1,
    ...bars.flatMap((b) => [b.min, b.max]),
    ...bars.flatMap((b) => (b.target ? [b.target] : [])),
  ];
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
  const x = (v: number) => labelW + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2" height="4" fill="#fff" fill-opacity="0.6"/></pattern></defs>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">ofswitch vs peers: advantage (x), &gt; 1 means ofswitch is better (log scale)</text>`,
    `<text x="10" y="36" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  const axisY = top + bars.length * rowH;
  for (let e = lo; e <= hi; e++) {
    for (const m of e === hi ? [1] : [1, 2, 5]) {
      const gx = x(m * 10 ** e).toFixed(1);
      out.push(
        `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${axisY}" stroke="${m === 1 ? "#d0d0d0" : "#eeeeee"}"/>`,
      );
    }
    // decades only: 1-2-5 labels would collide on a narrow plot
    const label = e < 0 ? (10 ** e).toFixed(-e) : String(10 ** e);
    out.push(
      `<text x="${x(10 ** e).toFixed(1)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${label}</text>`,
    );
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = x(1);
    const x1 = x(b.value);
    out.push(
      `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${escapeXml(b.label)}</text>`,
    );
    const bx = Math.min(x0, x1).toFixed(1);
    const bw = Math.max(1, Math.abs(x1 - x0)).toFixed(1);
    out.push(
      `<rect x="${bx}" y="${y + 4}" width="${bw}" height="${rowH - 8}" fill="${COLORS[b.peer]}"/>`,
    );
    if (b.bound)
      out.push(
        `<rect x="${bx}" y="${y + 4}" width="${bw}" height="${rowH - 8}" fill="url(#hatch)"/>`,
      );
    const wy = y + rowH / 2;
    if (b.max > b.min)
      out.push(
        `<line x1="${x(b.min).toFixed(1)}" y1="${wy}" x2="${x(b.max).toFixed(1)}" y2="${wy}" stroke="#222" stroke-width="1"/>`,
      );
    const sign = b.bound === "atLeast" ? "&gt;= " : b.bound === "atMost" ? "&lt;= " : "";
    out.push(
      `<text x="${(Math.max(x0, x1, x(b.max)) + 4).toFixed(1)}" y="${y + 14}" fill="#333">${sign}${formatValue(b.value)}x</text>`,
    );
    if (b.target) {
      const tx = x(b.target).toFixed(1);
      out.push(
        `<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + rowH - 1}" stroke="#c00" stroke-width="2"><title>target ${b.target}x</title></line>`,
      );
    }
  });
  out.push(
    `<line x1="${x(1).toFixed(1)}" y1="${top - 6}" x2="${x(1).toFixed(1)}" y2="${axisY}" stroke="#000" stroke-width="1.5"/>`,
  );
  const ly = height - 10;
  out.push(
    `<rect x="10" y="${ly - 9}" width="10" height="10" fill="${COLORS.bridge}"/><text x="24" y="${ly}">vs Linux bridge</text>`,
  );
  out.push(
    `<rect x="130" y="${ly - 9}" width="10" height="10" fill="${COLORS.ovs}"/><text x="144" y="${ly}">vs OVS netdev</text>`,
  );
  out.push(
    `<line x1="250" y1="${ly - 9}" x2="250" y2="${ly + 1}" stroke="#c00" stroke-width="2"/><text x="256" y="${ly}">target</text>`,
  );
  out.push(
    `<line x1="310" y1="${ly - 9}" x2="310" y2="${ly + 1}" stroke="#000" stroke-width="1.5"/><text x="316" y="${ly}">parity (1.0)</text>`,
  );
  out.push(
    `<line x1="400" y1="${ly - 4}" x2="420" y2="${ly - 4}" stroke="#222"/><text x="424" y="${ly}">range of the rounds</text>`,
  );
  out.push(
    `<rect x="540" y="${ly - 9}" width="10" height="10" fill="#888"/><rect x="540" y="${ly - 9}" width="10" height="10" fill="url(#hatch)"/><text x="554" y="${ly}">bound (&gt;= / &lt;=)</text>`,
  );
  out.push("</svg>");
  return out.join("\n") + "\n";
}
