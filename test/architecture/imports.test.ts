// Keeps the rooms of src/ layered: every relative import in src/ is read from the source text
// and checked against what its room may import (docs/architecture.md). Imports only point down.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "../.."));
const SRC = join(ROOT, "src");

/** Each room and the rooms it may import. `cli` is the entry points, src/cli.ts and src/ctl.ts.
 * `logging` (rate-limited and outage reporting on top of pino) is a leaf every room may use. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  logging: [],
  openflow: ["logging"],
  packet: ["logging"],
  flowtable: ["packet", "logging"],
  datapath: ["packet", "logging"],
  ofchannel: ["openflow", "logging"],
  switch: ["openflow", "ofchannel", "flowtable", "datapath", "packet", "logging"],
  controller: ["openflow", "ofchannel", "packet", "logging"],
  daemon: ["openflow", "ofchannel", "switch", "flowtable", "datapath", "packet", "logging"],
  cli: ["daemon", "logging"],
};

/**
 * Known violations still being removed (issue 13): "from-file -> to-file", relative to src/.
 * Each entry goes when its import goes; a new violation fails the test.
 */
const ALLOWED: ReadonlySet<string> = new Set([]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;

export function relativeImports(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec) out.push(normalize(join(dirname(file), spec)).replace(/\.js$/, ".ts"));
  }
  return out;
}

function roomOf(file: string): string {
  const rel = relative(SRC, file);
  if (rel === "cli.ts" || rel === "ctl.ts") return "cli";
  return rel.split("/")[0] ?? "";
}

interface Edge {
  from: string;
  to: string;
}

function edges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) =>
    relativeImports(file, readFileSync(file, "utf8")).map((to) => ({ from: file, to })),
  );
}

const name = (e: Edge): string => `${relative(SRC, e.from)} -> ${relative(SRC, e.to)}`;

describe("imports between the rooms of src/", () => {
  const all = edges();

  it("finds the imports (the parser is not silently blind)", () => {
    expect(all.length).toBeGreaterThan(200);
    expect(all.some((e) => name(e) === "cli.ts -> daemon/daemon.ts")).toBe(true);
  });

  it("every room is in the table, and every import stays inside src/", () => {
    for (const e of all) {
      expect(Object.keys(MAY_IMPORT), name(e)).toContain(roomOf(e.from));
      expect(relative(SRC, e.to).startsWith(".."), name(e)).toBe(false);
    }
  });

  it("imports only point down (no room imports one it may not)", () => {
    const bad = all
      .filter((e) => roomOf(e.from) !== roomOf(e.to))
      .filter((e) => !MAY_IMPORT[roomOf(e.from)]?.includes(roomOf(e.to)))
      .map(name)
      .filter((n) => !ALLOWED.has(n));
    expect(bad).toEqual([]);
  });

  it("the allow-list holds only violations that still exist", () => {
    const present = new Set(all.map(name));
    expect([...ALLOWED].filter((n) => !present.has(n))).toEqual([]);
  });

  it("the room graph has no cycle", () => {
    const graph = new Map<string, Set<string>>();
    for (const e of all) {
      const [a, b] = [roomOf(e.from), roomOf(e.to)];
      if (a !== b) graph.set(a, (graph.get(a) ?? new Set()).add(b));
    }
    const state = new Map<string, "open" | "done">();
    const cycle: string[] = [];
    const visit = (room: string, path: string[]): void => {
      if (state.get(room) === "done" || cycle.length > 0) return;
      if (state.get(room) === "open") {
        cycle.push(...path.slice(path.indexOf(room)), room);
        return;
      }
      state.set(room, "open");
      for (const next of graph.get(room) ?? []) visit(next, [...path, room]);
      state.set(room, "done");
    };
    for (const room of graph.keys()) visit(room, []);
    expect(cycle).toEqual([]);
  });

  it("the checks catch what they should", () => {
    const sample = relativeImports(
      join(SRC, "datapath/x.ts"),
      [
        'import { A } from "../openflow/of10/constants.js";',
        "import type { B } from './port.js';",
        'export { C } from "../flowtable/flow-table.js";',
        'const d = await import("../switch/switch.js");',
      ].join("\n"),
    );
    expect(sample.map((f) => relative(SRC, f))).toEqual([
      "openflow/of10/constants.ts",
      "datapath/port.ts",
      "flowtable/flow-table.ts",
      "switch/switch.ts",
    ]);
    expect(MAY_IMPORT.datapath).not.toContain("flowtable");
  });
});
