// Wire layouts as data. A struct is declared once as a list of (name, kind, width) fields, in
// the order of the C struct in openflow.h; offsets and the C sizeof (end rounded up to the
// struct's alignment) are computed from it, and one generic reader/writer walks the list.
// Fields named "" (padding) are zeroed on write and ignored on read. `skip` fields (headers,
// type/length words) are documented in the layout but read and written by the caller, because
// their values come from context (message type, computed lengths) rather than from the object.
import { macToString, readFixedString, writeFixedString, writeMac } from "./wire.js";

const U8 = 0;
const U16 = 1;
const U32 = 2;
const U64 = 3;
const MAC = 4;
const STR = 5;
const PAD = 6;
const SKIP = 7;
const NESTED = 8;
const TAIL = 9;

export interface Spec<N extends string, V> {
  readonly name: N;
  readonly kind: number;
  readonly width: number;
  readonly align: number;
  readonly nested?: Layout<object>;
  /** What an unnamed (skipped or tail) field is, for offsetOf and docs. */
  readonly what?: string;
  /** Phantom: the field's value type. */
  readonly value?: V;
}

export function u8<N extends string>(name: N): Spec<N, number> {
  return { name, kind: U8, width: 1, align: 1 };
}
export function u16<N extends string>(name: N): Spec<N, number> {
  return { name, kind: U16, width: 2, align: 2 };
}
export function u32<N extends string>(name: N): Spec<N, number> {
  return { name, kind: U32, width: 4, align: 4 };
}
export function u64<N extends string>(name: N): Spec<N, bigint> {
  return { name, kind: U64, width: 8, align: 8 };
}
export function mac<N extends string>(name: N): Spec<N, string> {
  return { name, kind: MAC, width: 6, align: 1 };
}
/** A fixed-size char array: NUL-padded on write, NUL-terminated on read. */
export function str<N extends string>(name: N, width: number): Spec<N, string> {
  return { name, kind: STR, width, align: 1 };
}
export function pad(width: number): Spec<"", never> {
  return { name: "", kind: PAD, width, align: 1 };
}
/** A field the caller reads and writes itself (header, type, length); `align` as in C. */
export function skip(what: string, width: number, align = 1): Spec<"", never> {
  return { name: "", kind: SKIP, width, align, what };
}
export function nested<N extends string, V extends object>(name: N, layout: Layout<V>): Spec<N, V> {
  return { name, kind: NESTED, width: layout.size, align: layout.align, nested: layout };
}
/** Where a variable-length tail (data[0] in C) starts; no width. */
export function tail(what: string): Spec<"", never> {
  return { name: "", kind: TAIL, width: 0, align: 1, what };
}

type AnySpec = Spec<string, unknown>;
type ValueOfSpec<S> = S extends Spec<string, infer V> ? V : never;
export type StructValue<S extends readonly AnySpec[]> = {
  [E in S[number] as E["name"] extends "" ? never : E["name"]]: ValueOfSpec<E>;
};

interface Placed {
  readonly name: string;
  readonly kind: number;
  readonly width: number;
  readonly off: number;
  readonly nested: Layout<object> | undefined;
}

export interface Layout<V extends object> {
  /** The C struct's name, for messages and docs. */
  readonly name: string;
  /** sizeof in C: the end of the last field rounded up to the struct's alignment. */
  readonly size: number;
  readonly align: number;
  /** Where each field (named or skipped/tail, by its description) starts. */
  readonly offsetOf: Readonly<Record<string, number>>;
  readonly fields: readonly Placed[];
  /** Reader and writer compiled from `fields` (see compile()). */
  readonly read: (buf: Buffer, off: number, into: object) => object;
  readonly write: (value: object, buf: Buffer, off: number) => void;
  /** Phantom: the object type the layout reads and writes. */
  readonly value?: V;
}

export function struct<const S extends readonly AnySpec[]>(
  name: string,
  specs: S,
): Layout<StructValue<S>> {
  let off = 0;
  let align = 1;
  const fields: Placed[] = [];
  const offsetOf: Record<string, number> = {};
  for (const s of specs) {
    const label = s.name || s.what;
    if (label) offsetOf[label] = off;
    if (s.kind !== PAD && s.kind !== SKIP && s.kind !== TAIL) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s.name)) throw new Error(`bad field name ${s.name}`);
      fields.push({ name: s.name, kind: s.kind, width: s.width, off, nested: s.nested });
    } else if (s.kind === PAD) {
      fields.push({ name: "", kind: PAD, width: s.width, off, nested: undefined });
    }
    align = Math.max(align, s.align);
    off += s.width;
  }
  const size = Math.ceil(off / align) * align;
  return { name, size, align, offsetOf, fields, ...compile(fields) };
}

const HELPERS = { macToString, readFixedString, writeFixedString, writeMac };

/** Compiles the field list into straight-line reader and writer functions (one property
 * access and one Buffer call per field, no per-field dispatch), which is what makes the table-
 * driven layout as fast as hand-written code. Field names are checked identifiers from the
 * declarations in structs.ts, never wire data. */
function compile(fields: readonly Placed[]): Pick<Layout<object>, "read" | "write"> {
  const reads: string[] = [];
  const writes: string[] = [];
  const nested: Layout<object>[] = [];
  for (const f of fields) {
    const at = `off + ${f.off}`;
    const v = `o.${f.name}`;
    switch (f.kind) {
      case U8:
        reads.push(`${v} = buf[${at}];`);
        writes.push(`buf.writeUInt8(${v}, ${at});`);
        break;
      case U16:
        reads.push(`${v} = buf.readUInt16BE(${at});`);
        writes.push(`buf.writeUInt16BE(${v}, ${at});`);
        break;
      case U32:
        reads.push(`${v} = buf.readUInt32BE(${at});`);
        writes.push(`buf.writeUInt32BE(${v}, ${at});`);
        break;
      case U64:
        reads.push(`${v} = buf.readBigUInt64BE(${at});`);
        writes.push(`buf.writeBigUInt64BE(${v}, ${at});`);
        break;
      case MAC:
        reads.push(`${v} = h.macToString(buf, ${at});`);
        writes.push(`h.writeMac(buf, ${at}, ${v});`);
        break;
      case STR:
        reads.push(`${v} = h.readFixedString(buf, ${at}, ${f.width});`);
        writes.push(`h.writeFixedString(buf, ${at}, ${f.width}, ${v});`);
        break;
      case NESTED:
        nested.push(f.nested as Layout<object>);
        reads.push(`${v} = n[${nested.length - 1}].read(buf, ${at}, {});`);
        writes.push(`n[${nested.length - 1}].write(${v}, buf, ${at});`);
        break;
      default: // PAD
        for (let i = 0; i < f.width; i++) writes.push(`buf[off + ${f.off + i}] = 0;`);
        break;
    }
  }
  const read = new Function(
    "h",
    "n",
    `return function read(buf, off, o) { ${reads.join(" ")} return o; };`,
  );
  const write = new Function(
    "h",
    "n",
    `return function write(o, buf, off) { ${writes.join(" ")} };`,
  );
  return { read: read(HELPERS, nested), write: write(HELPERS, nested) };
}

/** Reads every named field of `layout` at buf[off] into `into`. The caller has checked that
 * layout.size bytes are there. */
export function readInto<V extends object, I extends object>(
  layout: Layout<V>,
  buf: Buffer,
  off: number,
  into: I,
): V & I {
  return layout.read(buf, off, into) as V & I;
}

export function readStruct<V extends object>(layout: Layout<V>, buf: Buffer, off: number): V {
  return layout.read(buf, off, {}) as V;
}

/** Writes every named field of `value` and zeroes the padding; skipped fields are left for
 * the caller. Out-of-range numbers throw RangeError (Buffer's own checks). */
export function writeStruct<V extends object>(
  layout: Layout<V>,
  value: V,
  buf: Buffer,
  off: number,
): void {
  layout.write(value, buf, off);
}
