// The commands the control socket answers (`ofswitch-ctl help`). A command is a name, a usage
// line and a function of its string arguments; new commands are registered here.
import type { OpenFlowSwitch } from "../switch/switch.js";
import type { SwitchSnapshot } from "../switch/snapshot.js";
import { SOFTWARE_VERSION } from "../switch/switch-features.js";
import { traceText, tracePacket } from "../switch/trace.js";
import {
  TraceInputError,
  frameFromHex,
  packetFromFlow,
  type TracePacket,
} from "../switch/trace-packet.js";
import { ControlError, type ControlServer } from "./control-socket.js";

function noArgs(name: string, params: string[]): void {
  if (params.length > 0) throw new ControlError(`${name} takes no arguments`);
}

function statusText(s: SwitchSnapshot): string {
  const lines: string[] = [];
  const mode =
    s.failMode === "secure"
      ? "fail mode secure"
      : `fail mode standalone${s.standaloneActive ? " (forwarding misses by MAC learning)" : ""}`;
  lines.push(`ofswitch ${SOFTWARE_VERSION}: datapath ${s.datapathId}, ${mode}`);
  const t = s.table;
  lines.push(
    `flow table: ${t.entries} entries (max ${t.maxEntries}), ${t.emergencyEntries} emergency` +
      `${t.emergencyMode ? " (in use)" : ""}; ${t.lookups} lookups, ${t.matched} matched, ` +
      `${t.cacheHits} answered by the exact-match cache`,
  );
  lines.push(
    `misses dropped without a controller: ${s.missesDropped}; ` +
      `forwarded by MAC learning: ${s.standaloneForwarded}`,
  );
  lines.push("controllers:");
  if (s.controllers.length === 0) lines.push("  (none configured)");
  for (const c of s.controllers) {
    const state =
      c.kind === "active"
        ? c.sessions > 0
          ? "connected"
          : "not connected"
        : `${c.sessions} session${c.sessions === 1 ? "" : "s"}`;
    lines.push(
      `  ${c.target} (${c.kind}, ${c.role}): ${state}; packet-ins sent ${c.packetInsSent}, ` +
        `dropped ${c.packetInsRateLimited} by rate limit, ${c.packetInsQueueDropped} by a full ` +
        `queue; ${c.sendQueueBytes} bytes queued`,
    );
  }
  lines.push("ports:");
  for (const p of s.ports) {
    const flags = [
      p.linkUp ? "link up" : "link down",
      ...(p.adminDown ? ["port-down"] : []),
      ...(p.noFlood ? ["no-flood"] : []),
    ].join(", ");
    lines.push(
      `  ${p.portNo} ${p.name} (${p.hwAddr}): ${flags}; ` +
        `rx ${p.rxPackets} packets ${p.rxBytes} bytes dropped ${p.rxDropped} errors ${p.rxErrors}; ` +
        `tx ${p.txPackets} packets ${p.txBytes} bytes dropped ${p.txDropped} errors ${p.txErrors}`,
    );
  }
  for (const w of s.waitingPorts) {
    lines.push(`  ${w.portNo} ${w.name}: interface gone, waiting for it to return`);
  }
  return lines.join("\n");
}

const TRACE_USAGE = "[--send] FLOW | [--send] in_port=N HEX";

/** `trace` arguments: a flow description, or in_port=N and the packet's bytes in hex. */
function traceArgs(params: string[]): { packet: TracePacket; send: boolean } {
  const send = params.includes("--send");
  const rest = params.filter((p) => p !== "--send");
  const unknown = rest.find((p) => p.startsWith("--"));
  if (unknown)
    throw new ControlError(`trace: unknown option ${unknown} (usage: trace ${TRACE_USAGE})`);
  try {
    if (rest.length === 1) return { packet: packetFromFlow(rest[0]), send };
    const port = rest.length === 2 ? /^in_port=(\d+)$/.exec(rest[0]) : null;
    if (port) return { packet: { inPort: Number(port[1]), frame: frameFromHex(rest[1]) }, send };
  } catch (e) {
    if (e instanceof TraceInputError) throw new ControlError(`trace: ${e.message}`);
    throw e;
  }
  throw new ControlError(`usage: trace ${TRACE_USAGE}`);
}

/** Registers every command on `server` for the switch `sw`. */
export function registerControlCommands(server: ControlServer, sw: OpenFlowSwitch): void {
  server.register({
    name: "help",
    args: "",
    summary: "list the commands",
    run: (params) => {
      noArgs("help", params);
      const list = server.list();
      const width = Math.max(...list.map((c) => `${c.name} ${c.args}`.trim().length));
      return {
        text: list
          .map((c) => `${`${c.name} ${c.args}`.trim().padEnd(width)}  ${c.summary}`)
          .join("\n"),
        data: list.map((c) => ({ name: c.name, args: c.args, summary: c.summary })),
      };
    },
  });
  server.register({
    name: "version",
    args: "",
    summary: "the software version",
    run: (params) => {
      noArgs("version", params);
      return { text: `ofswitch ${SOFTWARE_VERSION}`, data: { version: SOFTWARE_VERSION } };
    },
  });
  server.register({
    name: "trace",
    args: TRACE_USAGE,
    summary: "what the switch would do with a packet (--send: then do it)",
    run: (params) => {
      const { packet, send } = traceArgs(params);
      try {
        const report = tracePacket(sw, packet, send);
        return { text: traceText(report), data: report };
      } catch (e) {
        if (e instanceof TraceInputError) throw new ControlError(`trace: ${e.message}`);
        throw e;
      }
    },
  });
  server.register({
    name: "status",
    args: "",
    summary: "datapath id, fail mode, flow table, controllers and port counters",
    run: (params) => {
      noArgs("status", params);
      const s = sw.snapshot();
      return { text: statusText(s), data: s };
    },
  });
}
