// Packets buffered for the controller (PACKET_IN buffer_id), as Open vSwitch's pktbuf: 256
// slots used round-robin; a buffer id is the slot index in the low 8 bits and a per-slot
// cookie in the upper 24, so an id whose slot has since been reused is detected. A slot may be
// overwritten once its packet is older than `holdMs`; sweep() also frees such packets so
// memory is not held by ids nobody will use.
//   - id never issued / slot since reused or swept: BAD_REQUEST/BUFFER_UNKNOWN
//   - id already used by a PACKET_OUT or FLOW_MOD:   BAD_REQUEST/BUFFER_EMPTY
import { performance } from "node:perf_hooks";
import { OFP_NO_BUFFER, OFPBRC } from "../openflow/of10/constants.js";
import { OfpError } from "../openflow/of10/errors.js";

const SLOT_BITS = 8;
const SLOTS = 1 << SLOT_BITS;
const SLOT_MASK = SLOTS - 1;
/** The all-ones cookie is never used, so no id equals OFP_NO_BUFFER. */
const COOKIE_MAX = (1 << (32 - SLOT_BITS)) - 1;
export const DEFAULT_HOLD_MS = 5000;

export interface BufferedPacket {
  frame: Buffer;
  inPort: number;
}

class Slot {
  cookie = 0;
  frame: Buffer | null = null;
  inPort = 0;
  savedAt = -Infinity;
  /** The packet was handed out (as opposed to overwritten or swept). */
  used = false;
}

export class PacketBufferPool {
  static readonly capacity = SLOTS;
  private readonly slots: Slot[] = Array.from({ length: SLOTS }, () => new Slot());
  private nextSlot = 0;

  constructor(
    readonly holdMs = DEFAULT_HOLD_MS,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Copies the frame into the next slot; OFP_NO_BUFFER when that slot is still held. */
  save(frame: Buffer, length: number, inPort: number): number {
    const index = this.nextSlot;
    const slot = this.slots[index];
    const now = this.clock();
    if (slot.frame !== null && now - slot.savedAt < this.holdMs) return OFP_NO_BUFFER;
    this.nextSlot = (index + 1) & SLOT_MASK;
    slot.cookie = slot.cookie + 1 >= COOKIE_MAX ? 0 : slot.cookie + 1;
    slot.frame = Buffer.from(frame.subarray(0, length));
    slot.inPort = inPort;
    slot.savedAt = now;
    slot.used = false;
    return ((slot.cookie << SLOT_BITS) | index) >>> 0;
  }

  /** Takes the packet out of its buffer (once); throws the OfpError OVS would answer. */
  retrieve(id: number): BufferedPacket {
    const slot = this.slots[id & SLOT_MASK];
    if (id !== OFP_NO_BUFFER && slot.cookie === id >>> SLOT_BITS) {
      if (slot.frame !== null) {
        const packet = { frame: slot.frame, inPort: slot.inPort };
        slot.frame = null;
        slot.used = true;
        return packet;
      }
      if (slot.used) {
        throw OfpError.badRequest(OFPBRC.BUFFER_EMPTY, `buffer ${hex(id)} was already used`);
      }
    }
    throw OfpError.badRequest(OFPBRC.BUFFER_UNKNOWN, `no buffered packet ${hex(id)}`);
  }

  /** Frees a buffer whose PACKET_IN was never sent. */
  discard(id: number): void {
    const slot = this.slots[id & SLOT_MASK];
    if (slot.cookie === id >>> SLOT_BITS) slot.frame = null;
  }

  /** Frees packets held longer than holdMs; their ids become unknown. */
  sweep(): number {
    const now = this.clock();
    let freed = 0;
    for (const slot of this.slots) {
      if (slot.frame !== null && now - slot.savedAt >= this.holdMs) {
        slot.frame = null;
        freed++;
      }
    }
    return freed;
  }

  /** Packets currently held. */
  get count(): number {
    let n = 0;
    for (const slot of this.slots) if (slot.frame !== null) n++;
    return n;
  }
}

function hex(id: number): string {
  return `0x${id.toString(16).padStart(8, "0")}`;
}
