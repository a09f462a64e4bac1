// `ovs-ofctl monitor` as a controller-side witness of PORT_STATUS: the real peer prints every
// asynchronous message it gets; this parses the PORT_STATUS ones. Stopped by PID. On a -l
// listener it is a service session, which gets asynchronous messages only once it sets a
// miss_send_len, as in Open vSwitch: hence the monitor's miss-len argument.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess, type Proc } from "./daemon.js";
import { msUntilPing, startSwitchLab, type SwitchLab } from "./switch-lab.js";

export interface SeenPortStatus {
  reason: "ADD" | "DEL" | "MOD";
  portNo: number;
  name: string;
  mac: string;
  /** ovs-ofctl's words: "0", "PORT_DOWN", ...; and "0" or "LINK_DOWN". */
  config: string;
  state: string;
}

const HEAD =
  /^OFPT_PORT_STATUS \(xid=0x[0-9a-f]+\): (ADD|DEL|MOD): (\d+)\(([^)]+)\): addr:([0-9a-f:]+)/;

/** PORT_STATUS messages in ovs-ofctl's output, in order. */
export function parsePortStatus(output: string): SeenPortStatus[] {
  const seen: SeenPortStatus[] = [];
  let cur: SeenPortStatus | undefined;
  for (const line of output.split("\n")) {
    const m = HEAD.exec(line);
    if (m) {
      cur = {
        reason: m[1] as SeenPortStatus["reason"],
        portNo: Number(m[2]),
        name: m[3],
        mac: m[4],
        config: "",
        state: "",
      };
      seen.push(cur);
      continue;
    }
    if (/^\S/.test(line)) cur = undefined;
    const f = /^\s+(config|state):\s+(.*)$/.exec(line);
    if (cur && f) cur[f[1] as "config" | "state"] = f[2].trim();
  }
  return seen;
}

export class OfctlMonitor {
  private readonly dir = mkdtempSync(join(tmpdir(), "ofs-monitor-"));
  readonly proc: Proc;

  constructor(target: string) {
    // --unixctl: ovs-ofctl's control socket would otherwise need /var/run/openvswitch.
    this.proc = startProcess("ovs-ofctl", [
      "-O",
      "OpenFlow10",
      `--unixctl=${join(this.dir, "ctl")}`,
      "monitor",
      target,
      "128",
    ]);
  }

  statuses(): SeenPortStatus[] {
    return parsePortStatus(this.proc.output);
  }

  async stop(): Promise<void> {
    try {
      await this.proc.stop("SIGTERM", 3000);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/**
 * A secure-mode switch lab (switch-lab.ts) with a `backend`, logging at debug level (the
 * monitor's service session is logged at that level only), and a real `ovs-ofctl monitor`
 * connected to it; ping through the switch works when it returns.
 */
export async function startWatchedLab(
  prefix: string,
  backend: "afpacket" | "pcap",
): Promise<{ lab: SwitchLab; monitor: OfctlMonitor }> {
  const lab = await startSwitchLab(prefix, {
    backend,
    args: ["--fail-mode", "secure", "--log-level", "debug"],
  });
  try {
    const sessions = lab.daemon.count(/session established/);
    const monitor = new OfctlMonitor(lab.target);
    await lab.daemon.waitFor(/session established/, 10_000, sessions + 1);
    const ms = await msUntilPing(lab.topo);
    if (!(ms < 5000)) throw new Error("no ping through the switch within 5 s of its start");
    return { lab, monitor };
  } catch (e) {
    await lab.stop();
    throw e;
  }
}
