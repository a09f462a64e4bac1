// The benchmark's load generators behind one interface: "c" (fakeswitches.c, one C process and
// one epoll loop for all switches, as cbench itself) and "node" (EmulatedSwitch objects in this
// process). Both connect in cbench's groups, send the same packet-ins and count the same
// responses; the C one costs a fraction of the CPU per message, which matters on 2 cores: in
// latency mode the Node generator uses about as much CPU per response as the controller under
// test, so it shares out the machine with it and, when the machine is quiet, is the process that
// saturates a core.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { EmulatedSwitch, type Mode } from "./emulated-switch.js";
import { processCpuSeconds, sleep } from "./controllers.js";

export type GeneratorKind = "c" | "node";

export interface GeneratorConfig {
  host: string;
  port: number;
  switches: number;
  macs: number;
  ports: number;
  mode: Mode;
  /** Switches connecting at a time and ms between groups (cbench -I, -i). */
  group: number;
  groupDelay: number;
}

export interface SwitchCounts {
  /** FLOW_MOD (ADD or MODIFY_STRICT) + PACKET_OUT received: what cbench counts. */
  responses: number;
  flowMods: number;
  packetInsSent: number;
  /** Latency mode: packet-ins written off as unanswered after 200 ms. */
  writtenOff: number;
  /** ms from the start of the TCP connect to the FEATURES_REQUEST (-1: not joined). */
  joinMs: number;
  /** Why the connection ended (the controller closed it, an error), or null. */
  lostReason: string | null;
}

export interface Snapshot {
  /** When it was taken, ms (a monotonic clock of the generator's own). */
  t: number;
  switches: SwitchCounts[];
  /** CPU time the generator used so far (user + system, seconds). */
  cpuSeconds: number;
}

export interface LoadGenerator {
  snapshot(): Promise<Snapshot>;
  /** Stops sending packet-ins (responses are still counted). */
  stop(): void;
  close(): void;
}

export async function startGenerator(
  kind: GeneratorKind,
  cfg: GeneratorConfig,
): Promise<LoadGenerator> {
  return kind === "c" ? NativeGenerator.start(cfg) : NodeGenerator.start(cfg);
}

/** Why the C generator cannot be used here (no compiler), or null. Builds it when needed. */
export function nativeGeneratorMissing(): string | null {
  try {
    buildNative();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const SOURCE = join(ROOT, "bench/cbench/fakeswitches.c");
const BINARY = join(ROOT, "dist/bench/cbench/fakeswitches");

function buildNative(): void {
  const mtime = (p: string) => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  if (mtime(BINARY) >= mtime(SOURCE)) return;
  const r = spawnSync("cc", ["-O2", "-Wall", "-o", BINARY, SOURCE], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`cannot build ${SOURCE}: ${r.error?.message ?? r.stderr.slice(0, 300)}`);
  }
}

class NativeGenerator implements LoadGenerator {
  private readonly waiting: ((line: string) => void)[] = [];
  private exited: string | null = null;

  private constructor(private readonly child: ChildProcess) {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => this.waiting.shift()?.(line));
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => {
      this.exited = `load generator exited (${code}): ${err.slice(0, 300)}`;
      for (const w of this.waiting.splice(0)) w("");
    });
  }

  static async start(cfg: GeneratorConfig): Promise<NativeGenerator> {
    buildNative();
    const args = [cfg.host, cfg.port, cfg.switches, cfg.macs, cfg.ports, cfg.mode];
    args.push(cfg.group, cfg.groupDelay);
    const child = spawn(BINARY, args.map(String), { stdio: ["pipe", "pipe", "pipe"] });
    const g = new NativeGenerator(child);
    // As the Node generator's start: returns once every switch has been told to connect.
    await sleep(Math.floor((cfg.switches - 1) / cfg.group) * cfg.groupDelay);
    return g;
  }

  async snapshot(): Promise<Snapshot> {
    if (this.exited !== null) throw new Error(this.exited);
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write("snap\n");
    });
    if (line === "") throw new Error(this.exited ?? "load generator closed its output");
    const j = JSON.parse(line) as { t: number; sw: number[][]; lost: (string | null)[] };
    return {
      t: j.t,
      switches: j.sw.map(([responses, flowMods, packetInsSent, writtenOff, joinMs], i) => ({
        responses,
        flowMods,
        packetInsSent,
        writtenOff,
        joinMs,
        lostReason: j.lost[i],
      })),
      cpuSeconds: processCpuSeconds(this.child.pid),
    };
  }

  stop(): void {
    if (this.exited === null) this.child.stdin!.write("stop\n");
  }

  close(): void {
    if (this.exited !== null) return;
    this.child.stdin!.end("quit\n");
    const pid = this.child.pid;
    setTimeout(() => {
      if (this.exited === null && pid !== undefined) process.kill(pid, "SIGKILL");
    }, 2000).unref();
  }
}

class NodeGenerator implements LoadGenerator {
  private constructor(private readonly all: EmulatedSwitch[]) {}

  /** cbench's arrival pattern: `group` switches at a time, `groupDelay` ms apart, none waiting
   * for the controller (each starts its handshake, then its packet-ins, on its own). */
  static async start(cfg: GeneratorConfig): Promise<NodeGenerator> {
    const all: EmulatedSwitch[] = [];
    for (let i = 0; i < cfg.switches; i++) {
      if (i > 0 && i % cfg.group === 0) await sleep(cfg.groupDelay);
      all.push(new EmulatedSwitch({ ...cfg, datapathId: i + 1 }));
    }
    return new NodeGenerator(all);
  }

  snapshot(): Promise<Snapshot> {
    const cpu = process.cpuUsage();
    return Promise.resolve({
      t: performance.now(),
      switches: this.all.map((s) => ({
        responses: s.responses,
        flowMods: s.flowMods,
        packetInsSent: s.packetInsSent,
        writtenOff: s.writtenOff,
        joinMs: s.joinMs,
        lostReason: s.lostReason,
      })),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    });
  }

  stop(): void {
    for (const s of this.all) s.stop();
  }

  close(): void {
    for (const s of this.all) s.close();
  }
}
