// Self time per function from a V8 .cpuprofile (what `node --cpu-prof` writes).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { markdownTable } from "./report.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  /** file:line (1-based), relative to `root` where it lies inside it. */
  where: string;
  selfMs: number;
}

/** V8's pseudo-frames: not time spent in a function of ours or Node's. */
const IDLE = new Set(["(idle)", "(program)", "(root)"]);

/**
 * Self time per function (same name and location merged), most first. Each sample is charged the
 * time until the next one (timeDeltas[i+1]), the last sample nothing. Only samples taken at or
 * after `fromUs` count (V8's clock: CLOCK_MONOTONIC in microseconds, as process.hrtime).
 */
export function selfTimes(
  profile: CpuProfile,
  root = "",
  fromUs = -Infinity,
): { functions: SelfTime[]; busyMs: number; idleMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, SelfTime>();
  let busyMs = 0;
  let idleMs = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs) continue;
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || "(anonymous)";
    if (IDLE.has(name)) {
      idleMs += ms;
      continue;
    }
    busyMs += ms;
    const file = url.startsWith("file://") ? url.slice(7) : url;
    const where = file
      ? `${root && file.startsWith(root) ? relative(root, file) : file}:${lineNumber + 1}`
      : "";
    const key = `${name}@${where}`;
    const entry = totals.get(key) ?? { name, where, selfMs: 0 };
    entry.selfMs += ms;
    totals.set(key, entry);
  }
  const functions = [...totals.values()].sort((a, b) => b.selfMs - a.selfMs);
  return { functions, busyMs, idleMs };
}

/**
 * Markdown summary: the top `n` functions by self time (samples from `fromUs` on), their share of
 * busy time and the nanoseconds each costs per forwarded frame.
 */
export function profileSummary(
  profile: CpuProfile,
  frames: number,
  n = 15,
  root = "",
  fromUs = -Infinity,
): string {
  const { functions, busyMs, idleMs } = selfTimes(profile, root, fromUs);
  const perFrame = (ms: number) => (frames > 0 ? ((ms * 1e6) / frames).toFixed(0) : "n/a");
  const rows = functions
    .slice(0, n)
    .map((f) => [
      f.name,
      f.where || "(native)",
      f.selfMs.toFixed(0),
      ((100 * f.selfMs) / busyMs).toFixed(1),
      perFrame(f.selfMs),
    ]);
  const head = [
    `Busy ${(busyMs / 1000).toFixed(1)} s, idle ${(idleMs / 1000).toFixed(1)} s over ${frames.toLocaleString("en-US")} frames`,
    `transmitted by ofswitch: ${perFrame(busyMs)} ns of busy main-thread time per frame.`,
  ].join(" ");
  return `${head}\n\n${markdownTable(["Function", "Where", "Self ms", "% of busy", "ns / frame"], rows)}`;
}

/** The profile node wrote for process `pid` in `dir` (named CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile). */
export function findProfile(dir: string, pid: number): string | null {
  const hit = readdirSync(dir).find(
    (f) => f.endsWith(".cpuprofile") && f.split(".")[3] === String(pid),
  );
  return hit ? join(dir, hit) : null;
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
}
