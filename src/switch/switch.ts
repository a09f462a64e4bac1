// The OpenFlow switch: a flow table, a datapath over the ports, and the controller sessions,
// with the handling of every OF1.0 message a controller may send. Processing is synchronous
// and in order: a FLOW_MOD changes the table the datapath reads before the next message is
// looked at, so a BARRIER_REPLY is sent only after everything before it took effect.
import type { Logger } from "pino";
import { Datapath } from "../datapath/datapath.js";
import type { Port } from "../datapath/port.js";
import { ZERO_MAC } from "../datapath/sysfs.js";
import { FlowTable } from "../flowtable/flow-table.js";
import type { BackoffOptions } from "../ofchannel/active.js";
import type { OpenFlowChannel } from "../ofchannel/channel.js";
import {
  OFP_DEFAULT_MISS_SEND_LEN,
  OFP_NO_BUFFER,
  OFPBRC,
  OFPC_FRAG,
  OFPR,
  OFPT,
} from "../openflow/of10/constants.js";
import { OfpError } from "../openflow/of10/errors.js";
import {
  ConnectionManager,
  DEFAULT_PROBE_INTERVAL_MS,
  type SessionHandlers,
} from "./connection-manager.js";
import { toDatapathActions } from "./datapath-actions.js";
import { PORT_REASON, phyPortOf } from "./port-wire.js";
import type { OfpMessage } from "../openflow/of10/messages.js";
import type { SendQueueOptions } from "../ofchannel/send-queue.js";
import type { OfActions, OfFlowEntry, OfFlowTable, OfRemoval } from "./flow-mod.js";
import { datapathIdFromMac, dpidToString } from "./switch-features.js";
import { flowRemovedBodies } from "./switch-stats.js";
import { handleRequest, type SwitchCore } from "./switch-requests.js";
import { Session, SwitchStats } from "./switch-session.js";
import { RateLimitedLog } from "../logging/rate-limit.js";
import type { TlsCredentials } from "../ofchannel/tls.js";
import type { ActiveTarget, PassiveTarget, SessionRole } from "../ofchannel/targets.js";
import { defaultBurst } from "./token-bucket.js";
import { ControllerCounters, portSnapshot, type SwitchSnapshot } from "./snapshot.js";
import type { PhyPort } from "../openflow/of10/types.js";

export type FailMode = "secure" | "standalone";

export interface SwitchOptions {
  log: Logger;
  /**
   * Default: the first port's MAC address when the switch starts, as OVS derives it from the
   * bridge MAC; fixed from then on, whatever happens to that port.
   */
  datapathId?: bigint;
  failMode?: FailMode;
  /** miss_send_len of a new session until it sends SET_CONFIG (default 128). */
  missSendLen?: number;
  maxFlows?: number;
  /** Packet-ins per second per session and the burst allowed (default 0: no limit, as Open
   * vSwitch without controller_rate_limit; the send queue still bounds what is queued). */
  packetInRate?: number;
  packetInBurst?: number;
  probeIntervalMs?: number;
  controllers?: ActiveTarget[];
  listeners?: PassiveTarget[];
  backoff?: BackoffOptions;
  /** Overrides of the sessions' send policy (SWITCH_SEND_POLICY: packet-ins dropped past
   * 256 KiB unsent, a controller that reads nothing dropped past 16 MiB). */
  sendQueue?: Partial<SendQueueOptions>;
  /** Read controller sockets into slabs of our own (default true; ofchannel/socket-reads.ts). */
  directReads?: boolean;
  /** Messages handled per session per event-loop turn, round-robin (default 50, as Open
   * vSwitch's ofconn): a controller's flood waits its turn behind other sessions and the ports. */
  inputBudget?: number;
  /** Key, certificate and CA for ssl: and pssl: targets. */
  tls?: TlsCredentials;
  dpDesc?: string;
  /** The frame I/O backend the ports use, as DESC stats name it (e.g. "AF_PACKET"). */
  frameIo?: string;
  /** How often expiry and buffer reclamation run (default 100 ms). */
  tickMs?: number;
}

export class OpenFlowSwitch implements SessionHandlers, SwitchCore {
  readonly table: OfFlowTable;
  readonly datapath: Datapath<OfFlowEntry>;
  readonly connmgr: ConnectionManager;
  readonly stats = new SwitchStats();
  readonly failMode: FailMode;
  readonly probeIntervalMs: number;
  /** True while misses are forwarded by MAC learning (fail mode standalone, no controller). */
  standaloneActive = false;
  fragHandling: number = OFPC_FRAG.NORMAL;
  private readonly sessions = new Map<OpenFlowChannel, Session>();
  /** Packet-in counters per configured target, kept across its sessions. */
  private readonly targetCounters = new Map<string, ControllerCounters>();
  readonly log: Logger;
  /** Lines controllers can repeat at will, at most a few per kind per minute. */
  readonly limited: RateLimitedLog;
  readonly dpDesc: string | undefined;
  readonly frameIo: string;
  /** Given, or derived once in start(). */
  private fixedDpid: bigint | undefined;
  private failTimer: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private lastSweep = 0;
  private readonly rate: number;
  private readonly burst: number;

  constructor(private readonly opts: SwitchOptions) {
    this.log = opts.log;
    this.limited = new RateLimitedLog(opts.log);
    this.dpDesc = opts.dpDesc;
    this.frameIo = opts.frameIo ?? "unspecified";
    this.failMode = opts.failMode ?? "standalone";
    this.probeIntervalMs = opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.fixedDpid = opts.datapathId;
    this.rate = opts.packetInRate ?? 0;
    this.burst = opts.packetInBurst ?? defaultBurst(this.rate);
    this.table = new FlowTable<OfActions>({ maxEntries: opts.maxFlows });
    this.datapath = new Datapath<OfFlowEntry>({
      lookup: this.table,
      actionsOf: (entry) => toDatapathActions(entry.actions),
      callbacks: {
        onMiss: (frame, length, inPort) => this.miss(frame, length, inPort),
        onController: (frame, length, inPort, maxLen) =>
          this.packetIn(frame, length, inPort, OFPR.ACTION, maxLen),
        onPortChange: (change, port) => this.portStatus(PORT_REASON[change], phyPortOf(port)),
      },
      log: opts.log,
    });
    this.connmgr = new ConnectionManager(
      {
        controllers: opts.controllers,
        listeners: opts.listeners,
        probeIntervalMs: this.probeIntervalMs,
        backoff: opts.backoff,
        sendQueue: opts.sendQueue,
        directReads: opts.directReads,
        inputBudget: opts.inputBudget,
        tls: opts.tls,
        log: opts.log,
        limited: this.limited,
      },
      this,
    );
  }

  get datapathId(): bigint {
    if (this.fixedDpid !== undefined) return this.fixedDpid;
    // The first port that has an Ethernet address (a tun has none).
    const first = this.datapath.ports().find((p) => p.hwAddr !== ZERO_MAC);
    return first ? datapathIdFromMac(first.hwAddr) : 0n;
  }

  /** Adds a port; `announce` sends PORT_STATUS ADD to the controllers. */
  addPort(port: Port, announce = false): void {
    this.datapath.addPort(port, announce);
  }

  /** Starts listeners, controller connections, link monitoring and timers. */
  async start(): Promise<void> {
    this.fixedDpid = this.datapathId;
    await this.connmgr.start();
    this.datapath.startLinkMonitor();
    this.ticker = setInterval(() => this.tick(), this.opts.tickMs ?? 100);
    if (this.failMode === "standalone") {
      if (!this.connmgr.primaryConfigured) this.enterStandalone("no controller configured");
      else this.armFailTimer();
    }
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    if (this.failTimer) clearTimeout(this.failTimer);
    this.ticker = this.failTimer = undefined;
    await this.connmgr.stop();
    this.datapath.close();
  }

  /** Expiry (with FLOW_REMOVED) and reclamation of old packet buffers. */
  tick(): void {
    const now = this.table.tick();
    const next = this.table.nextExpiryMs();
    if (next !== undefined && next <= now) this.flowsRemoved(this.table.expire());
    if (now - this.lastSweep >= 1000) {
      this.lastSweep = now;
      for (const s of this.sessions.values()) s.buffers.sweep();
    }
  }

  // ---- sessions and fail mode ----
  // As Open vSwitch (connmgr): only primary controllers start and end fail mode and the
  // emergency table; a service session (ovs-ofctl on a listener) starts with miss_send_len 0
  // and gets no asynchronous message until it sets a nonzero one.

  onReady(conn: OpenFlowChannel, role: SessionRole): void {
    const primary = role === "primary";
    const missSendLen = primary ? (this.opts.missSendLen ?? OFP_DEFAULT_MISS_SEND_LEN) : 0;
    const counters = this.countersOf(this.connmgr.targetOf(conn));
    this.sessions.set(conn, new Session(role, missSendLen, this.rate, this.burst, counters));
    if (!primary) return;
    if (this.failTimer) clearTimeout(this.failTimer);
    this.failTimer = undefined;
    if (this.standaloneActive) {
      this.standaloneActive = false;
      this.log.info({ controller: conn.label }, "controller connected: leaving standalone mode");
    }
    if (this.table.inEmergencyMode) {
      this.table.setEmergencyMode(false);
      this.log.info("controller connected: leaving emergency mode");
    }
  }

  onClose(conn: OpenFlowChannel): void {
    const role = this.sessions.get(conn)?.role;
    this.sessions.delete(conn);
    if (role !== "primary" || this.primaryConnected()) return;
    if (this.table.emergencyCount > 0 && !this.table.inEmergencyMode) {
      // OF1.0 §4.3: on connection loss the normal entries go and the emergency ones take over.
      const dropped = this.table.setEmergencyMode(true);
      this.log.warn(
        { flowsRemoved: dropped.length },
        "all controllers lost: emergency flow table in use",
      );
    }
    if (this.failMode === "standalone") this.armFailTimer();
    else this.log.warn("all controllers lost: fail mode secure, table misses are dropped");
  }

  private countersOf(target: string): ControllerCounters {
    let c = this.targetCounters.get(target);
    if (c === undefined) this.targetCounters.set(target, (c = new ControllerCounters()));
    return c;
  }

  private armFailTimer(): void {
    if (this.failTimer) clearTimeout(this.failTimer);
    // OVS fail-open: three inactivity-probe intervals without any controller.
    this.failTimer = setTimeout(() => {
      this.failTimer = undefined;
      if (!this.primaryConnected()) this.enterStandalone("no controller for 3 probe intervals");
    }, 3 * this.probeIntervalMs);
  }

  private primaryConnected(): boolean {
    for (const s of this.sessions.values()) if (s.role === "primary") return true;
    return false;
  }

  /** Whether `conn` gets PACKET_IN, FLOW_REMOVED and PORT_STATUS (OVS ofconn_receives_async_msg). */
  private receivesAsync(s: Session): boolean {
    return s.role === "primary" || s.missSendLen > 0;
  }

  private sendAsync(msg: OfpMessage): void {
    for (const [conn, s] of this.sessions) if (this.receivesAsync(s)) conn.send(msg);
  }

  private enterStandalone(why: string): void {
    if (this.standaloneActive) return;
    this.standaloneActive = true;
    this.log.warn({ why }, "fail mode standalone: forwarding misses by MAC learning");
  }

  // ---- datapath events ----

  private miss(frame: Buffer, length: number, inPort: number): void {
    if (this.standaloneActive) {
      this.stats.standaloneForwarded++;
      this.datapath.forwardMissNormal(frame, length, inPort);
    } else if (this.packetIn(frame, length, inPort, OFPR.NO_MATCH, -1) === 0) {
      this.stats.missesDropped++;
    }
  }

  /** PACKET_IN to every session that takes them; `maxLen` -1 means the session's
   * miss_send_len. Returns how many sessions were addressed. */
  private packetIn(
    frame: Buffer,
    length: number,
    inPort: number,
    reason: number,
    maxLen: number,
  ): number {
    let addressed = 0;
    for (const [conn, s] of this.sessions) {
      if (!this.receivesAsync(s)) continue;
      addressed++;
      if (!s.limiter.take()) {
        this.stats.packetInsRateLimited++;
        s.counters.packetInsRateLimited++;
        continue;
      }
      const cut = maxLen < 0 ? s.missSendLen : maxLen;
      // As OVS: max_len 0xffff asks for the whole packet unbuffered.
      const bufferId = cut >= 0xffff ? OFP_NO_BUFFER : s.buffers.save(frame, length, inPort);
      const dataLen = bufferId === OFP_NO_BUFFER ? length : Math.min(cut, length);
      const packetIn: OfpMessage = {
        type: OFPT.PACKET_IN,
        xid: 0,
        bufferId,
        totalLen: length,
        inPort,
        reason,
        data: frame.subarray(0, dataLen),
      };
      // Droppable: a controller that falls behind loses packet-ins before anything else.
      const sent = conn.send(packetIn, true);
      if (sent) {
        this.stats.packetInsSent++;
        s.counters.packetInsSent++;
      } else {
        this.stats.packetInsQueueDropped++;
        s.counters.packetInsQueueDropped++;
        if (bufferId !== OFP_NO_BUFFER) s.buffers.discard(bufferId);
      }
    }
    return addressed;
  }

  portStatus(reason: number, desc: PhyPort): void {
    // The port logged the interface event itself (info); this is the message it became.
    this.log.debug(
      { port: desc.name, portNo: desc.portNo, reason, state: desc.state },
      "port status",
    );
    this.sendAsync({ type: OFPT.PORT_STATUS, xid: 0, reason, desc });
  }

  flowsRemoved(removed: OfRemoval[]): void {
    for (const body of flowRemovedBodies(removed, this.table.now)) {
      this.stats.flowRemovedSent++;
      this.sendAsync({ type: OFPT.FLOW_REMOVED, xid: 0, ...body });
    }
  }

  // ---- observation ----

  /** Packet-ins per second per session (0: no limit). */
  get packetInRate(): number {
    return this.rate;
  }

  /** The sessions a PACKET_IN would go to now, with their miss_send_len (the packet trace). */
  packetInReceivers(): { controller: string; role: string; missSendLen: number }[] {
    return [...this.sessions]
      .filter(([, s]) => this.receivesAsync(s))
      .map(([conn, s]) => ({
        controller: conn.label,
        role: s.role,
        missSendLen: s.missSendLen,
      }));
  }

  /** Counters and state for observers (metrics, the control socket); not for the packet path. */
  snapshot(): SwitchSnapshot {
    const ready = this.connmgr.ready;
    const controllers = this.connmgr.configuredTargets().map((t) => {
      let sessions = 0;
      let sendQueueBytes = 0;
      for (const conn of this.connmgr.sessions) {
        if (this.connmgr.targetOf(conn) !== t.label) continue;
        if (ready.has(conn)) sessions++;
        sendQueueBytes += conn.queue.unsentBytes;
      }
      const c = this.countersOf(t.label);
      return {
        target: t.label,
        kind: t.kind,
        role: t.role,
        sessions,
        sendQueueBytes,
        packetInsSent: c.packetInsSent,
        packetInsRateLimited: c.packetInsRateLimited,
        packetInsQueueDropped: c.packetInsQueueDropped,
      };
    });
    const dp = this.datapath.stats;
    return {
      datapathId: dpidToString(this.datapathId),
      failMode: this.failMode,
      standaloneActive: this.standaloneActive,
      ports: this.datapath.ports().map(portSnapshot),
      waitingPorts: this.datapath.waitingPorts().map((p) => ({ portNo: p.portNo, name: p.name })),
      table: {
        entries: this.table.activeCount,
        emergencyEntries: this.table.emergencyCount,
        maxEntries: this.table.maxEntries,
        emergencyMode: this.table.inEmergencyMode,
        lookups: dp.lookups,
        matched: dp.matched,
        cacheHits: this.table.cacheHits,
      },
      controllers,
      missesDropped: this.stats.missesDropped,
      standaloneForwarded: this.stats.standaloneForwarded,
      datapathDrops: {
        runt: dp.runts,
        fault: dp.errors,
        no_such_port: dp.noSuchPort,
        local_port: dp.localDrops,
        table_outside_packet_out: dp.tableDrops,
        fragment: dp.fragmentDrops,
      },
    };
  }

  // ---- controller messages ----

  onMessage(conn: OpenFlowChannel, msg: OfpMessage, raw: Buffer): void {
    const session = this.sessions.get(conn);
    if (session === undefined) return;
    try {
      handleRequest(this, conn, session, msg);
    } catch (e) {
      const err =
        e instanceof OfpError
          ? e
          : OfpError.badRequest(OFPBRC.EPERM, e instanceof Error ? e.message : String(e));
      if (!(e instanceof OfpError))
        this.limited.error({ err: e, type: msg.type }, "handler failed");
      this.log.debug(
        { controller: conn.label, error: err.message, xid: msg.xid },
        "request refused",
      );
      this.stats.errorsSent++;
      conn.sendError(err.hasMessage ? err : err.withData(raw), msg.xid);
    }
  }
}
