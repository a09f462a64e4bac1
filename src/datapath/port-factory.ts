// Chooses the frame I/O backend for a switch port. "auto" takes AF_PACKET when its addon
// loaded (Linux, built by npm ci) and libpcap otherwise, warning once about the fallback;
// docs/datapath-afpacket.md has the measurements behind the choice. Neither backend loads the
// other's native code: AF_PACKET runs where cap did not build, and the reverse.
import { loadAfPacket } from "./afpacket-native.js";
import { AfPacketPort, type AfPacketPortOptions } from "./afpacket-port.js";
import { loadCap } from "./pcap-io.js";
import { PcapPort, type PcapPortOptions } from "./pcap-port.js";
import type { Port } from "./port.js";

export type PortBackend = "afpacket" | "pcap" | "auto";

export const PORT_BACKENDS: readonly PortBackend[] = ["auto", "afpacket", "pcap"];

export interface CreatePortOptions extends AfPacketPortOptions, PcapPortOptions {
  backend?: PortBackend;
  /** Where the fallback and libpcap warnings go (default console.warn). */
  warn?: (message: string) => void;
}

let warnedFallback = false;
let warnedStockCap = false;

/** Which backend "auto" resolves to on this machine, and why. */
export function resolveBackend(backend: PortBackend = "auto"): {
  backend: "afpacket" | "pcap";
  reason?: string;
} {
  if (backend !== "auto") return { backend };
  const { native, reason } = loadAfPacket();
  return native ? { backend: "afpacket" } : { backend: "pcap", reason };
}

/** A port on interface `name`; throws when the interface or the backend is unavailable. */
export function createPort(portNo: number, name: string, opts: CreatePortOptions = {}): Port {
  const { backend, reason } = resolveBackend(opts.backend);
  const warn = opts.warn ?? console.warn;
  if (backend === "afpacket") return new AfPacketPort(portNo, name, opts);
  if (reason && !warnedFallback) {
    warnedFallback = true;
    warn(`ofswitch: AF_PACKET unavailable (${reason}); using libpcap`);
  }
  const cap = loadCap();
  if (!cap.Cap) throw new Error(`libpcap binding (cap) unavailable: ${cap.reason}`);
  if (!cap.patched && !warnedStockCap) {
    warnedStockCap = true;
    warn(
      "ofswitch: the libpcap binding (cap) is not patched (run `node native/cap/patch.mjs`): " +
        "a port whose interface goes down or is deleted will abort the process",
    );
  }
  return new PcapPort(portNo, name, opts);
}
