// The datapath's own action model, compiled once into a flat Int32Array program, and an
// executor that runs a program over a frame without allocating: rewrites go into one scratch
// copy of the frame (so the caller's bytes stay untouched), outputs hand the bytes as they are
// at that point to an ActionTarget (the Datapath), which owns ports, flooding, the controller
// and NORMAL. The switch translates OpenFlow actions into DatapathActions (src/switch).
import { PacketLayout, VLAN_TAG_LEN } from "../packet/parse.js";
import { setMac, setNwAddr, setNwTos, setTpPort, setVlanTci, stripVlan } from "./rewrite.js";
import { copyBytes } from "./copy-bytes.js";

/**
 * Port numbers are below this; numbers at or above it name no port (an input "port" such as
 * a packet_out's from the controller: passed through to the lookup and callbacks, never
 * learned). Equal to OpenFlow 1.0's OFPP_MAX, so the switch uses OpenFlow port numbers as they are.
 */
export const PORT_NO_LIMIT = 0xff00;

/** The input "port" of a frame that came from no port (Datapath.execute's default). */
export const NO_PORT = 0xffff;

/**
 * What the datapath can do with a frame. Outputs send the frame as the rewrites before them
 * left it; rewrites of fields a frame does not have (nw_* of a non-IPv4 frame) do nothing.
 */
export type DatapathAction =
  /** To port `port`; never back out of the input port (that is "in-port"). */
  | { readonly kind: "output"; readonly port: number }
  /** Back out of the input port. */
  | { readonly kind: "in-port" }
  /** Every port but the input one and those flagged noFlood. */
  | { readonly kind: "flood" }
  /** Every port but the input one. */
  | { readonly kind: "all" }
  /** To the controller, at most `maxLen` bytes of it (the switch decides what that means). */
  | { readonly kind: "controller"; readonly maxLen: number }
  /** The local port: there is none, so it is counted as a drop. */
  | { readonly kind: "local" }
  /** Forwarding by MAC learning, as a standalone switch would. */
  | { readonly kind: "normal" }
  /** Through the flow table again: only where a program is run on its own (Datapath.execute). */
  | { readonly kind: "table" }
  | { readonly kind: "set-dl-src" | "set-dl-dst"; readonly mac: string }
  /** Sets the 802.1Q VID (a tag is pushed, PCP 0, on an untagged frame). */
  | { readonly kind: "set-vlan-vid"; readonly vid: number }
  /** Sets the 802.1Q PCP (a tag is pushed, VID 0, on an untagged frame). */
  | { readonly kind: "set-vlan-pcp"; readonly pcp: number }
  | { readonly kind: "strip-vlan" }
  /** IPv4 addresses as unsigned 32-bit numbers. */
  | { readonly kind: "set-nw-src" | "set-nw-dst"; readonly addr: number }
  /** The DSCP bits of the IPv4 TOS byte (the ECN bits are kept). */
  | { readonly kind: "set-nw-tos"; readonly tos: number }
  | { readonly kind: "set-tp-src" | "set-tp-dst"; readonly port: number };

/** What the executor needs from its owner; every method gets the frame as it is now. */
export interface ActionTarget {
  /** Output to a port (port config, MTU and checksum fix-ups are the target's job). */
  outputPort(
    port: number,
    frame: Buffer,
    length: number,
    layout: PacketLayout,
    inPort: number,
  ): void;
  /** "flood" (all: false) or "all" (all: true): every port but the input one. */
  flood(frame: Buffer, length: number, layout: PacketLayout, inPort: number, all: boolean): void;
  toController(frame: Buffer, length: number, inPort: number, maxLen: number): void;
  normal(frame: Buffer, length: number, layout: PacketLayout, inPort: number): void;
  /** "table": run the frame through the flow table (meaningful for Datapath.execute only). */
  table(frame: Buffer, length: number, inPort: number): void;
  /** "local": there is no local port, so the target counts it as a drop. */
  local(): void;
}

// Output instructions come first, so "op < FIRST_REWRITE" tells an output from a rewrite.
const OP = {
  OUTPUT: 1,
  IN_PORT: 2,
  FLOOD: 3,
  ALL: 4,
  CONTROLLER: 5,
  NORMAL: 6,
  TABLE: 7,
  LOCAL: 8,
  SET_VLAN_TCI: 16,
  STRIP_VLAN: 17,
  SET_DL: 18,
  SET_NW_ADDR: 19,
  SET_NW_TOS: 20,
  SET_TP: 21,
} as const;
const FIRST_REWRITE = OP.SET_VLAN_TCI;
const STRIDE = 4;

/**
 * A compiled action list: `code` holds STRIDE int32 slots per instruction. Immutable; a flow
 * entry caches its own in `entry.compiled`, which its owner clears when the actions change.
 */
export class CompiledActions {
  constructor(
    readonly code: Int32Array,
    /** True when some instruction rewrites the frame (so execution needs the scratch copy). */
    readonly modifies: boolean,
  ) {}
}

function macWords(mac: string): [number, number] {
  const b = mac.split(":").map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((v) => !(v >= 0 && v <= 255))) throw new Error(`bad MAC ${mac}`);
  return [(b[0] << 8) | b[1], (b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]];
}

function put(code: Int32Array, at: number, op: number, a = 0, b = 0, c = 0): void {
  code[at] = op;
  code[at + 1] = a;
  code[at + 2] = b;
  code[at + 3] = c;
}

/** Writes the one instruction for `act` at `at`. */
function encode(act: DatapathAction, code: Int32Array, at: number): void {
  switch (act.kind) {
    case "output":
      return put(code, at, OP.OUTPUT, act.port);
    case "in-port":
      return put(code, at, OP.IN_PORT);
    case "flood":
      return put(code, at, OP.FLOOD);
    case "all":
      return put(code, at, OP.ALL);
    case "controller":
      return put(code, at, OP.CONTROLLER, act.maxLen);
    case "normal":
      return put(code, at, OP.NORMAL);
    case "table":
      return put(code, at, OP.TABLE);
    case "local":
      return put(code, at, OP.LOCAL);
    case "set-vlan-vid":
      return put(code, at, OP.SET_VLAN_TCI, 0x0fff, act.vid & 0x0fff);
    case "set-vlan-pcp":
      return put(code, at, OP.SET_VLAN_TCI, 0xe000, (act.pcp & 7) << 13);
    case "strip-vlan":
      return put(code, at, OP.STRIP_VLAN);
    case "set-dl-src":
    case "set-dl-dst": {
      const [hi, lo] = macWords(act.mac);
      return put(code, at, OP.SET_DL, act.kind === "set-dl-src" ? 6 : 0, hi, lo);
    }
    case "set-nw-src":
    case "set-nw-dst":
      return put(code, at, OP.SET_NW_ADDR, act.kind === "set-nw-src" ? 12 : 16, act.addr | 0);
    case "set-nw-tos":
      return put(code, at, OP.SET_NW_TOS, act.tos);
    case "set-tp-src":
    case "set-tp-dst":
      return put(code, at, OP.SET_TP, act.kind === "set-tp-src" ? 0 : 2, act.port & 0xffff);
    default:
      throw new Error(`unknown datapath action ${(act as { kind: string }).kind}`);
  }
}

/**
 * Compiles `actions` once (one instruction each); the result is immutable and may be shared
 * by many packets. Also run per packet_out, so it allocates only the program.
 */
export function compileActions(actions: readonly DatapathAction[]): CompiledActions {
  const code = new Int32Array(actions.length * STRIDE);
  let modifies = false;
  for (let i = 0; i < actions.length; i++) {
    encode(actions[i], code, i * STRIDE);
    if (code[i * STRIDE] >= FIRST_REWRITE) modifies = true;
  }
  return new CompiledActions(code, modifies);
}

/** Largest frame the executor accepts for rewriting (a 64 KiB GSO frame plus a pushed tag). */
export const MAX_FRAME = 65535 + 64;

function copyLayout(dst: PacketLayout, src: PacketLayout): void {
  dst.vlanOffset = src.vlanOffset;
  dst.ethTypeOffset = src.ethTypeOffset;
  dst.l3Offset = src.l3Offset;
  dst.ipv4 = src.ipv4;
  dst.ipv6 = src.ipv6;
  dst.l3End = src.l3End;
  dst.l4Offset = src.l4Offset;
  dst.l4 = src.l4;
  dst.payloadOffset = src.payloadOffset;
  dst.laterFragment = src.laterFragment;
}

/**
 * Runs compiled programs. Holds one scratch frame and layout, so one executor must not be
 * re-entered while it runs (the Datapath keeps a second one for packet_out).
 */
export class ActionExecutor {
  private readonly scratch = Buffer.alloc(MAX_FRAME);
  private readonly scratchLayout = new PacketLayout();
  /** Frames too large to rewrite (never happens with pcap's 64 KiB snaplen). */
  oversizeDrops = 0;

  constructor(private readonly target: ActionTarget) {}

  execute(
    prog: CompiledActions,
    frame: Buffer,
    length: number,
    layout: PacketLayout,
    inPort: number,
  ): void {
    const code = prog.code;
    const t = this.target;
    let buf = frame;
    let len = length;
    let lay = layout;
    if (prog.modifies) {
      if (length + VLAN_TAG_LEN > MAX_FRAME) {
        this.oversizeDrops++;
        return;
      }
      // Lazily copied at the first rewrite so an output-only prefix sends the original.
      let copied = false;
      for (let i = 0; i < code.length; i += STRIDE) {
        const op = code[i];
        if (op >= FIRST_REWRITE && !copied) {
          copyBytes(this.scratch, 0, frame, 0, length);
          copyLayout(this.scratchLayout, layout);
          buf = this.scratch;
          lay = this.scratchLayout;
          copied = true;
        }
        len = this.step(op, code, i, buf, len, lay, inPort, t);
      }
      return;
    }
    for (let i = 0; i < code.length; i += STRIDE)
      this.output(code[i], code[i + 1], buf, len, lay, inPort, t);
  }

  private step(
    op: number,
    code: Int32Array,
    i: number,
    buf: Buffer,
    len: number,
    lay: PacketLayout,
    inPort: number,
    t: ActionTarget,
  ): number {
    if (op < FIRST_REWRITE) {
      this.output(op, code[i + 1], buf, len, lay, inPort, t);
      return len;
    }
    switch (op) {
      case OP.SET_VLAN_TCI:
        return setVlanTci(buf, len, lay, code[i + 1], code[i + 2]);
      case OP.STRIP_VLAN:
        return stripVlan(buf, len, lay);
      case OP.SET_DL:
        if (len >= 12) setMac(buf, code[i + 1], code[i + 2], code[i + 3] >>> 0);
        return len;
      case OP.SET_NW_ADDR:
        setNwAddr(buf, lay, code[i + 1], code[i + 2] >>> 0);
        return len;
      case OP.SET_NW_TOS:
        setNwTos(buf, lay, code[i + 1]);
        return len;
      case OP.SET_TP:
        setTpPort(buf, lay, code[i + 1], code[i + 2]);
        return len;
      default:
        return len;
    }
  }

  private output(
    op: number,
    arg: number,
    buf: Buffer,
    len: number,
    lay: PacketLayout,
    inPort: number,
    t: ActionTarget,
  ): void {
    switch (op) {
      case OP.OUTPUT:
        if (arg !== inPort) t.outputPort(arg, buf, len, lay, inPort);
        break;
      case OP.IN_PORT:
        t.outputPort(inPort, buf, len, lay, inPort);
        break;
      case OP.FLOOD:
        t.flood(buf, len, lay, inPort, false);
        break;
      case OP.ALL:
        t.flood(buf, len, lay, inPort, true);
        break;
      case OP.CONTROLLER:
        t.toController(buf, len, inPort, arg);
        break;
      case OP.NORMAL:
        t.normal(buf, len, lay, inPort);
        break;
      case OP.TABLE:
        t.table(buf, len, inPort);
        break;
      case OP.LOCAL:
        t.local();
        break;
    }
  }
}
