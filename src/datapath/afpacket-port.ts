// A switch port over an AF_PACKET ring (afpacket-io.ts, native/afpacket): a NetdevPort whose
// frame I/O is an AfPacketIo. Needs only the native addon, never libpcap.
import { AfPacketIo, type AfPacketIoOptions, type AfPacketStats } from "./afpacket-io.js";
import { NetdevPort, type NetdevPortOptions } from "./netdev-port.js";

export interface AfPacketPortOptions extends AfPacketIoOptions, NetdevPortOptions {}

export class AfPacketPort extends NetdevPort<AfPacketIo> {
  constructor(portNo: number, name: string, opts: AfPacketPortOptions = {}) {
    super(portNo, name, new AfPacketIo(opts), opts);
  }

  /** What the ring headers told about received frames, and the socket's batching. */
  get afStats(): AfPacketStats {
    return this.io.stats;
  }

  /** AFP_RX flags of the frame being delivered; valid only inside the frame handler. */
  get rxFlags(): number {
    return this.io.rxFlags;
  }

  /** Copies the kernel's ring-drop count into rxDropped (also done by refresh()). */
  pollStats(): void {
    this.io.pollStats();
  }
}
