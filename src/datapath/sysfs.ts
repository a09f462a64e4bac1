// Interface facts from /sys/class/net/IF: index, link type, address, MTU, link state and speed.
// Read at open and on the link-state timer, never per packet.
import { readFileSync } from "node:fs";
import type { Duplex } from "./port.js";

export interface LinkInfo {
  exists: boolean;
  /** The kernel's interface index: a new one means a new interface under the same name. */
  ifindex: number;
  /** The kernel's link type (ARPHRD_*): only ARPHRD_ETHER interfaces carry Ethernet frames. */
  linkType: number;
  /** The Ethernet address; all zeros for an interface that has none (a tun, a tunnel). */
  hwAddr: string;
  mtu: number;
  /** Administratively up (IFF_UP). */
  adminUp: boolean;
  /** Operationally up: admin up and carrier present. */
  linkUp: boolean;
  /** The current speed in Mbit/s; 0 when unknown (a link that is down has none). */
  speedMbps: number;
  duplex: Duplex;
}

const IFF_UP = 0x1;
export const ARPHRD_ETHER = 1;
export const ZERO_MAC = "00:00:00:00:00:00";
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function read(root: string, name: string, file: string): string | undefined {
  try {
    return readFileSync(`${root}/${name}/${file}`, "utf8").trim();
  } catch {
    // e.g. EINVAL reading carrier/speed of a down interface, ENOENT once it is gone
    return undefined;
  }
}

function duplexOf(text: string | undefined): Duplex {
  return text === "full" || text === "half" ? text : "unknown";
}

const GONE: LinkInfo = {
  exists: false,
  ifindex: 0,
  linkType: ARPHRD_ETHER,
  hwAddr: ZERO_MAC,
  mtu: 0,
  adminUp: false,
  linkUp: false,
  speedMbps: 0,
  duplex: "unknown",
};

/**
 * The interface's facts, from one interface: the files vanish one by one while it is deleted
 * or moved to another namespace, and another interface may take the name meanwhile. A read
 * that lacks a file every interface has, or that sees the ifindex change, is taken again; an
 * interface still torn after that is reported as gone (the next poll sees what became of it).
 */
export function readLinkInfo(name: string, root = "/sys/class/net"): LinkInfo {
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = readOnce(name, root);
    if (info !== undefined) return info;
  }
  return GONE;
}

/** undefined: torn (see readLinkInfo). */
function readOnce(name: string, root: string): LinkInfo | undefined {
  const index = read(root, name, "ifindex");
  if (index === undefined) return GONE;
  const ifindex = parseInt(index, 10);
  const address = read(root, name, "address");
  const flagsText = read(root, name, "flags");
  const mtuText = read(root, name, "mtu");
  if (address === undefined || flagsText === undefined || mtuText === undefined) return undefined;
  const flags = parseInt(flagsText, 16);
  const adminUp = (flags & IFF_UP) !== 0;
  const carrier = read(root, name, "carrier");
  // carrier follows the driver at once; operstate lags it (the kernel's linkwatch runs up to a
  // second later). Without a readable carrier, operstate decides.
  const linkUp =
    adminUp && (carrier !== undefined ? carrier === "1" : read(root, name, "operstate") === "up");
  const speed = parseInt(read(root, name, "speed") ?? "", 10);
  const info: LinkInfo = {
    exists: true,
    ifindex,
    linkType: parseInt(read(root, name, "type") ?? `${ARPHRD_ETHER}`, 10),
    // A tun's address is empty, an IP tunnel's 4 or 16 bytes: none is an Ethernet address.
    hwAddr: MAC.test(address) ? address : ZERO_MAC,
    mtu: parseInt(mtuText, 10) || 1500,
    adminUp,
    linkUp,
    speedMbps: speed > 0 ? speed : 0,
    duplex: speed > 0 ? duplexOf(read(root, name, "duplex")) : "unknown",
  };
  return read(root, name, "ifindex") === index ? info : undefined;
}
