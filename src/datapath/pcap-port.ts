// A switch port through libpcap (pcap-io.ts, the `cap` binding): a NetdevPort whose frame I/O
// is a PcapIo. Slower than AF_PACKET (one JavaScript call and one syscall per frame) and
// without offload passthrough: Egress segments and completes checksums for it.
import { NetdevPort, type NetdevPortOptions } from "./netdev-port.js";
import { PcapIo, type PcapIoOptions } from "./pcap-io.js";

export interface PcapPortOptions extends PcapIoOptions, NetdevPortOptions {}

export class PcapPort extends NetdevPort<PcapIo> {
  constructor(portNo: number, name: string, opts: PcapPortOptions = {}) {
    super(portNo, name, new PcapIo(opts), opts);
  }
}
