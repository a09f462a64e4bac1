// A grouped bar chart as a standalone SVG string (no dependency): one group per mode, one bar per
// controller, value labels on the bars, and optional whiskers (e.g. the min–max over rounds).

export interface Bar {
  name: string;
  value: number;
  low?: number;
  high?: number;
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
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function barChartSvg(title: string, unit: string, groups: BarGroup[]): string {
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const barW = 56;
  const gap = 36;
  const left = 80;
  const top = 50;
  const plotH = 260;
  const groupW = names.length * barW;
  const width = Math.max(640, left + groups.length * (groupW + gap) + 20);
  const height = top + plotH + 80;
  const max = niceMax(Math.max(...groups.flatMap((g) => g.bars.map((b) => b.high ?? b.value))));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    out.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString("en-US")}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(unit)}</text>`,
  );
  groups.forEach((g, gi) => {
    const gx = left + 10 + gi * (groupW + gap);
    g.bars.forEach((b) => {
      const ni = names.indexOf(b.name);
      const x = gx + ni * barW;
      const cx = x + (barW - 6) / 2;
      out.push(
        `<rect x="${x}" y="${y(b.value)}" width="${barW - 6}" height="${top + plotH - y(b.value)}" fill="${COLORS[ni % COLORS.length]}"/>`,
      );
      if (b.low !== undefined && b.high !== undefined) {
        out.push(
          `<line x1="${cx}" x2="${cx}" y1="${y(b.low)}" y2="${y(b.high)}" stroke="black"/>`,
          `<line x1="${cx - 8}" x2="${cx + 8}" y1="${y(b.low)}" y2="${y(b.low)}" stroke="black"/>`,
          `<line x1="${cx - 8}" x2="${cx + 8}" y1="${y(b.high)}" y2="${y(b.high)}" stroke="black"/>`,
        );
      }
      const labelY = Math.min(y(b.value), b.high === undefined ? Infinity : y(b.high)) - 4;
      out.push(
        `<text x="${cx}" y="${labelY}" text-anchor="middle" font-size="10">${Math.round(b.value).toLocaleString("en-US")}</text>`,
      );
    });
    out.push(
      `<text x="${gx + groupW / 2}" y="${top + plotH + 18}" text-anchor="middle" font-weight="bold">${esc(g.label)}</text>`,
    );
  });
  names.forEach((n, ni) => {
    const lx = left + ni * 170;
    const ly = top + plotH + 45;
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[ni % COLORS.length]}"/>`,
      `<text x="${lx + 18}" y="${ly}">${esc(n)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
