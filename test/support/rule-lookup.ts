// A small first-match flow lookup for datapath tests and benchmarks (the real classifier lives
// in src/flowtable): each rule names the key fields it requires, the rest are wildcards.
import type { Action } from "../../src/openflow/of10/types.js";
import type { FlowKey } from "../../src/packet/flow-key.js";
import type { FlowLookup } from "../../src/datapath/datapath.js";

export interface RuleMatch {
  inPort?: number;
  dlVlan?: number;
  dlVlanPcp?: number;
  dlType?: number;
  nwProto?: number;
  nwDst?: number;
  tpDst?: number;
}

export class Rule {
  compiled: unknown = undefined;
  packets = 0;
  bytes = 0;
  constructor(
    readonly match: RuleMatch,
    public actions: readonly Action[],
  ) {}

  matches(k: FlowKey): boolean {
    const m = this.match;
    return (
      (m.inPort === undefined || m.inPort === k.inPort) &&
      (m.dlVlan === undefined || m.dlVlan === k.dlVlan) &&
      (m.dlVlanPcp === undefined || m.dlVlanPcp === k.dlVlanPcp) &&
      (m.dlType === undefined || m.dlType === k.dlType) &&
      (m.nwProto === undefined || m.nwProto === k.nwProto) &&
      (m.nwDst === undefined || m.nwDst === k.nwDst) &&
      (m.tpDst === undefined || m.tpDst === k.tpDst)
    );
  }
}

export class RuleLookup implements FlowLookup<Rule> {
  readonly rules: Rule[] = [];

  add(match: RuleMatch, actions: readonly Action[]): Rule {
    const r = new Rule(match, actions);
    this.rules.push(r);
    return r;
  }

  lookup(key: FlowKey): Rule | undefined {
    for (const r of this.rules) if (r.matches(key)) return r;
    return undefined;
  }

  recordHit(entry: Rule, bytes: number): void {
    entry.packets++;
    entry.bytes += bytes;
  }
}
