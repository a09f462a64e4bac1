// What integration tests need from the machine (root, ip netns, the AF_PACKET addon, real
// peers such as ovs-ofctl), and the one rule for a missing piece: outside CI the file or test
// is skipped, loudly; under CI=true (.ci/run) the run fails instead, so a green CI run proves
// that the default datapath and the real peers ran. Every test that can skip goes through
// skipWithout().
import { spawnSync } from "node:child_process";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAfPacket } from "../../src/datapath/afpacket-native.js";
import { loadCap } from "../../src/datapath/pcap-io.js";
import { netnsUnavailable } from "./netns.js";

/** CI=true, as .ci/run's environment has it (read at each call, so a test can set it). */
export function inCi(): boolean {
  return process.env.CI === "true";
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A path relative to the repository for import.meta.url or an absolute path; else as given. */
function shortName(file: string): string {
  if (file.startsWith("file:")) return relative(ROOT, fileURLToPath(file));
  return file.startsWith("/") ? relative(ROOT, file) : file;
}

/**
 * True when the tests of `file` (pass import.meta.url) must be skipped because `missing` (a
 * reason, or undefined when nothing is missing). Warns loudly; under CI=true throws instead,
 * which fails the file.
 */
export function skipWithout(file: string, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  const name = shortName(file);
  if (inCi()) {
    throw new Error(
      `${name}: ${missing}. Under CI=true every integration test must run: fix the machine ` +
        `(scripts/setup.sh installs what is needed; run as root)`,
    );
  }
  console.warn(`\n!!! SKIPPING ${name}: ${missing}: these tests did not run !!!\n`);
  return true;
}

/** The first of `reasons` that is set: what is missing, or undefined when nothing is. */
export function firstMissing(...reasons: (string | undefined)[]): string | undefined {
  return reasons.find((r) => r !== undefined);
}

/** Not root, or no `ip netns`. */
export function netnsMissing(): string | undefined {
  return netnsUnavailable();
}

/** Not root. */
export function rootMissing(): string | undefined {
  return process.getuid?.() === 0 ? undefined : "not running as root";
}

/** What the default datapath needs: root, ip netns and the AF_PACKET addon. */
export function afpacketMissing(): string | undefined {
  const why = netnsUnavailable();
  if (why) return why;
  const { native, reason } = loadAfPacket();
  return native ? undefined : `the AF_PACKET addon is unavailable (${reason})`;
}

/** What the libpcap backend needs: cap built, and patched so an interface going down is survived. */
export function capMissing(): string | undefined {
  const { Cap, reason, patched } = loadCap();
  if (!Cap) return `the libpcap binding (cap) is unavailable (${reason})`;
  return patched
    ? undefined
    : "the libpcap binding (cap) is not patched (node native/cap/patch.mjs)";
}

/** The first of `programs` not on PATH. */
export function programsMissing(...programs: string[]): string | undefined {
  for (const p of programs) {
    if (spawnSync("sh", ["-c", `command -v ${p}`], { timeout: 5000 }).status !== 0)
      return `${p} is not installed`;
  }
  return undefined;
}
