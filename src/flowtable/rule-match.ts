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
  /** `mask` is EXACT_MASK (the very array): the rule sits in the exact table, unranked. */
  readonly exact: boolean;
}

/** EXACT_MASK's words in an array of their own: the mask of a rule that specifies every field
 * but ranks by its priority, in a subtable like any other (see rankedByPriority). Never written. */
const FULL_MASK: Int32Array = Int32Array.from(EXACT_MASK);

/**
 * `m` ranked by priority like any other rule: an exact match keeps its words but leaves the
 * exact table (it is then neither unranked nor strict-identical whatever the priority). For
 * OF1.0 as Open vSwitch implements it, only an entry of the highest priority is exact.
 */
export function rankedByPriority(m: RuleMatch): RuleMatch {
  return m.exact ? { mask: FULL_MASK, value: m.value, exact: false } : m;
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

/** Rules' words per slab (see packWords). */
const SLAB_RULES = 32;
let slab = new Int32Array(0);
let slabUsed = 0;

/**
 * Copies nine words into a slab shared with other rules' words and returns where: the slab is
 * `lastSlab()` and the words start at the index returned. An Int32Array of its own per rule cost
 * about 340 bytes for 36 bytes of words (its view, an ArrayBuffer object and a malloc'd backing
 * store: heap snapshot of 100,000 entries). Slabs are garbage collected once no rule of theirs is
 * left; a long-lived rule among short-lived ones keeps its slab of 32 alive (at worst about 1.2
 * KB a rule, for rules whose slab-mates all went).
 */
export function packWords(words: Int32Array): number {
  if (slabUsed + FLOW_KEY_WORDS > slab.length) {
    slab = new Int32Array(SLAB_RULES * FLOW_KEY_WORDS);
    slabUsed = 0;
  }
  const at = slabUsed;
  slab.set(words, at);
  slabUsed += FLOW_KEY_WORDS;
  return at;
}

/** The slab the last packWords wrote into. */
export function lastSlab(): Int32Array {
  return slab;
}

export function sameWords(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}
