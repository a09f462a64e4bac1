// A small first-match flow lookup for datapath tests and benchmarks (the real classifier lives
// in src/flowtable): each rule names the key fields it requires, the rest are wildcards, and
// carries its actions in the datapath's own model.
import type { DatapathAction } from "../../src/datapath/actions.js";
import type { FlowLookup } from "../../src/datapath/datapath.js";
import type { FlowKey } from "../../src/packet/flow-key.js";

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
    private acts: readonly DatapathAction[],
  ) {}

  get actions(): readonly DatapathAction[] {
    return this.acts;
  }

  /** Replaces the actions and drops the compiled form, as FlowEntry.setActions does. */
  setActions(actions: readonly DatapathAction[]): void {
    this.acts = actions;
    this.compiled = undefined;
  }

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

/** DatapathOptions.actionsOf for rules. */
export const ruleActions = (r: Rule): readonly DatapathAction[] => r.actions;

export class RuleLookup implements FlowLookup<Rule> {
  readonly rules: Rule[] = [];

  add(match: RuleMatch, actions: readonly DatapathAction[]): Rule {
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
