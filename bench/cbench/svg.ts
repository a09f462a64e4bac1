// A bar chart as a standalone SVG string (no dependency): one panel per group (mode), each with
// its own scale, since throughput and latency figures differ tenfold; one bar per controller with
// its value, optional whiskers (e.g. the min–max over rounds) and an optional note under it
// (e.g. a ratio).

export interface Bar {
  name: string;
  value: number;
  low?: number;
  high?: number;
  note?: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

const COLORS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#c53030"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (v: number) => Math.round(v).toLocaleString("en-US");

/** `title` may hold several lines ("\n"); `subtitle` is one line under it. */
export function barChartSvg(
  title: string,
  subtitle: string,
  unit: string,
  groups: BarGroup[],
): string {
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const titleLines = title.split("\n");
  const barW = 80;
  const panelGap = 90;
  const left = 90;
  const top = 40 + 20 * titleLines.length;
  const plotH = 260;
  const panelW = names.length * barW + 20;
  const width = left + groups.length * panelW + (groups.length - 1) * panelGap + 30;
  const height = top + plotH + 100;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  titleLines.forEach((line, i) => {
    out.push(
      `<text x="${width / 2}" y="${24 + 20 * i}" text-anchor="middle" font-size="15" font-weight="bold">${esc(line)}</text>`,
    );
  });
  out.push(
    `<text x="${width / 2}" y="${24 + 20 * titleLines.length}" text-anchor="middle" fill="#444">${esc(subtitle)}</text>`,
  );
  groups.forEach((g, gi) => {
    const x0 = left + gi * (panelW + panelGap);
    const max = niceMax(Math.max(...g.bars.map((b) => b.high ?? b.value)));
    const y = (v: number) => top + plotH - (v / max) * plotH;
    for (let i = 0; i <= 5; i++) {
      const v = (max * i) / 5;
      out.push(
        `<line x1="${x0}" x2="${x0 + panelW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`,
      );
    }
    out.push(
      `<text transform="translate(${x0 - 70} ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(unit)}</text>`,
    );
    g.bars.forEach((b) => {
      const ni = names.indexOf(b.name);
      const x = x0 + 10 + ni * barW;
      const w = barW - 14;
      const cx = x + w / 2;
      out.push(
        `<rect x="${x}" y="${y(b.value)}" width="${w}" height="${top + plotH - y(b.value)}" fill="${COLORS[ni % COLORS.length]}"/>`,
      );
      if (b.low !== undefined && b.high !== undefined) {
        out.push(
          `<line x1="${cx}" x2="${cx}" y1="${y(b.low)}" y2="${y(b.high)}" stroke="black"/>`,
          `<line x1="${cx - 8}" x2="${cx + 8}" y1="${y(b.low)}" y2="${y(b.low)}" stroke="black"/>`,
          `<line x1="${cx - 8}" x2="${cx + 8}" y1="${y(b.high)}" y2="${y(b.high)}" stroke="black"/>`,
        );
      }
      const labelY = Math.min(y(b.value), b.high === undefined ? Infinity : y(b.high)) - 5;
      out.push(
        `<text x="${cx}" y="${labelY}" text-anchor="middle" font-size="10">${fmt(b.value)}</text>`,
      );
      if (b.note !== undefined) {
        out.push(
          `<text x="${cx}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">${esc(b.note)}</text>`,
        );
      }
    });
    out.push(
      `<text x="${x0 + panelW / 2}" y="${top + plotH + 36}" text-anchor="middle" font-weight="bold">${esc(g.label)}</text>`,
    );
  });
  names.forEach((n, ni) => {
    const lx = left + ni * 190;
    const ly = top + plotH + 70;
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[ni % COLORS.length]}"/>`,
      `<text x="${lx + 18}" y="${ly}">${esc(n)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
