// Version negotiation (OpenFlow 1.0 §5.5.1, 1.3.1 §7.5.1): each side sends HELLO with its
// highest version, and from OpenFlow 1.3.1 on may list every version it speaks in a bitmap
// element; the session runs the highest version both list, or failing a bitmap, the lower of the
// two highest versions, provided we speak it. Only 1.0 is spoken today; a second version joins by
// being added to the list a channel offers.
import { OFP_VERSION, OFPT } from "../openflow/of10/constants.js";
import type { MessageOf } from "../openflow/of10/messages.js";

type Hello = MessageOf<typeof OFPT.HELLO>;

/** OFPHET_VERSIONBITMAP: the hello element that lists the sender's versions. */
const HELLO_ELEM_VERSIONBITMAP = 1;

/** The versions this build speaks, lowest first. */
export const SUPPORTED_VERSIONS: readonly number[] = [OFP_VERSION];

/** "1.0" for 0x01, "1.3" for 0x04: the version numbers' names. */
export function versionName(version: number): string {
  const names: Record<number, string> = {
    1: "1.0",
    2: "1.1",
    3: "1.2",
    4: "1.3",
    5: "1.4",
    6: "1.5",
  };
  return names[version] ?? `0x${version.toString(16)}`;
}

/** The versions listed in `hello`'s bitmap element, or null when it has none. */
export function helloBitmap(hello: Hello): number[] | null {
  const body = hello.body;
  for (let off = 0; off + 4 <= body.length;) {
    const type = body.readUInt16BE(off);
    const len = body.readUInt16BE(off + 2);
    if (len < 4 || off + len > body.length) break;
    if (type === HELLO_ELEM_VERSIONBITMAP && len >= 8) {
      const versions: number[] = [];
      for (let w = 0; off + 4 + 4 * w + 4 <= off + len; w++) {
        const bits = body.readUInt32BE(off + 4 + 4 * w);
        for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) versions.push(32 * w + b);
      }
      return versions;
    }
    off += (len + 7) & ~7;
  }
  return null;
}

/** The version both sides speak (the highest one), or null when there is none. */
export function negotiateVersion(
  hello: Hello,
  ours: readonly number[] = SUPPORTED_VERSIONS,
): number | null {
  const theirs = helloBitmap(hello);
  let best: number | null = null;
  for (const v of ours) {
    const common = theirs === null ? v <= hello.version : theirs.includes(v);
    if (common && (best === null || v > best)) best = v;
  }
  return best;
}

/** The peer's HELLO allows OpenFlow 1.0. */
export function helloAcceptsV1(hello: Hello): boolean {
  return negotiateVersion(hello, [OFP_VERSION]) === OFP_VERSION;
}

/** The HELLO we send: our highest version, and with more than one version a bitmap element
 * listing them (OF1.3.1 §7.5.1), so that a peer can pick a lower one we speak. */
export function helloFor(xid: number, ours: readonly number[] = SUPPORTED_VERSIONS): Hello {
  const version = Math.max(...ours);
  if (ours.length < 2) return { type: OFPT.HELLO, xid, version, body: Buffer.alloc(0) };
  const words = Math.floor(version / 32) + 1;
  const len = 4 + 4 * words;
  const body = Buffer.alloc((len + 7) & ~7); // elements are padded to 8 bytes
  body.writeUInt16BE(HELLO_ELEM_VERSIONBITMAP, 0);
  body.writeUInt16BE(len, 2);
  for (const v of ours) {
    const off = 4 + 4 * Math.floor(v / 32);
    body.writeUInt32BE((body.readUInt32BE(off) | (1 << (v % 32))) >>> 0, off);
  }
  return { type: OFPT.HELLO, xid, version, body };
}
