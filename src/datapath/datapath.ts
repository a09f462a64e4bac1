// The datapath: ports + parser + a flow lookup + compiled actions. Per received frame:
// port config check -> parse into one preallocated key -> lookup -> run the entry's compiled
// actions (compiled lazily, cached in entry.compiled) or report a miss. It knows nothing of
// OpenFlow: its actions, port flags and port changes are its own (actions.ts, port.ts); the
// switch translates, gets misses, controller outputs and port changes through callbacks, and
// drives packet_out and port config through methods.
// A port whose interface vanishes is detached ("deleted"), not forgotten: it keeps its number
// and is attached again ("added", fresh config and counters) when an interface of that name
// returns.
import { FlowKey } from "../packet/flow-key.js";
import {
  ActionExecutor,
  CompiledActions,
  compileActions,
  NO_PORT,
  PORT_NO_LIMIT,
  type ActionTarget,
  type DatapathAction,
} from "./actions.js";
import { Egress, type EgressOptions } from "./egress.js";
import { MacLearningTable } from "./learning.js";
import { ETH_HEADER_LEN, PacketLayout, parseFrame } from "../packet/parse.js";
import {
  PORT_CONFIG,
  type Port,
  type PortChange,
  type PortInfo,
  type PortRefresh,
} from "./port.js";
import type { RxOffload } from "./vnet.js";

/**
 * What a flow table entry must offer: a slot where the Datapath caches the entry's compiled
 * actions. Its owner clears it (undefined) whenever the entry's actions change; src/flowtable's
 * FlowEntry does so in setActions.
 */
export interface FlowEntryLike {
  compiled: unknown;
}

export interface FlowLookup<E extends FlowEntryLike = FlowEntryLike> {
  lookup(key: FlowKey): E | undefined;
  recordHit(entry: E, bytes: number): void;
}

/** What the Datapath reports; the two reasons a frame goes to the controller are two callbacks. */
export interface DatapathCallbacks {
  /** Table miss (already suppressed for input ports flagged NO_PACKET_IN). */
  onMiss(frame: Buffer, length: number, inPort: number, key: FlowKey): void;
  /** A "controller" action, with its maxLen (already suppressed like a miss). */
  onController(frame: Buffer, length: number, inPort: number, maxLen: number): void;
  /**
   * A port was added with `announce`, its link state, MTU or speed changed ("modified"), its
   * interface vanished ("deleted"), or an interface of that name came back ("added").
   */
  onPortChange(change: PortChange, port: PortInfo): void;
}

/** Where the Datapath reports faults (pino's Logger is one). */
export interface DatapathLog {
  error(obj: object, msg: string): void;
}

export class DatapathStats {
  lookups = 0;
  matched = 0;
  missed = 0;
  /** Frames shorter than an Ethernet header. */
  runts = 0;
  /**
   * Exceptions thrown while handling a frame (from callbacks) or polling a port: counted and
   * logged (at most one line per FAULT_LOG_INTERVAL_MS), never propagated.
   */
  errors = 0;
  /** Output to a port number that does not exist. */
  noSuchPort = 0;
  /** "local" outputs: there is no local port. */
  localDrops = 0;
  /** "table" outputs in a flow's own actions (only Datapath.execute may resubmit). */
  tableDrops = 0;
  /** Misses and controller outputs suppressed by the input port's NO_PACKET_IN. */
  packetInSuppressed = 0;
  /** IPv4 fragments dropped while dropFragments is set. */
  fragmentDrops = 0;
}

export interface DatapathOptions<E extends FlowEntryLike> {
  lookup: FlowLookup<E>;
  /**
   * The actions of a flow entry in the datapath's model. Called when the entry has no compiled
   * program in `entry.compiled` (its first packet, or after its actions changed), not per packet.
   */
  actionsOf(entry: E): readonly DatapathAction[];
  callbacks: DatapathCallbacks;
  /** Seconds a learned MAC ("normal") lives without being seen. */
  macAgingSec?: number;
  egress?: EgressOptions;
  log?: DatapathLog;
}

/** At most one fault log line per this interval; the rest are counted in the next line. */
export const FAULT_LOG_INTERVAL_MS = 10_000;

/** Port flags that drop what a port receives, and what would be sent out of it. */
export const RX_BLOCKED = PORT_CONFIG.DOWN | PORT_CONFIG.NO_RECEIVE;
export const TX_BLOCKED = PORT_CONFIG.DOWN | PORT_CONFIG.NO_FORWARD;

/** Port flags that leave a port out of "flood" (all: false) or "all" (all: true). */
export function floodExcluded(all: boolean): number {
  return all ? TX_BLOCKED : TX_BLOCKED | PORT_CONFIG.NO_FLOOD;
}

export class Datapath<E extends FlowEntryLike = FlowEntryLike> implements ActionTarget {
  readonly stats = new DatapathStats();
  readonly egress: Egress;
  readonly macTable: MacLearningTable;
  /** Coarse clock in seconds for MAC aging, advanced by tick() (no per-packet clock reads). */
  now = Math.floor(performance.now() / 1000);
  private readonly byNo: (Port | undefined)[] = [];
  private readonly list: Port[] = [];
  /** Ports whose interface is gone, polled until it returns. */
  private readonly detached: Port[] = [];
  private readonly log: DatapathLog | undefined;
  private lastFaultLog = -Infinity;
  private faultsNotLogged = 0;
  /** Layout of the frame whose miss is being reported (valid inside onMiss). */
  private missLayout: PacketLayout | undefined;
  private readonly key = new FlowKey();
  private readonly layout = new PacketLayout();
  private readonly outKey = new FlowKey();
  private readonly outLayout = new PacketLayout();
  private readonly executor = new ActionExecutor(this);
  /** A second executor for execute(), whose "table" output re-enters the packet path. */
  private readonly outExecutor = new ActionExecutor(this);
  private inPacketOut = false;
  /** IPv4 fragments are dropped before the table lookup (the switch's OFPC_FRAG_DROP). */
  dropFragments = false;
  private monitor: ReturnType<typeof setInterval> | undefined;
  private readonly lookup: FlowLookup<E>;
  /** Where the entries' actions come from (kept as the object: its method is bivariant in E). */
  private readonly entries: Pick<DatapathOptions<E>, "actionsOf">;
  private readonly cb: DatapathCallbacks;
  private readonly onFrame = (frame: Buffer, length: number, port: Port) =>
    this.receive(port, frame, length);

  constructor(opts: DatapathOptions<E>) {
    this.lookup = opts.lookup;
    this.entries = opts;
    this.cb = opts.callbacks;
    this.log = opts.log;
    this.macTable = new MacLearningTable(4096, opts.macAgingSec ?? 300);
    this.egress = new Egress(opts.egress);
  }

  /** Adds and opens a port; `announce` reports it as "added". */
  addPort(port: Port, announce = false): void {
    if (port.portNo < 1 || port.portNo >= PORT_NO_LIMIT)
      throw new Error(`bad port number ${port.portNo}`);
    if (this.byNo[port.portNo] || this.detached.some((p) => p.portNo === port.portNo))
      throw new Error(`port ${port.portNo} already exists`);
    port.open(this.onFrame);
    this.byNo[port.portNo] = port;
    this.list.push(port);
    if (announce) this.cb.onPortChange("added", port.info());
  }

  /** Closes and forgets a port, attached or waiting for its interface. */
  removePort(portNo: number): Port | undefined {
    const at = this.detached.findIndex((p) => p.portNo === portNo);
    const port = at >= 0 ? this.detached.splice(at, 1)[0] : this.byNo[portNo];
    if (!port) return undefined;
    if (at < 0) this.detach(port);
    port.close();
    return port;
  }

  /** A port whose interface exists (not one waiting for its interface to return). */
  port(portNo: number): Port | undefined {
    return this.byNo[portNo];
  }

  ports(): readonly Port[] {
    return this.list;
  }

  /** Ports whose interface is gone; each keeps its number until the interface returns. */
  waitingPorts(): readonly Port[] {
    return this.detached;
  }

  private detach(port: Port): void {
    this.byNo[port.portNo] = undefined;
    this.list.splice(this.list.indexOf(port), 1);
    this.macTable.flushPort(port.portNo);
  }

  /** Puts a returning port back in port-number order, as a new port (config cleared). */
  private attach(port: Port): void {
    this.detached.splice(this.detached.indexOf(port), 1);
    port.config = 0;
    port.counters.reset();
    this.byNo[port.portNo] = port;
    const at = this.list.findIndex((p) => p.portNo > port.portNo);
    this.list.splice(at < 0 ? this.list.length : at, 0, port);
  }

  /**
   * Sets the PORT_CONFIG flags selected by `mask`; false when there is no such port. A change
   * of DOWN as the port shows it (its interface may be down already) sets the port's interface
   * down or up too (Port.setAdminUp), as Open vSwitch does; when the system refuses, DOWN stays
   * as it was, the other flags are set, and `onAdminError` gets the error. The flag is set
   * before the interface changes, in this one synchronous call: no frame slips through
   * between the request and the kernel's change.
   */
  setPortConfig(
    portNo: number,
    config: number,
    mask: number,
    onAdminError?: (err: unknown) => void,
  ): boolean {
    const port = this.byNo[portNo];
    if (!port) return false;
    const DOWN = PORT_CONFIG.DOWN;
    const before = port.config;
    const shownDown = (port.info().config & DOWN) !== 0;
    // The flags first: a frame handled while the interface changes already meets them.
    port.config = (before & ~mask) | (config & mask);
    const down = (port.config & DOWN) !== 0;
    if ((mask & DOWN) === 0 || down === shownDown || port.setAdminUp === undefined) return true;
    try {
      port.setAdminUp(!down);
    } catch (e) {
      port.config = (port.config & ~DOWN) | (before & DOWN);
      onAdminError?.(e);
    }
    return true;
  }

  /** The per-packet path for a frame received on `port`. */
  receive(port: Port, frame: Buffer, length: number): void {
    const cfg = port.config;
    if ((cfg & RX_BLOCKED) !== 0) {
      port.counters.rxDropped++;
      return;
    }
    if (length < ETH_HEADER_LEN) {
      this.stats.runts++;
      port.counters.rxFrameErr++;
      port.counters.rxErrors++;
      return;
    }
    try {
      this.pipeline(
        frame,
        length,
        port.portNo,
        this.key,
        this.layout,
        this.executor,
        port.rxOffload,
      );
    } catch (e) {
      this.fault(e, port, "receive");
    }
  }

  /** Counts a fault and logs it, at most once per FAULT_LOG_INTERVAL_MS. */
  private fault(err: unknown, port: Port, where: string): void {
    this.stats.errors++;
    const log = this.log;
    if (log === undefined) return;
    const now = performance.now();
    if (now - this.lastFaultLog < FAULT_LOG_INTERVAL_MS) {
      this.faultsNotLogged++;
      return;
    }
    log.error(
      { err, port: port.name, portNo: port.portNo, where, notLoggedSince: this.faultsNotLogged },
      "datapath fault (counted; the frame is dropped)",
    );
    this.lastFaultLog = now;
    this.faultsNotLogged = 0;
  }

  private pipeline(
    frame: Buffer,
    length: number,
    inPort: number,
    key: FlowKey,
    layout: PacketLayout,
    executor: ActionExecutor,
    rx: RxOffload | undefined,
  ): void {
    parseFrame(frame, length, inPort, key, layout);
    this.egress.setIngress(rx, layout);
    if (this.dropFragments && layout.ipv4) {
      const l3 = layout.l3Offset; // MF flag or a fragment offset: any fragment
      if (((frame[l3 + 6] & 0x3f) | frame[l3 + 7]) !== 0) {
        this.stats.fragmentDrops++;
        return;
      }
    }
    this.stats.lookups++;
    const entry = this.lookup.lookup(key);
    if (entry === undefined) {
      this.stats.missed++;
      if (this.packetInAllowed(inPort)) {
        this.missLayout = layout;
        try {
          this.cb.onMiss(frame, length, inPort, key);
        } finally {
          this.missLayout = undefined;
        }
      }
      return;
    }
    this.stats.matched++;
    this.lookup.recordHit(entry, length);
    let prog = entry.compiled;
    if (!(prog instanceof CompiledActions)) prog = entry.compiled = this.compile(entry);
    executor.execute(prog as CompiledActions, frame, length, layout, inPort);
  }

  private compile(entry: E): CompiledActions {
    return compileActions(this.entries.actionsOf(entry));
  }

  /** The entry's compiled actions (from its cache, filled if empty), e.g. for execute(). */
  compiledFor(entry: E): CompiledActions {
    const prog = entry.compiled;
    if (prog instanceof CompiledActions) return prog;
    return (entry.compiled = this.compile(entry));
  }

  private packetInAllowed(inPort: number): boolean {
    const p = this.byNo[inPort];
    if (p !== undefined && (p.config & PORT_CONFIG.NO_PACKET_IN) !== 0) {
      this.stats.packetInSuppressed++;
      return false;
    }
    return true;
  }

  /**
   * Forwards the frame whose miss is being reported (called from onMiss) by MAC learning, as
   * the "normal" action would, keeping its receive offload state: GSO frames (IPv6 ones too) and
   * partial checksums go out as the kernel handed them in. False outside onMiss.
   */
  forwardMissNormal(frame: Buffer, length: number, inPort: number): boolean {
    const layout = this.missLayout;
    if (layout === undefined) return false;
    this.normal(frame, length, layout, inPort);
    return true;
  }

  /**
   * Runs `actions` on `frame` as if received on `inPort` (the switch's packet_out; a number at
   * or above PORT_NO_LIMIT is a frame from no port). "table" in the list resubmits to the flow
   * table.
   */
  execute(
    actions: readonly DatapathAction[] | CompiledActions,
    frame: Buffer,
    length: number = frame.length,
    inPort: number = NO_PORT,
  ): void {
    const prog = actions instanceof CompiledActions ? actions : compileActions(actions);
    parseFrame(frame, length, inPort, this.outKey, this.outLayout);
    // A packet_out may run inside a frame handler: that frame's offload state comes back after.
    const eg = this.egress;
    const rx = eg.rx;
    const rxEthType = eg.rxEthTypeOffset;
    eg.setIngress(undefined, this.outLayout);
    this.inPacketOut = true;
    try {
      this.outExecutor.execute(prog, frame, length, this.outLayout, inPort);
    } finally {
      this.inPacketOut = false;
      eg.rx = rx;
      eg.rxEthTypeOffset = rxEthType;
    }
  }

  // ---- ActionTarget ----

  outputPort(portNo: number, frame: Buffer, length: number, layout: PacketLayout): void {
    const port = this.byNo[portNo];
    if (port === undefined) {
      this.stats.noSuchPort++;
      return;
    }
    if ((port.config & TX_BLOCKED) !== 0) {
      port.counters.txDropped++;
      return;
    }
    this.egress.transmit(port, frame, length, layout);
  }

  flood(frame: Buffer, length: number, layout: PacketLayout, inPort: number, all: boolean): void {
    const skip = floodExcluded(all);
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p.portNo === inPort || (p.config & skip) !== 0) continue;
      this.egress.transmit(p, frame, length, layout);
    }
  }

  toController(frame: Buffer, length: number, inPort: number, maxLen: number): void {
    if (this.packetInAllowed(inPort)) this.cb.onController(frame, length, inPort, maxLen);
  }

  normal(frame: Buffer, length: number, layout: PacketLayout, inPort: number): void {
    if ((frame[6] & 1) === 0 && inPort < PORT_NO_LIMIT)
      this.macTable.learn(frame, 6, inPort, this.now);
    if ((frame[0] & 1) !== 0) {
      this.flood(frame, length, layout, inPort, false);
      return;
    }
    const out = this.macTable.lookup(frame, 0, this.now);
    if (out < 0) this.flood(frame, length, layout, inPort, false);
    else if (out !== inPort) this.outputPort(out, frame, length, layout);
  }

  table(frame: Buffer, length: number, inPort: number): void {
    if (!this.inPacketOut) {
      this.stats.tableDrops++;
      return;
    }
    this.pipeline(frame, length, inPort, this.key, this.layout, this.executor, undefined);
  }

  local(): void {
    this.stats.localDrops++;
  }

  // ---- link state ----

  /**
   * Advances the coarse clock and polls every port's link state once: attached ports first,
   * then waiting ones, so an interface deleted and created again between two polls gives
   * DELETE then ADD in one tick.
   */
  tick(nowSec: number = Math.floor(performance.now() / 1000)): void {
    this.now = nowSec;
    for (const port of [...this.list]) this.poll(port);
    for (const port of [...this.detached]) this.poll(port);
  }

  private poll(port: Port): void {
    let r: PortRefresh;
    try {
      r = port.refresh();
    } catch (e) {
      this.fault(e, port, "link poll");
      return;
    }
    if (r === "changed") {
      const info = port.info();
      if (info.linkDown) this.macTable.flushPort(port.portNo);
      this.cb.onPortChange("modified", info);
    } else if (r === "bounced") {
      // Down and up again between two polls: both changes, as a poll between them would have
      // told them (and as Open vSwitch, whose netlink sees both).
      const info = port.info();
      this.macTable.flushPort(port.portNo);
      const down = { ...info, config: info.config | PORT_CONFIG.DOWN, linkDown: true };
      this.cb.onPortChange("modified", down);
      this.cb.onPortChange("modified", info);
    } else if (r === "gone" && this.byNo[port.portNo] === port) {
      this.detach(port);
      this.detached.push(port);
      this.cb.onPortChange("deleted", port.info());
    } else if (r === "back" && this.detached.includes(port)) {
      this.attach(port);
      this.cb.onPortChange("added", port.info());
    }
  }

  /**
   * Polls link state every `intervalMs` (250-500 ms notices changes within a second), and
   * ports that wait for their interface (Port.pollSoon) every `soonMs`.
   */
  startLinkMonitor(intervalMs = 300, soonMs = 50): void {
    this.stopLinkMonitor();
    const every = Math.max(1, Math.round(intervalMs / soonMs));
    let n = 0;
    this.monitor = setInterval(
      () => {
        if (++n % every === 0) this.tick();
        else this.pollWaiting();
      },
      Math.min(soonMs, intervalMs),
    );
    this.monitor.unref();
  }

  private pollWaiting(): void {
    for (const port of [...this.list, ...this.detached])
      if (port.pollSoon === true) this.poll(port);
  }

  stopLinkMonitor(): void {
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = undefined;
  }

  close(): void {
    this.stopLinkMonitor();
    for (const p of [...this.list, ...this.detached]) this.removePort(p.portNo);
  }
}
