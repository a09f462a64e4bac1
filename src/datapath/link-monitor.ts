// Link state of one interface, polled from sysfs (sysfs.ts) on the Datapath's link timer: what
// changed since the last poll, as transitions a port turns into port changes and log lines.
// Polling, not netlink: Node has no netlink socket and the libpcap backend must work without
// the native addon; a 300 ms poll sees every event users make (docs/datapath.md, "Interface
// events"). What a poll cannot see (a down/up faster than one poll) still reaches the port as
// the socket error the kernel raises, and the port reopens its I/O on it.
import { readLinkInfo, type LinkInfo } from "./sysfs.js";

export type LinkEvent =
  /** The interface appeared (again). */
  | "created"
  /** The interface is gone. */
  | "deleted"
  /** Deleted and created again between two polls: the name has a new ifindex. */
  | "replaced"
  | "admin-down"
  | "admin-up"
  | "carrier-down"
  | "carrier-up"
  | "mtu"
  | "mac"
  | "speed";

export interface LinkTransition {
  event: LinkEvent;
  /** What the log line says about it (old and new values). */
  detail: Record<string, string | number | boolean>;
}

/** What changed from `prev` to `now`, in the order a log reads best. */
export function linkTransitions(prev: LinkInfo, now: LinkInfo): LinkTransition[] {
  if (!now.exists) return prev.exists ? [{ event: "deleted", detail: {} }] : [];
  if (!prev.exists) return [{ event: "created", detail: describe(now) }];
  if (prev.ifindex !== now.ifindex)
    return [{ event: "replaced", detail: { ifindex: now.ifindex, was: prev.ifindex } }];
  const out: LinkTransition[] = [];
  if (prev.adminUp !== now.adminUp) {
    out.push(
      now.adminUp
        ? { event: "admin-up", detail: { carrier: now.linkUp } }
        : { event: "admin-down", detail: {} },
    );
  } else if (now.adminUp && prev.linkUp !== now.linkUp) {
    out.push({ event: now.linkUp ? "carrier-up" : "carrier-down", detail: {} });
  }
  if (prev.mtu !== now.mtu) out.push({ event: "mtu", detail: { mtu: now.mtu, was: prev.mtu } });
  if (prev.hwAddr !== now.hwAddr)
    out.push({ event: "mac", detail: { mac: now.hwAddr, was: prev.hwAddr } });
  // A link that is down reports no speed: only a change between two up states is one.
  if (prev.linkUp && now.linkUp && (prev.speedMbps !== now.speedMbps || prev.duplex !== now.duplex))
    out.push({
      event: "speed",
      detail: { speedMbps: now.speedMbps, duplex: now.duplex, was: prev.speedMbps },
    });
  return out;
}

function describe(i: LinkInfo): LinkTransition["detail"] {
  return { ifindex: i.ifindex, mac: i.hwAddr, mtu: i.mtu, adminUp: i.adminUp, carrier: i.linkUp };
}

export class LinkMonitor {
  /** The interface as the last poll found it. */
  info: LinkInfo;

  constructor(
    readonly name: string,
    private readonly sysfsRoot?: string,
  ) {
    this.info = readLinkInfo(name, sysfsRoot);
  }

  /** Re-reads the interface; returns what changed since the previous poll. */
  poll(): LinkTransition[] {
    const prev = this.info;
    this.info = readLinkInfo(this.name, this.sysfsRoot);
    return linkTransitions(prev, this.info);
  }
}
