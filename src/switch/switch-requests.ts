// The switch's answers to controller requests, one function per message kind. Each either
// replies on the session or throws the OfpError to send back (the caller adds the request's
// first 64 bytes and xid).
import type { RateLimitedLog } from "../logging/rate-limit.js";
import type { Logger } from "pino";
import type { Datapath } from "../datapath/datapath.js";
import type { OpenFlowChannel } from "../ofchannel/channel.js";
import {
  OFP_NO_BUFFER,
  OFPBRC,
  OFPC_FRAG,
  OFPFC,
  OFPP,
  OFPPC,
  OFPPMFC,
  OFPPR,
  OFPQOFC,
  OFPST,
  OFPT,
} from "../openflow/of10/constants.js";
import { OfpError, errorPairName } from "../openflow/of10/errors.js";
import type { MessageOf, OfpMessage } from "../openflow/of10/messages.js";
import { flowStatsReplies, splitStatsReply } from "../openflow/of10/multipart.js";
import { toDatapathActions } from "./datapath-actions.js";
import { configFromOf, configToOf, phyPortOf } from "./port-wire.js";
import { checkActions, checkReportable } from "./switch-actions.js";
import {
  ACTIONS_BITMAP,
  CAPABILITIES,
  N_BUFFERS,
  N_TABLES,
  describeSwitch,
} from "./switch-features.js";
import { applyFlowMod, type OfFlowEntry, type OfFlowTable, type OfRemoval } from "./flow-mod.js";
import type { Session } from "./switch-session.js";
import { answerStats, lazyFlowStats } from "./switch-stats.js";
import type { FlowStats, PhyPort } from "../openflow/of10/types.js";

/** What request handling needs from the switch. */
export interface SwitchCore {
  readonly table: OfFlowTable;
  readonly datapath: Datapath<OfFlowEntry>;
  readonly log: Logger;
  /** For lines a controller can repeat at will. */
  readonly limited: RateLimitedLog;
  readonly datapathId: bigint;
  readonly dpDesc: string | undefined;
  readonly frameIo: string;
  /** The OFPC_FRAG_* mode in force. */
  fragHandling: number;
  /** Sends FLOW_REMOVED for the removed entries that asked for it. */
  flowsRemoved(removed: OfRemoval[]): void;
  /** Sends PORT_STATUS to every controller. */
  portStatus(reason: number, desc: PhyPort): void;
}

/** Messages only a switch sends: a controller sending one gets BAD_REQUEST/BAD_TYPE. */
const SWITCH_TO_CONTROLLER = new Set<number>([
  OFPT.FEATURES_REPLY,
  OFPT.GET_CONFIG_REPLY,
  OFPT.PACKET_IN,
  OFPT.FLOW_REMOVED,
  OFPT.PORT_STATUS,
  OFPT.STATS_REPLY,
  OFPT.BARRIER_REPLY,
  OFPT.QUEUE_GET_CONFIG_REPLY,
]);

export function handleRequest(
  sw: SwitchCore,
  conn: OpenFlowChannel,
  s: Session,
  msg: OfpMessage,
): void {
  switch (msg.type) {
    case OFPT.FEATURES_REQUEST:
      conn.send({
        type: OFPT.FEATURES_REPLY,
        xid: msg.xid,
        datapathId: sw.datapathId,
        nBuffers: N_BUFFERS,
        nTables: N_TABLES,
        capabilities: CAPABILITIES,
        actions: ACTIONS_BITMAP,
        ports: sw.datapath.ports().map((p) => phyPortOf(p.info())),
      });
      return;
    case OFPT.GET_CONFIG_REQUEST:
      conn.send({
        type: OFPT.GET_CONFIG_REPLY,
        xid: msg.xid,
        flags: sw.fragHandling,
        missSendLen: s.missSendLen,
      });
      return;
    case OFPT.SET_CONFIG:
      setConfig(sw, conn, s, msg);
      return;
    case OFPT.PACKET_OUT:
      packetOut(sw, s, msg);
      return;
    case OFPT.FLOW_MOD:
      flowMod(sw, s, msg);
      return;
    case OFPT.PORT_MOD:
      portMod(sw, msg);
      return;
    case OFPT.STATS_REQUEST: {
      if (msg.statsType === OFPST.FLOW) {
        const tooBig = (f: FlowStats, size: number) =>
          sw.limited.warn(
            { priority: f.priority, size },
            "flow too large for a stats reply: left out",
          );
        conn.sendStream(flowStatsReplies(msg.xid, lazyFlowStats(sw.table, msg), tooBig));
        return;
      }
      const body = answerStats(msg, {
        table: sw.table,
        datapath: sw.datapath,
        desc: () => describeSwitch(sw.datapathId, sw.frameIo, sw.dpDesc),
      });
      const reply = { type: OFPT.STATS_REPLY, xid: msg.xid, flags: 0, ...body } as const;
      for (const part of splitStatsReply(reply)) conn.send(part);
      return;
    }
    case OFPT.BARRIER_REQUEST:
      // Every earlier message has already taken effect: nothing is deferred.
      conn.send({ type: OFPT.BARRIER_REPLY, xid: msg.xid });
      return;
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      if (sw.datapath.port(msg.port) === undefined) {
        throw OfpError.queueOpFailed(OFPQOFC.BAD_PORT, `port ${msg.port}`);
      }
      conn.send({ type: OFPT.QUEUE_GET_CONFIG_REPLY, xid: msg.xid, port: msg.port, queues: [] });
      return;
    case OFPT.VENDOR:
      throw OfpError.badRequest(OFPBRC.BAD_VENDOR, `vendor 0x${msg.vendor.toString(16)}`);
    case OFPT.ERROR:
      sw.limited.warn(
        { controller: conn.label, error: errorPairName(msg.errType, msg.code), xid: msg.xid },
        "controller reported an error",
      );
      return;
    default: {
      const why = SWITCH_TO_CONTROLLER.has(msg.type) ? " is switch-to-controller" : "";
      throw OfpError.badRequest(OFPBRC.BAD_TYPE, `message type ${msg.type}${why}`);
    }
  }
}

function setConfig(
  sw: SwitchCore,
  conn: OpenFlowChannel,
  s: Session,
  m: MessageOf<typeof OFPT.SET_CONFIG>,
): void {
  s.missSendLen = m.missSendLen;
  const frag = m.flags & OFPC_FRAG.MASK;
  if (frag === OFPC_FRAG.NORMAL || frag === OFPC_FRAG.DROP) {
    sw.fragHandling = frag;
    sw.datapath.dropFragments = frag === OFPC_FRAG.DROP;
  } else {
    // As OVS: an unsupported mode (REASM) is logged and the current one kept, no error.
    sw.limited.warn(
      { controller: conn.label, flags: m.flags },
      "IP reassembly is not supported; fragment handling unchanged",
    );
  }
}

/** As OVS: a packet-out may come "from" any physical port number (existing or not, 0 included:
 * a packet that came from no port) or from NONE, CONTROLLER or LOCAL; an existing port keeps
 * its meaning for IN_PORT and FLOOD. */
function packetOutInPortValid(inPort: number): boolean {
  return (
    inPort < OFPP.MAX || inPort === OFPP.NONE || inPort === OFPP.CONTROLLER || inPort === OFPP.LOCAL
  );
}

function packetOut(sw: SwitchCore, s: Session, m: MessageOf<typeof OFPT.PACKET_OUT>): void {
  const inPort = m.inPort;
  if (!packetOutInPortValid(inPort)) {
    throw OfpError.nicira("OFPBRC_BAD_PORT", `packet_out in_port 0x${inPort.toString(16)}`);
  }
  checkActions(m.actions, { packetOut: true });
  const frame = m.bufferId === OFP_NO_BUFFER ? m.data : s.buffers.retrieve(m.bufferId).frame;
  if (frame.length > 0)
    sw.datapath.execute(toDatapathActions(m.actions), frame, frame.length, inPort);
}

function flowMod(sw: SwitchCore, s: Session, m: MessageOf<typeof OFPT.FLOW_MOD>): void {
  const adds =
    m.command === OFPFC.ADD || m.command === OFPFC.MODIFY || m.command === OFPFC.MODIFY_STRICT;
  if (adds) {
    checkActions(m.actions, { packetOut: false });
    checkReportable(m.actions);
  }
  const result = applyFlowMod(sw.table, m);
  sw.flowsRemoved(result.removed);
  if (!adds || m.bufferId === OFP_NO_BUFFER) return;
  // The flow_mod has taken effect; a bad buffer id is reported after it, as OVS does.
  const packet = s.buffers.retrieve(m.bufferId);
  const entry = result.entry;
  if (entry === undefined) return;
  sw.table.recordHit(entry, packet.frame.length);
  const prog = sw.datapath.compiledFor(entry);
  sw.datapath.execute(prog, packet.frame, packet.frame.length, packet.inPort);
}

function portMod(sw: SwitchCore, m: MessageOf<typeof OFPT.PORT_MOD>): void {
  const port = sw.datapath.port(m.portNo);
  if (port === undefined) throw OfpError.portModFailed(OFPPMFC.BAD_PORT, `port ${m.portNo}`);
  if (m.hwAddr.toLowerCase() !== port.hwAddr.toLowerCase()) {
    throw OfpError.portModFailed(OFPPMFC.BAD_HW_ADDR, `${m.hwAddr} is not ${port.hwAddr}`);
  }
  if (m.advertise !== 0) {
    sw.limited.info(
      { port: port.name, advertise: m.advertise },
      "PORT_MOD advertise ignored (no autonegotiation control)",
    );
  }
  // Every OFPPC bit PORT_MOD may change has a datapath flag; configFromOf drops the others.
  // PORT_DOWN sets the interface itself down or up; when the system refuses, PORT_DOWN stays
  // as it was and the rest applies, with no OFPT_ERROR (Open vSwitch's update_port_config).
  // Compared as the port shows it: PORT_DOWN is also the interface's own state.
  const before = port.info().config;
  const down = (m.config & OFPPC.PORT_DOWN) !== 0;
  sw.datapath.setPortConfig(m.portNo, configFromOf(m.config), configFromOf(m.mask), (err) =>
    sw.limited.warn(
      {
        port: port.name,
        portNo: m.portNo,
        // An errno name (EPERM, ENODEV) and what the system said: a refusal, not a fault.
        error: (err as { code?: string }).code ?? "EIO",
        reason: (err as Error).message,
      },
      `PORT_MOD: cannot set the interface ${down ? "down" : "up"}; PORT_DOWN left as it was`,
    ),
  );
  const after = port.info();
  if (after.config !== before) {
    sw.limited.info({ port: port.name, config: configToOf(after.config) }, "port config changed");
    sw.portStatus(OFPPR.MODIFY, phyPortOf(after));
  }
}
