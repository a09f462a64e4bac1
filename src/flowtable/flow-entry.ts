// One flow table entry. The datapath reads `actions` / `compiled` and bumps counters through
// FlowTable.recordHit; everything below "classifier bookkeeping" belongs to the flow table.
import { OFPAT } from "../openflow/of10/constants.js";
import type { Action, FlowRemoved, FlowStats, Match } from "../openflow/of10/types.js";
import type { MatchWords } from "./match-words.js";

export class FlowEntry {
  /** The match as normalised (what flow stats and FLOW_REMOVED report). */
  readonly match: Match;
  /** As sent by the controller; exact entries keep it although they beat every wildcard entry. */
  readonly priority: number;
  readonly exact: boolean;
  readonly emergency: boolean;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly flags: number;
  cookie: bigint;
  actions: readonly Action[];
  /** The datapath's pre-compiled form of `actions`; reset to undefined whenever they change. */
  compiled: unknown = undefined;
  packets = 0;
  bytes = 0;
  readonly createdMs: number;
  lastUsedMs: number;

  // ---- classifier bookkeeping ----
  readonly mask: Int32Array;
  readonly value: Int32Array;
  /** Insertion order: among equal-priority overlapping wildcard entries the lowest seq wins. */
  readonly seq: number;
  /** Next lower-priority entry with the same mask and masked value (wildcard subtables). */
  bucketNext: FlowEntry | undefined = undefined;
  /** Neighbours among the same subtable's entries of equal priority, in seq order. */
  prioPrev: FlowEntry | undefined = undefined;
  prioNext: FlowEntry | undefined = undefined;
  /** When the expiry heap next looks at this entry; Infinity when it has no timeout. */
  deadlineMs = Infinity;
  heapIndex = -1;
  removed = false;

  constructor(
    words: MatchWords,
    priority: number,
    cookie: bigint,
    idleTimeout: number,
    hardTimeout: number,
    flags: number,
    actions: readonly Action[],
    emergency: boolean,
    seq: number,
    nowMs: number,
  ) {
    this.match = words.match;
    this.mask = words.mask;
    this.value = words.value;
    this.exact = words.exact;
    this.priority = priority;
    this.cookie = cookie;
    this.idleTimeout = idleTimeout;
    this.hardTimeout = hardTimeout;
    this.flags = flags;
    this.actions = actions;
    this.emergency = emergency;
    this.seq = seq;
    this.createdMs = nowMs;
    this.lastUsedMs = nowMs;
  }

  /** Replaces the actions (MODIFY) and drops the datapath's compiled form of the old ones. */
  setActions(actions: readonly Action[]): void {
    this.actions = actions;
    this.compiled = undefined;
  }

  /** Has an OUTPUT (or ENQUEUE) action to `port` — the OF1.0 out_port filter. */
  outputsTo(port: number): boolean {
    for (const a of this.actions) {
      if ((a.type === OFPAT.OUTPUT || a.type === OFPAT.ENQUEUE) && a.port === port) return true;
    }
    return false;
  }

  durationAt(nowMs: number): { durationSec: number; durationNsec: number } {
    const ms = Math.max(0, nowMs - this.createdMs);
    const durationSec = Math.floor(ms / 1000);
    const durationNsec = Math.min(999_999_999, Math.round((ms - durationSec * 1000) * 1e6));
    return { durationSec, durationNsec };
  }

  /**
   * The entry as flow stats. `shared`: the match and actions are the entry's own (not copies),
   * for a reply encoded at once (a large dump then makes less garbage); the caller must not
   * change them.
   */
  toFlowStats(tableId: number, nowMs: number, shared = false): FlowStats {
    return {
      tableId,
      match: shared ? this.match : { ...this.match },
      ...this.durationAt(nowMs),
      priority: this.priority,
      idleTimeout: this.idleTimeout,
      hardTimeout: this.hardTimeout,
      cookie: this.cookie,
      packetCount: BigInt(this.packets),
      byteCount: BigInt(this.bytes),
      actions: shared ? (this.actions as Action[]) : [...this.actions],
    };
  }

  toFlowRemoved(reason: number, nowMs: number): FlowRemoved {
    return {
      match: { ...this.match },
      cookie: this.cookie,
      priority: this.priority,
      reason,
      ...this.durationAt(nowMs),
      idleTimeout: this.idleTimeout,
      packetCount: BigInt(this.packets),
      byteCount: BigInt(this.bytes),
    };
  }
}
