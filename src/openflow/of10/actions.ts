// OF1.0 action lists: encode, decode and validate the length and layout of each action.
import { OFPAT, OFPBAC } from "./constants.js";
import { OfpError } from "./errors.js";
import { readInto, writeStruct, type Layout } from "../layout.js";
import {
  ACTION_DL_ADDR,
  ACTION_ENQUEUE,
  ACTION_HEADER,
  ACTION_NW_ADDR,
  ACTION_NW_TOS,
  ACTION_OUTPUT,
  ACTION_TP_PORT,
  ACTION_VENDOR_HEADER,
  ACTION_VLAN_PCP,
  ACTION_VLAN_VID,
} from "./structs.js";
import type { Action } from "./types.js";

/** Each fixed-size action's layout, indexed by OFPAT (VENDOR is variable and handled apart). */
const ACTION_LAYOUTS: readonly Layout<object>[] = [
  ACTION_OUTPUT, // OUTPUT
  ACTION_VLAN_VID, // SET_VLAN_VID
  ACTION_VLAN_PCP, // SET_VLAN_PCP
  ACTION_HEADER, // STRIP_VLAN
  ACTION_DL_ADDR, // SET_DL_SRC
  ACTION_DL_ADDR, // SET_DL_DST
  ACTION_NW_ADDR, // SET_NW_SRC
  ACTION_NW_ADDR, // SET_NW_DST
  ACTION_NW_TOS, // SET_NW_TOS
  ACTION_TP_PORT, // SET_TP_SRC
  ACTION_TP_PORT, // SET_TP_DST
  ACTION_ENQUEUE, // ENQUEUE
];

/** Encoded length of one action. */
export function actionLength(a: Action): number {
  if (a.type === OFPAT.VENDOR) return ACTION_VENDOR_HEADER.size + a.body.length;
  const layout = ACTION_LAYOUTS[a.type];
  if (layout === undefined) throw new RangeError(`unknown action type ${(a as Action).type}`);
  return layout.size;
}

/** Encoded length of an action list. */
export function actionsLength(actions: readonly Action[]): number {
  let n = 0;
  for (let i = 0; i < actions.length; i++) n += actionLength(actions[i]);
  return n;
}

/** Writes the list at buf[off]; returns the offset after it. */
export function encodeActionsInto(actions: readonly Action[], buf: Buffer, off: number): number {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    const len = actionLength(a);
    buf.writeUInt16BE(a.type, off);
    buf.writeUInt16BE(len, off + 2);
    if (a.type === OFPAT.VENDOR) {
      if (a.body.length % 8 !== 0)
        throw new RangeError("vendor action body must be a multiple of 8 bytes");
      writeStruct(ACTION_VENDOR_HEADER, a, buf, off);
      a.body.copy(buf, off + ACTION_VENDOR_HEADER.size);
    } else {
      writeStruct(ACTION_LAYOUTS[a.type], a, buf, off);
    }
    off += len;
  }
  return off;
}

export function encodeActions(actions: readonly Action[]): Buffer {
  const b = Buffer.allocUnsafe(actionsLength(actions));
  encodeActionsInto(actions, b, 0);
  return b;
}

/** The action list in buf[off, off+len). Strict, as OpenFlow wants: an action whose length is
 * zero, not a multiple of 8, or runs past the list, or is wrong for its known type, is
 * BAD_ACTION/BAD_LEN; an unknown type is BAD_ACTION/BAD_TYPE. */
export function decodeActions(buf: Buffer, off = 0, len = buf.length - off): Action[] {
  const end = off + len;
  if (off < 0 || len < 0 || end > buf.length) {
    throw OfpError.badAction(OFPBAC.BAD_LEN, "action list runs past the message");
  }
  const actions: Action[] = [];
  while (off < end) {
    if (end - off < ACTION_HEADER.size) {
      throw OfpError.badAction(OFPBAC.BAD_LEN, `${end - off} stray bytes after the last action`);
    }
    const type = buf.readUInt16BE(off);
    const alen = buf.readUInt16BE(off + 2);
    if (alen === 0 || alen % 8 !== 0 || alen > end - off) {
      throw OfpError.badAction(OFPBAC.BAD_LEN, `action type ${type} has length ${alen}`);
    }
    if (type === OFPAT.VENDOR) {
      const body = Buffer.from(buf.subarray(off + ACTION_VENDOR_HEADER.size, off + alen));
      actions.push(readInto(ACTION_VENDOR_HEADER, buf, off, { type, vendor: 0, body }) as Action);
    } else {
      const layout = ACTION_LAYOUTS[type];
      if (layout === undefined) throw OfpError.badAction(OFPBAC.BAD_TYPE, `action type ${type}`);
      if (alen !== layout.size) {
        throw OfpError.badAction(OFPBAC.BAD_LEN, `${layout.name} with length ${alen}`);
      }
      actions.push(readInto(layout, buf, off, { type }) as Action);
    }
    off += alen;
  }
  return actions;
}
