// Chooses the frame I/O backend for a switch port. "auto" takes AF_PACKET when its addon
// loaded (Linux, built by npm ci) and libpcap otherwise, warning once about the fallback;
// docs/datapath-afpacket.md has the measurements behind the choice.
import { loadAfPacket } from "./afpacket-native.js";
import { AfPacketPort, type AfPacketPortOptions } from "./afpacket-port.js";
import { PcapPort } from "./pcap-port.js";
import type { Port } from "./port.js";

export type PortBackend = "afpacket" | "pcap" | "auto";

export const PORT_BACKENDS: readonly PortBackend[] = ["auto", "afpacket", "pcap"];

export interface CreatePortOptions extends AfPacketPortOptions {
  backend?: PortBackend;
  /** Where the fallback warning goes (default console.warn). */
  warn?: (message: string) => void;
}

let warned = false;

/** Which backend "auto" resolves to on this machine, and why. */
export function resolveBackend(backend: PortBackend = "auto"): {
  backend: "afpacket" | "pcap";
  reason?: string;
} {
  if (backend !== "auto") return { backend };
  const { native, reason } = loadAfPacket();
  return native ? { backend: "afpacket" } : { backend: "pcap", reason };
}

/** A port on interface `name`; throws when the interface does not exist or cannot be opened. */
export function createPort(portNo: number, name: string, opts: CreatePortOptions = {}): Port {
  const { backend, reason } = resolveBackend(opts.backend);
  if (backend === "pcap") {
    if (reason && !warned) {
      warned = true;
      (opts.warn ?? console.warn)(`ofswitch: AF_PACKET unavailable (${reason}); using libpcap`);
    }
    return new PcapPort(portNo, name, opts);
  }
  return new AfPacketPort(portNo, name, opts);
}
