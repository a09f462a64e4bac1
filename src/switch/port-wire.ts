// The datapath's ports in OpenFlow 1.0 terms: ofp_phy_port (FEATURES_REPLY, PORT_STATUS) from
// PortInfo, ofp_port_stats from PortCounters, OFPPC bits to and from the datapath's
// PORT_CONFIG flags, OFPPR reasons from port changes.
import type { Datapath } from "../datapath/datapath.js";
import {
  PORT_CONFIG,
  type Duplex,
  type PortChange,
  type PortCounters,
  type PortInfo,
} from "../datapath/port.js";
import { OFPP, OFPPC, OFPPF, OFPPR, OFPPS } from "../openflow/of10/constants.js";
import type { PhyPort, PortStats } from "../openflow/of10/types.js";

/** Each OFPPC bit and its datapath flag: every bit PORT_MOD may change, and no other. */
const CONFIG_BITS: readonly (readonly [ofppc: number, flag: number])[] = [
  [OFPPC.PORT_DOWN, PORT_CONFIG.DOWN],
  [OFPPC.NO_STP, PORT_CONFIG.NO_STP],
  [OFPPC.NO_RECV, PORT_CONFIG.NO_RECEIVE],
  [OFPPC.NO_RECV_STP, PORT_CONFIG.NO_RECEIVE_STP],
  [OFPPC.NO_FLOOD, PORT_CONFIG.NO_FLOOD],
  [OFPPC.NO_FWD, PORT_CONFIG.NO_FORWARD],
  [OFPPC.NO_PACKET_IN, PORT_CONFIG.NO_PACKET_IN],
];

/** OFPPC bits as PORT_CONFIG flags; bits OF1.0 does not define are left out. */
export function configFromOf(ofppc: number): number {
  let flags = 0;
  for (const [bit, flag] of CONFIG_BITS) if ((ofppc & bit) !== 0) flags |= flag;
  return flags;
}

/** PORT_CONFIG flags as OFPPC bits. */
export function configToOf(flags: number): number {
  let ofppc = 0;
  for (const [bit, flag] of CONFIG_BITS) if ((flags & flag) !== 0) ofppc |= bit;
  return ofppc;
}

/** PORT_STATUS reason for each port change. */
export const PORT_REASON: Readonly<Record<PortChange, number>> = {
  added: OFPPR.ADD,
  modified: OFPPR.MODIFY,
  deleted: OFPPR.DELETE,
};

/** OFPPF bits for a speed in Mbit/s and a duplex (0: unknown, or not an OF1.0 speed). A
 * duplex the port does not know counts as full, as nearly every link today is. */
export function speedFeatures(speedMbps: number, duplex: Duplex): number {
  const full = duplex !== "half";
  switch (speedMbps) {
    case 10:
      return full ? OFPPF["10MB_FD"] : OFPPF["10MB_HD"];
    case 100:
      return full ? OFPPF["100MB_FD"] : OFPPF["100MB_HD"];
    case 1000:
      return full ? OFPPF["1GB_FD"] : OFPPF["1GB_HD"];
    case 10000:
      return OFPPF["10GB_FD"];
    default:
      return 0;
  }
}

/** The port's current features (ofp_phy_port.curr). */
export function portFeatures(info: PortInfo): number {
  let bits = speedFeatures(info.speedMbps, info.duplex);
  if (info.autoneg === true) bits |= OFPPF.AUTONEG;
  if (info.medium === "copper") bits |= OFPPF.COPPER;
  else if (info.medium === "fiber") bits |= OFPPF.FIBER;
  return bits;
}

/** ofp_phy_port. Only the current link mode is known: it is also what the port supports. */
export function phyPortOf(info: PortInfo): PhyPort {
  const curr = portFeatures(info);
  return {
    portNo: info.portNo,
    hwAddr: info.hwAddr,
    name: info.name.slice(0, 15), // OFP_MAX_PORT_NAME_LEN with its NUL
    config: configToOf(info.config),
    state: info.linkDown ? OFPPS.LINK_DOWN : 0,
    curr,
    advertised: 0,
    supported: curr,
    peer: 0,
  };
}

/** ofp_port_stats; counters a port does not keep are all ones, as OF1.0 says. */
export function portStatsOf(portNo: number, c: PortCounters): PortStats {
  const unknown = 0xffffffffffffffffn;
  return {
    portNo,
    rxPackets: BigInt(c.rxPackets),
    txPackets: BigInt(c.txPackets),
    rxBytes: BigInt(c.rxBytes),
    txBytes: BigInt(c.txBytes),
    rxDropped: BigInt(c.rxDropped),
    txDropped: BigInt(c.txDropped),
    rxErrors: BigInt(c.rxErrors),
    txErrors: BigInt(c.txErrors),
    rxFrameErr: BigInt(c.rxFrameErr),
    rxOverErr: BigInt(c.rxOverErr),
    rxCrcErr: unknown,
    collisions: unknown,
  };
}

/** PORT stats for one port (none when it does not exist), or every port (OFPP_NONE). */
export function portStats(dp: Pick<Datapath, "ports" | "port">, portNo: number): PortStats[] {
  const ports =
    portNo === OFPP.NONE ? dp.ports() : [dp.port(portNo)].filter((p) => p !== undefined);
  return ports.map((p) => portStatsOf(p.portNo, p.counters));
}
