// The packet trace (Open vSwitch's ofproto/trace): what the switch would do with a packet, told
// step by step, without doing it. The packet is parsed by the datapath's parser; the table is
// asked without counting the lookup; the entry's actions run through the datapath's own action
// executor against a recording target, one prefix of the list at a time, so every header
// rewrite and every output is what the datapath would really produce; outputs are then judged
// by the port, flood and controller rules in force. Nothing is sent unless asked (`send`).
import { OFPAT, OFPP } from "../openflow/of10/constants.js";
import type { Action } from "../openflow/of10/types.js";
import { ipv4ToString, macToString } from "../openflow/wire.js";
import { FlowKey, VLAN_NONE } from "../packet/flow-key.js";
import { PacketLayout, parseFrame } from "../packet/parse.js";
import { ActionExecutor, compileActions, type ActionTarget } from "../datapath/actions.js";
import { RX_BLOCKED, TX_BLOCKED, floodExcluded } from "../datapath/datapath.js";
import { PORT_CONFIG, type Port } from "../datapath/port.js";
import { toDatapathActions } from "./datapath-actions.js";
import { reportedMatch } from "./flow-match.js";
import { formatAction, formatActions, formatMatch } from "./ofctl-format.js";
import type { OpenFlowSwitch } from "./switch.js";
import { TraceInputError, formatFlowKey, keyMacs, type TracePacket } from "./trace-packet.js";

/** What became of one copy of the packet. */
export interface TracedOutput {
  result: "sent" | "packet-in" | "dropped";
  /** The port it leaves by (sent), or the port it would have (dropped). */
  port?: number;
  portName?: string;
  /** The controller sessions a packet-in goes to. */
  controllers?: string[];
  /** Why it was dropped, or what decided where it went (flooding, MAC learning). */
  why?: string;
}

export interface TraceStep {
  /** The action as ovs-ofctl writes it. */
  action: string;
  /** Header fields it changed: "nw_dst: 10.0.0.2 -> 10.0.0.9". */
  rewrites: string[];
  outputs: TracedOutput[];
  note?: string;
}

export interface TracedEntry {
  priority: number;
  /** An exact-match entry, which outranks every wildcarded one whatever its priority. */
  exact: boolean;
  match: string;
  cookie: string;
  packets: number;
  bytes: number;
  durationSec: number;
  idleTimeout: number;
  hardTimeout: number;
  actions: string;
  emergency: boolean;
}

export interface TraceReport {
  inPort: number;
  inPortName: string;
  length: number;
  /** The 12-tuple the datapath extracts, in ovs-ofctl syntax. */
  flow: string;
  /** Set when the packet never reaches the table, and why. */
  droppedBeforeLookup?: string;
  table: { result: "hit" | "miss" | "not looked up"; entries: number; entry?: TracedEntry };
  /** The entry's actions (hit), one step each. */
  steps: TraceStep[];
  /** What a miss does: packet-in, MAC learning (standalone), or a drop. */
  miss?: { action: "packet-in" | "normal" | "drop"; why: string; outputs: TracedOutput[] };
  /** Every copy of the packet, in order. */
  outputs: TracedOutput[];
  /** True when the packet was then run through the switch for real (send). */
  sent: boolean;
}

type Recorded =
  | { kind: "output"; port: number }
  | { kind: "flood"; all: boolean }
  | { kind: "controller"; maxLen: number }
  | { kind: "normal"; dlDst: Buffer }
  | { kind: "table" }
  | { kind: "local" };

/** An ActionTarget that only notes what the executor asked for. */
class Recorder implements ActionTarget {
  readonly events: Recorded[] = [];
  probed: Buffer | undefined;

  constructor(private readonly probe: number) {}

  outputPort(port: number, frame: Buffer, length: number): void {
    if (port === this.probe) this.probed = Buffer.from(frame.subarray(0, length));
    else this.events.push({ kind: "output", port });
  }
  flood(_f: Buffer, _l: number, _layout: PacketLayout, _in: number, all: boolean): void {
    this.events.push({ kind: "flood", all });
  }
  toController(_f: Buffer, _l: number, _in: number, maxLen: number): void {
    this.events.push({ kind: "controller", maxLen });
  }
  normal(frame: Buffer): void {
    this.events.push({ kind: "normal", dlDst: Buffer.from(frame.subarray(0, 6)) });
  }
  table(): void {
    this.events.push({ kind: "table" });
  }
  local(): void {
    this.events.push({ kind: "local" });
  }
}

/** The header fields that differ between two parses, as "field: old -> new". */
function rewrites(before: FlowKey, after: FlowKey): string[] {
  const vlan = (v: number) => (v === VLAN_NONE ? "none" : String(v));
  const fields: [string, (k: FlowKey) => string][] = [
    ["dl_src", (k) => keyMacs(k).dlSrc],
    ["dl_dst", (k) => keyMacs(k).dlDst],
    ["dl_vlan", (k) => vlan(k.dlVlan)],
    ["dl_vlan_pcp", (k) => String(k.dlVlanPcp)],
    ["nw_src", (k) => ipv4ToString(k.nwSrc)],
    ["nw_dst", (k) => ipv4ToString(k.nwDst)],
    ["nw_tos", (k) => String(k.nwTos)],
    ["tp_src", (k) => String(k.tpSrc)],
    ["tp_dst", (k) => String(k.tpDst)],
  ];
  const out: string[] = [];
  for (const [name, get] of fields) {
    const a = get(before);
    const b = get(after);
    if (a !== b) out.push(`${name}: ${a} -> ${b}`);
  }
  return out;
}

/** Port flags in ovs-ofctl mod-port's words. */
function portConfigWords(config: number): string[] {
  const words: string[] = [];
  if (config & PORT_CONFIG.DOWN) words.push("port-down");
  if (config & PORT_CONFIG.NO_RECEIVE) words.push("no-recv");
  if (config & PORT_CONFIG.NO_FORWARD) words.push("no-fwd");
  if (config & PORT_CONFIG.NO_FLOOD) words.push("no-flood");
  if (config & PORT_CONFIG.NO_PACKET_IN) words.push("no-packet-in");
  return words;
}

/** Traces with the state of one switch. */
class Tracer {
  constructor(
    private readonly sw: OpenFlowSwitch,
    private readonly inPort: number,
  ) {}

  exists(portNo: number): boolean {
    return this.sw.datapath.port(portNo) !== undefined;
  }

  /** Output to one port, judged as Datapath.outputPort judges it. */
  toPort(portNo: number, why?: string): TracedOutput {
    const port = this.sw.datapath.port(portNo);
    if (port === undefined) {
      return { result: "dropped", port: portNo, why: `there is no port ${portNo}` };
    }
    if ((port.config & TX_BLOCKED) !== 0) {
      const flags = portConfigWords(port.config & TX_BLOCKED).join(", ");
      return { result: "dropped", port: portNo, portName: port.name, why: `port is ${flags}` };
    }
    return { result: "sent", port: portNo, portName: port.name, ...(why ? { why } : {}) };
  }

  /** FLOOD or ALL, as Datapath.flood chooses the ports. */
  flood(all: boolean, why: string): TracedOutput[] {
    const skip = floodExcluded(all);
    const out: TracedOutput[] = [];
    for (const p of this.sw.datapath.ports()) {
      if (p.portNo === this.inPort) {
        out.push({
          result: "dropped",
          port: p.portNo,
          portName: p.name,
          why: `${why}: the input port`,
        });
        continue;
      }
      const blocked = p.config & skip;
      if (blocked !== 0) {
        const flags = portConfigWords(blocked).join(", ");
        out.push({
          result: "dropped",
          port: p.portNo,
          portName: p.name,
          why: `${why}: port is ${flags}`,
        });
      } else {
        out.push({ result: "sent", port: p.portNo, portName: p.name, why });
      }
    }
    return out;
  }

  /** A packet-in (reason no_match or action) to the sessions that take asynchronous messages. */
  packetIn(reason: string, maxLen?: number): TracedOutput {
    const inPort = this.sw.datapath.port(this.inPort);
    if (inPort !== undefined && (inPort.config & PORT_CONFIG.NO_PACKET_IN) !== 0) {
      return { result: "dropped", why: `packet-in (${reason}): the input port is no-packet-in` };
    }
    const targets = this.sw.packetInReceivers();
    if (targets.length === 0) {
      return {
        result: "dropped",
        why: `packet-in (${reason}): no controller session takes packet-ins`,
      };
    }
    const size = (missSendLen: number) =>
      maxLen === undefined
        ? missSendLen >= 0xffff
          ? "whole packet"
          : `${missSendLen} bytes, buffered`
        : maxLen >= 0xffff
          ? "whole packet"
          : `${maxLen} bytes, buffered`;
    return {
      result: "packet-in",
      controllers: targets.map((t) => `${t.controller} (${t.role}, ${size(t.missSendLen)})`),
      why:
        reason +
        (this.sw.packetInRate > 0 ? `, at most ${this.sw.packetInRate}/s per controller` : ""),
    };
  }

  /** OUTPUT:NORMAL (and standalone misses): learned port, or flood. Learns nothing. */
  normal(dlDst: Buffer): TracedOutput[] {
    if ((dlDst[0] & 1) !== 0) return this.flood(false, "NORMAL: multicast destination, flooded");
    const learned = this.sw.datapath.macTable.lookup(dlDst, 0, this.sw.datapath.now);
    if (learned < 0) return this.flood(false, "NORMAL: destination not learned, flooded");
    if (learned === this.inPort) {
      return [
        { result: "dropped", port: learned, why: "NORMAL: destination learned on the input port" },
      ];
    }
    return [this.toPort(learned, `NORMAL: ${macToString(dlDst)} learned on this port`)];
  }

  judge(e: Recorded): TracedOutput[] {
    switch (e.kind) {
      case "output":
        return [this.toPort(e.port)];
      case "flood":
        return this.flood(e.all, e.all ? "ALL" : "FLOOD");
      case "controller":
        return [this.packetIn("action", e.maxLen)];
      case "normal":
        return this.normal(e.dlDst);
      case "table":
        return [{ result: "dropped", why: "TABLE: only a packet-out may resubmit to the table" }];
      case "local":
        return [{ result: "dropped", why: "LOCAL: ofswitch has no local port" }];
    }
  }
}

function reparse(frame: Buffer, inPort: number): FlowKey {
  const key = new FlowKey();
  parseFrame(frame, frame.length, inPort, key, new PacketLayout());
  return key;
}

/**
 * Runs `actions` on `frame` one prefix at a time through the datapath's executor: step i's
 * outputs are the events its prefix adds, and its rewrites the difference in the frame.
 */
function runActions(
  tracer: Tracer,
  actions: readonly Action[],
  frame: Buffer,
  inPort: number,
): TraceStep[] {
  // A port number no port, action or the input uses: output to it shows the frame after a prefix.
  const used = new Set(actions.map((a) => (a.type === OFPAT.OUTPUT ? a.port : -1)));
  let probe = OFPP.MAX - 1;
  while (probe === inPort || used.has(probe) || tracer.exists(probe)) probe--;
  const layout = new PacketLayout();
  let before = reparse(frame, inPort);
  let seen = 0;
  const steps: TraceStep[] = [];
  for (let i = 0; i < actions.length; i++) {
    const recorder = new Recorder(probe);
    const program = compileActions([
      ...toDatapathActions(actions.slice(0, i + 1)),
      { kind: "output", port: probe },
    ]);
    parseFrame(frame, frame.length, inPort, new FlowKey(), layout);
    new ActionExecutor(recorder).execute(program, frame, frame.length, layout, inPort);
    const after = recorder.probed ? reparse(recorder.probed, inPort) : before;
    const step: TraceStep = {
      action: formatAction(actions[i]),
      rewrites: rewrites(before, after),
      outputs: recorder.events.slice(seen).flatMap((e) => tracer.judge(e)),
    };
    const a = actions[i];
    if (a.type === OFPAT.OUTPUT && a.port === inPort) {
      step.note = "not sent: a packet never leaves by its input port this way (IN_PORT does that)";
    }
    steps.push(step);
    seen = recorder.events.length;
    before = after;
  }
  return steps;
}

/** Entries in the table lookups use (the emergency one while it is in use). */
function tableSize(sw: OpenFlowSwitch): number {
  return sw.table.inEmergencyMode ? sw.table.emergencyCount : sw.table.activeCount;
}

function isFragment(frame: Buffer, layout: PacketLayout): boolean {
  if (!layout.ipv4) return false;
  const l3 = layout.l3Offset;
  return ((frame[l3 + 6] & 0x3f) | frame[l3 + 7]) !== 0;
}

/** What the switch would do with `packet`; with `send`, it then does it. */
export function tracePacket(sw: OpenFlowSwitch, packet: TracePacket, send = false): TraceReport {
  const { inPort, frame } = packet;
  const port: Port | undefined = sw.datapath.port(inPort);
  if (port === undefined) {
    const ports = sw.datapath
      .ports()
      .map((p) => `${p.portNo} (${p.name})`)
      .join(", ");
    throw new TraceInputError(`in_port=${inPort}: no such port (ports: ${ports || "none"})`);
  }
  const key = new FlowKey();
  const layout = new PacketLayout();
  parseFrame(frame, frame.length, inPort, key, layout);
  const tracer = new Tracer(sw, inPort);
  const report: TraceReport = {
    inPort,
    inPortName: port.name,
    length: frame.length,
    flow: formatFlowKey(key),
    table: { result: "not looked up", entries: tableSize(sw) },
    steps: [],
    outputs: [],
    sent: false,
  };
  if ((port.config & RX_BLOCKED) !== 0) {
    report.droppedBeforeLookup = `the input port is ${portConfigWords(port.config & RX_BLOCKED).join(", ")}`;
    return report;
  }
  if (sw.datapath.dropFragments && isFragment(frame, layout)) {
    report.droppedBeforeLookup = "an IPv4 fragment, and fragment handling is drop (SET_CONFIG)";
    return report;
  }
  const entry = sw.table.find(key);
  if (entry !== undefined) {
    report.table = {
      result: "hit",
      entries: tableSize(sw),
      entry: {
        priority: entry.priority,
        exact: entry.exact,
        match: formatMatch(reportedMatch(entry)),
        cookie: `0x${entry.cookie.toString(16)}`,
        packets: entry.packets,
        bytes: entry.bytes,
        durationSec: Math.floor(entry.ageMs(sw.table.tick()) / 1000),
        idleTimeout: entry.idleTimeout,
        hardTimeout: entry.hardTimeout,
        actions: formatActions(entry.actions),
        emergency: entry.emergency,
      },
    };
    report.steps = runActions(tracer, entry.actions, frame, inPort);
    report.outputs = report.steps.flatMap((s) => s.outputs);
  } else {
    report.table = { result: "miss", entries: tableSize(sw) };
    if ((port.config & PORT_CONFIG.NO_PACKET_IN) !== 0) {
      report.miss = {
        action: "drop",
        why: "the input port is no-packet-in: misses from it are dropped",
        outputs: [],
      };
    } else if (sw.standaloneActive) {
      const outputs = tracer.normal(frame.subarray(0, 6));
      report.miss = {
        action: "normal",
        why: "fail mode standalone without a controller: MAC learning",
        outputs,
      };
    } else {
      const out = tracer.packetIn("no_match");
      report.miss =
        out.result === "packet-in"
          ? { action: "packet-in", why: "table miss", outputs: [out] }
          : {
              action: "drop",
              why:
                sw.failMode === "secure"
                  ? "no controller takes packet-ins, fail mode secure: dropped"
                  : "no controller takes packet-ins yet (standalone starts after 3 probe intervals without one): dropped",
              outputs: [],
            };
    }
    report.outputs = report.miss.outputs;
  }
  if (send) {
    // As a packet-out of "actions=TABLE" from in_port: the datapath's own receive path after
    // the port checks above, with real outputs, counters and packet-ins.
    sw.datapath.execute([{ kind: "table" }], Buffer.from(frame), frame.length, inPort);
    report.sent = true;
  }
  return report;
}

function describe(o: TracedOutput): string {
  const where = o.port !== undefined ? `port ${o.port}${o.portName ? ` (${o.portName})` : ""}` : "";
  if (o.result === "sent") return `-> ${where}${o.why ? `  [${o.why}]` : ""}`;
  if (o.result === "packet-in") return `-> packet-in (${o.why}) to ${o.controllers?.join(", ")}`;
  return `dropped${where ? ` at ${where}` : ""}: ${o.why}`;
}

/** The report as ofswitch-ctl prints it. */
export function traceText(r: TraceReport): string {
  const lines = [
    `Packet: ${r.length} bytes in on port ${r.inPort} (${r.inPortName})`,
    `Flow: ${r.flow}`,
    "",
  ];
  if (r.droppedBeforeLookup) {
    lines.push(`Dropped before the table: ${r.droppedBeforeLookup}`);
  } else if (r.table.result === "hit" && r.table.entry) {
    const e = r.table.entry;
    const prio = e.exact
      ? `priority=${e.priority} (exact match: outranks every wildcarded entry)`
      : `priority=${e.priority}`;
    lines.push(
      `Table: hit (${r.table.entries} entries${e.emergency ? ", emergency table" : ""})`,
      `  ${prio}${e.match ? `,${e.match}` : ""}`,
      `  cookie=${e.cookie}, n_packets=${e.packets}, n_bytes=${e.bytes}, duration=${e.durationSec}s` +
        `${e.idleTimeout ? `, idle_timeout=${e.idleTimeout}` : ""}${e.hardTimeout ? `, hard_timeout=${e.hardTimeout}` : ""}`,
      `  actions=${e.actions}`,
      "",
      "Actions:",
    );
    if (r.steps.length === 0) lines.push("  (none: the packet is dropped)");
    r.steps.forEach((s, i) => {
      lines.push(`  ${i + 1}. ${s.action}`);
      for (const w of s.rewrites) lines.push(`       ${w}`);
      for (const o of s.outputs) lines.push(`       ${describe(o)}`);
      if (s.note) lines.push(`       ${s.note}`);
      if (s.rewrites.length === 0 && s.outputs.length === 0 && !s.note)
        lines.push("       (no change: the packet has no such header)");
    });
  } else if (r.miss) {
    lines.push(`Table: miss (no entry matches; ${r.table.entries} entries)`, `Miss: ${r.miss.why}`);
    for (const o of r.miss.outputs) lines.push(`  ${describe(o)}`);
  }
  const sent = r.outputs.filter((o) => o.result === "sent");
  const ins = r.outputs.filter((o) => o.result === "packet-in");
  lines.push(
    "",
    `Result: ${
      sent.length === 0 && ins.length === 0
        ? "dropped"
        : [
            ...(sent.length > 0 ? [`out on ${sent.map((o) => `${o.port}`).join(", ")}`] : []),
            ...(ins.length > 0 ? [`${ins.length} packet-in${ins.length > 1 ? "s" : ""}`] : []),
          ].join("; ")
    }${r.sent ? " (sent: the packet was run through the switch)" : " (nothing was sent)"}`,
  );
  return lines.join("\n");
}
