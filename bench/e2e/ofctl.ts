// ovs-ofctl as the controller-side client of every OpenFlow peer (ofswitch's listener, OVS's bridge).
import { inNs, run, type RunResult } from "./proc.js";
import type { Topology } from "./topology.js";

/** How ovs-ofctl reaches a switch: a target (`tcp:127.0.0.1:PORT` or a bridge name) inside `ns`. */
export interface OfTarget {
  ns: string;
  target: string;
  env?: NodeJS.ProcessEnv;
}

export function ofctl(
  of: OfTarget,
  cmd: string,
  args: string[] = [],
  timeoutMs = 15_000,
): Promise<RunResult> {
  const argv = inNs(of.ns, ["ovs-ofctl", "-O", "OpenFlow10", cmd, of.target, ...args]);
  return run(argv, { timeoutMs, env: of.env });
}

/** Port name → OpenFlow port number, from `ovs-ofctl show` (lines like ` 1(eth0): addr:...`). */
export function parsePortNumbers(showOutput: string): Map<string, number> {
  const ports = new Map<string, number>();
  for (const m of showOutput.matchAll(/^\s*(\d+)\(([^)]+)\): addr/gm))
    ports.set(m[2], Number(m[1]));
  return ports;
}

/** Proactive forwarding between the two hosts: one wildcard entry per direction, on in_port. */
export async function installForwarding(of: OfTarget, topo: Topology): Promise<[number, number]> {
  const ports = parsePortNumbers((await ofctl(of, "show")).stdout);
  const [p1, p2] = topo.switchIfs.map((name) => {
    const n = ports.get(name);
    if (n === undefined)
      throw new Error(`switch reports no port ${name} (has ${[...ports.keys()].join(", ")})`);
    return n;
  });
  await ofctl(of, "add-flow", [`in_port=${p1},actions=output:${p2}`]);
  await ofctl(of, "add-flow", [`in_port=${p2},actions=output:${p1}`]);
  return [p1, p2];
}

/** Entries in the switch's tables, from `dump-aggregate` (`flow_count=N`). */
export async function flowCount(of: OfTarget): Promise<number> {
  const out = (await ofctl(of, "dump-aggregate", [], 60_000)).stdout;
  const m = /flow_count=(\d+)/.exec(out);
  if (!m) throw new Error(`no flow_count in: ${out.trim()}`);
  return Number(m[1]);
}

/**
 * Loads a flows file and waits for the switch to confirm (ovs-ofctl ends with a barrier);
 * returns wall seconds, which include ovs-ofctl's own parsing of the file.
 */
export async function addFlowsFile(of: OfTarget, file: string, timeoutMs: number): Promise<number> {
  const r = await ofctl(of, "add-flows", [file], timeoutMs);
  return r.ms / 1000;
}
