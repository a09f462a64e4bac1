// What an application holds for one connected switch: its identity and ports, and the commands
// it can send. Fire-and-forget commands (flowMod, packetOut, portMod, setConfig) return the xid
// they used, so an OFPT_ERROR event can be matched to them; commands with a reply return a
// promise settled by that reply (stats replies joined across OFPSF_REPLY_MORE parts), rejected
// with SwitchError on OFPT_ERROR and with RequestFailed on timeout or disconnect.
import {
  OFP_DEFAULT_PRIORITY,
  OFP_NO_BUFFER,
  OFPFC,
  OFPP,
  OFPPR,
  OFPQ_ALL,
  OFPST,
  OFPT,
  OFPTT,
  type OfpType,
} from "../openflow/of10/constants.js";
import type {
  FlowStatsRequestBody,
  MessageOf,
  OfpMessage,
  StatsRequestBody,
  SwitchConfig,
} from "../openflow/of10/messages.js";
import type {
  Action,
  AggregateStats,
  DescStats,
  FlowMod,
  FlowStats,
  Match,
  PhyPort,
  PortStats,
  QueueStats,
  TableStats,
} from "../openflow/of10/types.js";
import type { OpenFlowChannel } from "../ofchannel/channel.js";
import { matchAll } from "./match.js";
import { PendingRequests, RequestFailed, joinStatsParts } from "./requests.js";

type FeaturesReply = MessageOf<typeof OFPT.FEATURES_REPLY>;
type StatsReply = MessageOf<typeof OFPT.STATS_REPLY>;

/** A FLOW_MOD: `match` and `actions` (empty = drop) are required; the rest default to an ADD
 * at the default priority, permanent, unbuffered, cookie 0, no flags. */
export type FlowModSpec = Partial<FlowMod> & { match: Match };

/** A PACKET_OUT of a buffered packet (bufferId) or of `data`; inPort defaults to OFPP_NONE. */
export interface PacketOutSpec {
  actions: Action[];
  bufferId?: number;
  data?: Buffer;
  inPort?: number;
}

/** A PORT_MOD; hwAddr defaults to the port's address from FEATURES_REPLY/PORT_STATUS. */
export interface PortModSpec {
  portNo: number;
  config: number;
  mask: number;
  advertise?: number;
  hwAddr?: string;
}

export class SwitchHandle {
  /** Ports by number, kept current from PORT_STATUS. */
  readonly ports = new Map<number, PhyPort>();
  private readonly pending = new PendingRequests();

  constructor(
    private readonly conn: OpenFlowChannel,
    /** The FEATURES_REPLY the switch joined with. */
    readonly features: FeaturesReply,
    /** Default time allowed for a request's reply (ms). */
    private readonly requestTimeoutMs: number,
  ) {
    for (const p of features.ports) this.ports.set(p.portNo, p);
  }

  get datapathId(): bigint {
    return this.features.datapathId;
  }

  /** The datapath id as 16 hex digits, as ovs-ofctl prints it. */
  get dpid(): string {
    return this.features.datapathId.toString(16).padStart(16, "0");
  }

  get remote(): string {
    return this.conn.remote;
  }

  /** Whether its socket reads straight into the controller's slabs (ofchannel/socket-reads.ts). */
  get readsDirect(): boolean {
    return this.conn.readsDirect;
  }

  get connected(): boolean {
    return !this.conn.closed;
  }

  /** The OpenFlow version negotiated with the switch. */
  get version(): number {
    return this.conn.version;
  }

  /** Messages the send queue refused because the switch did not keep up. */
  get droppedMessages(): number {
    return this.conn.queue.stats.dropped;
  }

  /** Bytes sent to the switch that the kernel has not taken yet (at most output.maxQueuedBytes). */
  get queuedBytes(): number {
    return this.conn.queue.unsentBytes;
  }

  /** Sends any message as is; false if the send queue refused it. */
  send(msg: OfpMessage): boolean {
    return this.conn.send(msg);
  }

  /** Sends one or more whole messages already encoded (e.g. by ExactFlowModWriter); false if
   * the output queue refused them. */
  sendEncoded(bytes: Buffer): boolean {
    return this.conn.sendEncoded(bytes);
  }

  /** A fresh xid for a message built by hand. */
  nextXid(): number {
    return this.conn.nextXid();
  }

  flowMod(spec: FlowModSpec): number {
    const xid = this.conn.nextXid();
    this.conn.send({
      type: OFPT.FLOW_MOD,
      xid,
      match: spec.match,
      cookie: spec.cookie ?? 0n,
      command: spec.command ?? OFPFC.ADD,
      idleTimeout: spec.idleTimeout ?? 0,
      hardTimeout: spec.hardTimeout ?? 0,
      priority: spec.priority ?? OFP_DEFAULT_PRIORITY,
      bufferId: spec.bufferId ?? OFP_NO_BUFFER,
      outPort: spec.outPort ?? OFPP.NONE,
      flags: spec.flags ?? 0,
      actions: spec.actions ?? [],
    });
    return xid;
  }

  /** Deletes every flow (as ovs-ofctl del-flows does). */
  deleteAllFlows(): number {
    return this.flowMod({ match: matchAll(), command: OFPFC.DELETE });
  }

  packetOut(spec: PacketOutSpec): number {
    const xid = this.conn.nextXid();
    const data = spec.data ?? EMPTY;
    const bufferId = spec.bufferId ?? OFP_NO_BUFFER;
    if (bufferId === OFP_NO_BUFFER && data.length === 0) {
      throw new TypeError("packetOut needs a bufferId or data");
    }
    this.conn.send({
      type: OFPT.PACKET_OUT,
      xid,
      bufferId,
      inPort: spec.inPort ?? OFPP.NONE,
      actions: spec.actions,
      data: bufferId === OFP_NO_BUFFER ? data : EMPTY,
    });
    return xid;
  }

  portMod(spec: PortModSpec): number {
    const hwAddr = spec.hwAddr ?? this.ports.get(spec.portNo)?.hwAddr;
    if (hwAddr === undefined) throw new TypeError(`unknown port ${spec.portNo}: give hwAddr`);
    const xid = this.conn.nextXid();
    this.conn.send({
      type: OFPT.PORT_MOD,
      xid,
      portNo: spec.portNo,
      hwAddr,
      config: spec.config,
      mask: spec.mask,
      advertise: spec.advertise ?? 0,
    });
    return xid;
  }

  setConfig(config: SwitchConfig): number {
    const xid = this.conn.nextXid();
    this.conn.send({ type: OFPT.SET_CONFIG, xid, ...config });
    return xid;
  }

  async getConfig(timeoutMs?: number): Promise<SwitchConfig> {
    const [reply] = await this.request(
      { type: OFPT.GET_CONFIG_REQUEST, xid: 0 },
      OFPT.GET_CONFIG_REPLY,
      timeoutMs,
    );
    const r = reply as MessageOf<typeof OFPT.GET_CONFIG_REPLY>;
    return { flags: r.flags, missSendLen: r.missSendLen };
  }

  /** Resolves once the switch has processed everything sent before it. */
  async barrier(timeoutMs?: number): Promise<void> {
    await this.request({ type: OFPT.BARRIER_REQUEST, xid: 0 }, OFPT.BARRIER_REPLY, timeoutMs);
  }

  async descStats(timeoutMs?: number): Promise<DescStats> {
    const [r] = await this.stats({ statsType: OFPST.DESC }, timeoutMs);
    return (r as Extract<StatsReply, { statsType: typeof OFPST.DESC }>).desc;
  }

  async flowStats(
    req: Partial<FlowStatsRequestBody> = {},
    timeoutMs?: number,
  ): Promise<FlowStats[]> {
    const parts = await this.stats({ statsType: OFPST.FLOW, ...flowRequest(req) }, timeoutMs);
    return joinStatsParts(parts, "flows");
  }

  async aggregateStats(
    req: Partial<FlowStatsRequestBody> = {},
    timeoutMs?: number,
  ): Promise<AggregateStats> {
    const [r] = await this.stats({ statsType: OFPST.AGGREGATE, ...flowRequest(req) }, timeoutMs);
    return (r as Extract<StatsReply, { statsType: typeof OFPST.AGGREGATE }>).aggregate;
  }

  async tableStats(timeoutMs?: number): Promise<TableStats[]> {
    return joinStatsParts(await this.stats({ statsType: OFPST.TABLE }, timeoutMs), "tables");
  }

  /** Counters of one port, or of all (OFPP_NONE, the default). */
  async portStats(portNo: number = OFPP.NONE, timeoutMs?: number): Promise<PortStats[]> {
    const parts = await this.stats({ statsType: OFPST.PORT, portNo }, timeoutMs);
    return joinStatsParts(parts, "ports");
  }

  async queueStats(
    portNo: number = OFPP.ALL,
    queueId: number = OFPQ_ALL,
    timeoutMs?: number,
  ): Promise<QueueStats[]> {
    const parts = await this.stats({ statsType: OFPST.QUEUE, portNo, queueId }, timeoutMs);
    return joinStatsParts(parts, "queues");
  }

  /** Closes the connection (the controller emits "leave"). */
  close(reason = "closed by application"): void {
    this.conn.close(reason);
  }

  /** Offers a received message to the pending requests; true if it answered one. Called by the
   * controller before anything else sees the message. */
  settle(msg: OfpMessage): boolean {
    return this.pending.settle(msg);
  }

  /** Fails every pending request; called by the controller when the connection is gone. */
  disconnected(reason: string): void {
    this.pending.failAll(new RequestFailed("disconnected", `${this.remote}: ${reason}`));
  }

  /** Keeps `ports` current; called by the controller before applications see the event. */
  updatePort(msg: MessageOf<typeof OFPT.PORT_STATUS>): void {
    if (msg.reason === OFPPR.DELETE) this.ports.delete(msg.desc.portNo);
    else this.ports.set(msg.desc.portNo, msg.desc);
  }

  /** Sends `msg` (its xid is replaced) and waits for its reply (all parts of a stats reply). */
  private request(
    msg: OfpMessage,
    replyType: OfpType,
    timeoutMs = this.requestTimeoutMs,
  ): Promise<OfpMessage[]> {
    if (this.conn.closed) {
      return Promise.reject(new RequestFailed("disconnected", `${this.remote} is disconnected`));
    }
    const xid = this.conn.nextXid();
    const reply = this.pending.wait(xid, replyType, timeoutMs);
    if (!this.conn.send({ ...msg, xid })) {
      this.pending.fail(xid, new RequestFailed("queue-full", `send queue to ${this.remote} full`));
    }
    return reply;
  }

  private async stats(body: StatsRequestBody, timeoutMs?: number): Promise<StatsReply[]> {
    const parts = (await this.request(
      { type: OFPT.STATS_REQUEST, xid: 0, flags: 0, ...body } as OfpMessage,
      OFPT.STATS_REPLY,
      timeoutMs,
    )) as StatsReply[];
    for (const p of parts) {
      if (p.statsType !== body.statsType) {
        throw new RequestFailed(
          "bad-reply",
          `stats request of type ${body.statsType} answered with type ${p.statsType}`,
        );
      }
    }
    return parts;
  }
}

const EMPTY = Buffer.alloc(0);

function flowRequest(req: Partial<FlowStatsRequestBody>): FlowStatsRequestBody {
  return {
    match: req.match ?? matchAll(),
    tableId: req.tableId ?? OFPTT.ALL,
    outPort: req.outPort ?? OFPP.NONE,
  };
}
