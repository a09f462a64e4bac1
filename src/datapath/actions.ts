// OF1.0 action lists compiled once into a flat Int32Array program, and an executor that runs a
// program over a frame without allocating: rewrites go into one scratch copy of the frame
// (so the caller's bytes stay untouched), outputs hand the bytes as they are at that point
// to an ActionTarget (the Datapath), which owns ports, flooding, the controller and NORMAL.
import { OFPAT, OFPP } from "../openflow/of10/constants.js";
import type { Action } from "../openflow/of10/types.js";
import { PacketLayout, VLAN_TAG_LEN } from "../packet/parse.js";
import { setMac, setNwAddr, setNwTos, setTpPort, setVlanTci, stripVlan } from "./rewrite.js";

/** What the executor needs from its owner; every method gets the frame as it is now. */
export interface ActionTarget {
  /** Output to a physical port (port config, MTU and checksum fix-ups are the target's job). */
  outputPort(
    port: number,
    frame: Buffer,
    length: number,
    layout: PacketLayout,
    inPort: number,
  ): void;
  /** FLOOD (all: false) or ALL (all: true): every port but the input one. */
  flood(frame: Buffer, length: number, layout: PacketLayout, inPort: number, all: boolean): void;
  toController(frame: Buffer, length: number, inPort: number, maxLen: number): void;
  normal(frame: Buffer, length: number, layout: PacketLayout, inPort: number): void;
  /** OFPP_TABLE: run the frame through the flow table (meaningful for packet_out only). */
  table(frame: Buffer, length: number, inPort: number): void;
  /** OFPP_LOCAL: ofswitch has no local port, so the target counts it as a drop. */
  local(): void;
}

const OP = {
  OUTPUT: 1,
  SET_VLAN_TCI: 2,
  STRIP_VLAN: 3,
  SET_DL: 4,
  SET_NW_ADDR: 5,
  SET_NW_TOS: 6,
  SET_TP: 7,
} as const;
const STRIDE = 4;

/** A compiled action list: `code` holds STRIDE int32 slots per instruction. */
export class CompiledActions {
  constructor(
    readonly code: Int32Array,
    /** True when some instruction rewrites the frame (so execution needs the scratch copy). */
    readonly modifies: boolean,
    /** Actions the datapath cannot perform (vendor actions), skipped at run time. */
    readonly unsupported: number,
    /** The list this was compiled from, so a cached program can tell it is stale. */
    readonly source: readonly Action[],
  ) {}
}

function macWords(mac: string): [number, number] {
  const b = mac.split(":").map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((v) => !(v >= 0 && v <= 255))) throw new Error(`bad MAC ${mac}`);
  return [(b[0] << 8) | b[1], (b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]];
}

/** Compiles `actions` once; the result is immutable and may be shared by many packets. */
export function compileActions(actions: readonly Action[]): CompiledActions {
  const code = new Int32Array(actions.length * STRIDE);
  let n = 0;
  let modifies = false;
  let unsupported = 0;
  const emit = (op: number, a = 0, b = 0, c = 0) => {
    code[n] = op;
    code[n + 1] = a;
    code[n + 2] = b;
    code[n + 3] = c;
    n += STRIDE;
  };
  for (const act of actions) {
    switch (act.type) {
      case OFPAT.OUTPUT:
        emit(OP.OUTPUT, act.port, act.maxLen);
        break;
      case OFPAT.ENQUEUE:
        // No queues exist (queue config replies say so): enqueue is output to the port.
        emit(OP.OUTPUT, act.port, 0);
        break;
      case OFPAT.SET_VLAN_VID:
        emit(OP.SET_VLAN_TCI, 0x0fff, act.vlanVid & 0x0fff);
        modifies = true;
        break;
      case OFPAT.SET_VLAN_PCP:
        emit(OP.SET_VLAN_TCI, 0xe000, (act.vlanPcp & 7) << 13);
        modifies = true;
        break;
      case OFPAT.STRIP_VLAN:
        emit(OP.STRIP_VLAN);
        modifies = true;
        break;
      case OFPAT.SET_DL_SRC:
      case OFPAT.SET_DL_DST: {
        const [hi, lo] = macWords(act.dlAddr);
        emit(OP.SET_DL, act.type === OFPAT.SET_DL_SRC ? 6 : 0, hi, lo);
        modifies = true;
        break;
      }
      case OFPAT.SET_NW_SRC:
      case OFPAT.SET_NW_DST:
        emit(OP.SET_NW_ADDR, act.type === OFPAT.SET_NW_SRC ? 12 : 16, act.nwAddr | 0);
        modifies = true;
        break;
      case OFPAT.SET_NW_TOS:
        emit(OP.SET_NW_TOS, act.nwTos);
        modifies = true;
        break;
      case OFPAT.SET_TP_SRC:
      case OFPAT.SET_TP_DST:
        emit(OP.SET_TP, act.type === OFPAT.SET_TP_SRC ? 0 : 2, act.tpPort & 0xffff);
        modifies = true;
        break;
      default:
        unsupported++;
    }
  }
  return new CompiledActions(code.subarray(0, n), modifies, unsupported, actions);
}

/** Largest frame the executor accepts for rewriting (a 64 KiB GSO frame plus a pushed tag). */
export const MAX_FRAME = 65535 + 64;

function copyLayout(dst: PacketLayout, src: PacketLayout): void {
  dst.vlanOffset = src.vlanOffset;
  dst.ethTypeOffset = src.ethTypeOffset;
  dst.l3Offset = src.l3Offset;
  dst.ipv4 = src.ipv4;
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
        if (op !== OP.OUTPUT && !copied) {
          frame.copy(this.scratch, 0, 0, length);
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
      this.output(code[i + 1], code[i + 2], buf, len, lay, inPort, t);
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
    switch (op) {
      case OP.OUTPUT:
        this.output(code[i + 1], code[i + 2], buf, len, lay, inPort, t);
        return len;
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
    port: number,
    maxLen: number,
    buf: Buffer,
    len: number,
    lay: PacketLayout,
    inPort: number,
    t: ActionTarget,
  ): void {
    if (port < OFPP.MAX) {
      // OF1.0: sending back out of the input port needs OFPP_IN_PORT explicitly.
      if (port !== inPort) t.outputPort(port, buf, len, lay, inPort);
      return;
    }
    switch (port) {
      case OFPP.IN_PORT:
        t.outputPort(inPort, buf, len, lay, inPort);
        break;
      case OFPP.FLOOD:
        t.flood(buf, len, lay, inPort, false);
        break;
      case OFPP.ALL:
        t.flood(buf, len, lay, inPort, true);
        break;
      case OFPP.CONTROLLER:
        t.toController(buf, len, inPort, maxLen);
        break;
      case OFPP.NORMAL:
        t.normal(buf, len, lay, inPort);
        break;
      case OFPP.TABLE:
        t.table(buf, len, inPort);
        break;
      case OFPP.LOCAL:
        t.local();
        break;
      default:
        // OFPP_NONE and numbers between OFPP_MAX and the virtual ports go nowhere.
        break;
    }
  }
}
