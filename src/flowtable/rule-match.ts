// A rule's match in the flow table's own terms: a mask and a value over the nine words of a
// FlowKey (packet/flow-key.ts). A packet key matches when (key[i] & mask[i]) === value[i] for all
// nine words. Words are int32 (Int32Array) so that `key & mask` (always int32 in JS) compares with
// stored words without uint32/double mixing. What the fields mean, and which combinations a
// protocol allows, is the switch's business (src/switch/flow-match.ts builds these for OF1.0).
import { FLOW_KEY_WORDS } from "../packet/flow-key.js";

/** The two ECN bits of the ToS byte (low bits of key word 4): no rule matches on them. */
const ECN_BITS = 0x03;

/**
 * The mask of an exact rule: every key bit a rule can match. Exact rules take precedence over
 * every other rule, whatever their priority (OF1.0 §3.4). Shared by all of them; never written.
 */
export const EXACT_MASK: Int32Array = Int32Array.from([-1, -1, -1, -1, ~ECN_BITS, -1, -1, -1, -1]);

export interface RuleMatch {
  readonly mask: Int32Array;
  /** No bit outside `mask` is set. */
  readonly value: Int32Array;
  /** `mask` is EXACT_MASK (the very array). */
  readonly exact: boolean;
}

/**
 * The match with this mask and value. Takes both arrays over (they are not copied): bits of
 * `value` outside `mask` are cleared, and a mask equal to EXACT_MASK is replaced by it, so exact
 * rules share one mask array.
 */
export function ruleMatch(mask: Int32Array, value: Int32Array): RuleMatch {
  if (mask.length !== FLOW_KEY_WORDS || value.length !== FLOW_KEY_WORDS) {
    throw new RangeError(`a rule match has ${FLOW_KEY_WORDS} mask and value words`);
  }
  const exact = sameWords(mask, EXACT_MASK);
  const m = exact ? EXACT_MASK : mask;
  for (let i = 0; i < FLOW_KEY_WORDS; i++) value[i] &= m[i];
  return { mask: m, value, exact };
}

/** Every packet `entry` matches is also matched by `request` (a loose selection). */
export function covers(
  reqMask: Int32Array,
  reqValue: Int32Array,
  mask: Int32Array,
  value: Int32Array,
): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    if ((reqMask[i] & ~mask[i]) !== 0 || (value[i] & reqMask[i]) !== reqValue[i]) return false;
  }
  return true;
}

/** Some packet can match both (mask, value) pairs. */
export function overlaps(
  maskA: Int32Array,
  valueA: Int32Array,
  maskB: Int32Array,
  valueB: Int32Array,
): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    const common = maskA[i] & maskB[i];
    if ((valueA[i] & common) !== (valueB[i] & common)) return false;
  }
  return true;
}

export function sameWords(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}
