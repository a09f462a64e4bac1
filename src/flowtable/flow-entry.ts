// One flow table entry. `A` is the owner's action list, opaque to the table: the switch keeps its
// OpenFlow actions there, the datapath caches its compiled form of them in `compiled`. The
// datapath bumps counters through FlowTable.recordHit; everything below "classifier bookkeeping"
// belongs to the flow table.
import type { RuleMatch } from "./rule-match.js";

/** What an entry is made from (FlowTable.add). */
export interface NewRule<A> {
  match: RuleMatch;
  /** Higher wins among overlapping non-exact rules. Exact rules keep it, unranked. */
  priority: number;
  cookie: bigint;
  /** Seconds without a hit, and seconds since creation, before the entry expires (0: never). */
  idleTimeout: number;
  hardTimeout: number;
  actions: A;
  /** The owner wants to hear of the entry's removal (the table just keeps the wish). */
  sendFlowRemoved?: boolean;
  /** Refuse the rule if an entry of the same priority could match a packet it matches. */
  checkOverlap?: boolean;
  /** Goes to the emergency table (no timeouts allowed there). */
  emergency?: boolean;
}

export class FlowEntry<A> {
  /** As given; exact entries keep it although they beat every non-exact entry. */
  readonly priority: number;
  readonly exact: boolean;
  readonly emergency: boolean;
  readonly sendFlowRemoved: boolean;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  cookie: bigint;
  actions: A;
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
  bucketNext: FlowEntry<A> | undefined = undefined;
  /** Neighbours among the same subtable's entries of equal priority, in seq order. */
  prioPrev: FlowEntry<A> | undefined = undefined;
  prioNext: FlowEntry<A> | undefined = undefined;
  /** When the expiry heap next looks at this entry; Infinity when it has no timeout. */
  deadlineMs = Infinity;
  heapIndex = -1;
  removed = false;

  constructor(rule: NewRule<A>, seq: number, nowMs: number) {
    this.mask = rule.match.mask;
    this.value = rule.match.value;
    this.exact = rule.match.exact;
    this.priority = rule.priority;
    this.cookie = rule.cookie;
    this.idleTimeout = rule.idleTimeout;
    this.hardTimeout = rule.hardTimeout;
    this.sendFlowRemoved = rule.sendFlowRemoved === true;
    this.actions = rule.actions;
    this.emergency = rule.emergency === true;
    this.seq = seq;
    this.createdMs = nowMs;
    this.lastUsedMs = nowMs;
  }

  /** Replaces the actions (a modify) and drops the datapath's compiled form of the old ones. */
  setActions(actions: A): void {
    this.actions = actions;
    this.compiled = undefined;
  }

  /** Milliseconds since the entry was added (never negative). */
  ageMs(nowMs: number): number {
    return Math.max(0, nowMs - this.createdMs);
  }
}
