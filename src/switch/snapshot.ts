// A read-only picture of the switch's counters and state, for observers outside the packet
// path (the metrics exporter, the control socket's `status`). Built on request from counters
// the switch already keeps: nothing here runs per packet. Observers use this instead of
// reaching into the table, the datapath or the sessions, so those may change shape freely.
import { PORT_CONFIG, type Port } from "../datapath/port.js";

export interface PortSnapshot {
  portNo: number;
  name: string;
  hwAddr: string;
  /** Link up (carrier), as the last poll saw it. */
  linkUp: boolean;
  /** Set down by a controller (PORT_MOD port-down). */
  adminDown: boolean;
  /** Left out of floods (PORT_MOD no-flood). */
  noFlood: boolean;
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  rxErrors: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  txErrors: number;
}

export interface FlowTableSnapshot {
  /** Entries in the normal table. */
  entries: number;
  emergencyEntries: number;
  maxEntries: number;
  emergencyMode: boolean;
  /** Frames looked up, and those that matched an entry. */
  lookups: number;
  matched: number;
  /** Lookups answered by the exact-match cache in front of the classifier. */
  cacheHits: number;
}

/** Packet-in accounting of one controller target, cumulative over its sessions. */
export class ControllerCounters {
  packetInsSent = 0;
  /** Refused by the session's packet-in rate limit (--packet-in-rate). */
  packetInsRateLimited = 0;
  /** Dropped because the controller was not reading fast enough (send queue full). */
  packetInsQueueDropped = 0;
}

export interface ControllerSnapshot {
  /** The configured target: `tcp:HOST:PORT` (active) or the listener's `ptcp:...`. */
  target: string;
  kind: "active" | "listener";
  role: "primary" | "service";
  /** Sessions past the HELLO exchange (an active target has at most one). */
  sessions: number;
  /** Unsent bytes queued for this target's sessions. */
  sendQueueBytes: number;
  packetInsSent: number;
  packetInsRateLimited: number;
  packetInsQueueDropped: number;
}

export interface SwitchSnapshot {
  datapathId: string;
  failMode: "secure" | "standalone";
  /** Misses forwarded by MAC learning (standalone mode without a controller). */
  standaloneActive: boolean;
  ports: PortSnapshot[];
  /** Ports whose interface is gone, waiting under their number for it to return. */
  waitingPorts: { portNo: number; name: string }[];
  table: FlowTableSnapshot;
  controllers: ControllerSnapshot[];
  /** Table misses dropped: no controller took them (fail mode secure). */
  missesDropped: number;
  standaloneForwarded: number;
  /** Frames (or outputs) the datapath dropped outside the ports' counters, by reason. */
  datapathDrops: Record<string, number>;
}

export function portSnapshot(port: Port): PortSnapshot {
  const c = port.counters;
  return {
    portNo: port.portNo,
    name: port.name,
    hwAddr: port.hwAddr,
    linkUp: !port.info().linkDown,
    adminDown: (port.config & PORT_CONFIG.DOWN) !== 0,
    noFlood: (port.config & PORT_CONFIG.NO_FLOOD) !== 0,
    rxPackets: c.rxPackets,
    rxBytes: c.rxBytes,
    rxDropped: c.rxDropped,
    rxErrors: c.rxErrors,
    txPackets: c.txPackets,
    txBytes: c.txBytes,
    txDropped: c.txDropped,
    txErrors: c.txErrors,
  };
}
