// fast-check arbitraries for every OF1.0 message, shared by the round-trip and fuzz tests.
import fc from "fast-check";
import {
  OFPAT,
  OFPQT,
  OFPST,
  OFPT,
  OFP_MAX_PORT_NAME_LEN,
  OFP_MAX_TABLE_NAME_LEN,
  DESC_STR_LEN,
  SERIAL_NUM_LEN,
} from "../../src/openflow/of10/constants.js";
import { macToString } from "../../src/openflow/wire.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import type {
  Action,
  Match,
  PhyPort,
  FlowStats,
  QueueProperty,
} from "../../src/openflow/of10/types.js";

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => macToString(b));
export const bytes = (maxLength = 64) =>
  fc.uint8Array({ maxLength }).map((b) => Buffer.from(b.buffer, b.byteOffset, b.length));
/** Printable ASCII that fits a NUL-terminated char[len]. */
export const cstr = (len: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: len - 1,
  });
const xid = u32;

export const match: fc.Arbitrary<Match> = fc.record({
  wildcards: u32,
  inPort: u16,
  dlSrc: mac,
  dlDst: mac,
  dlVlan: u16,
  dlVlanPcp: u8,
  dlType: u16,
  nwTos: u8,
  nwProto: u8,
  nwSrc: u32,
  nwDst: u32,
  tpSrc: u16,
  tpDst: u16,
});

export const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant(OFPAT.OUTPUT), port: u16, maxLen: u16 }),
  fc.record({ type: fc.constant(OFPAT.SET_VLAN_VID), vlanVid: u16 }),
  fc.record({ type: fc.constant(OFPAT.SET_VLAN_PCP), vlanPcp: u8 }),
  fc.record({ type: fc.constant(OFPAT.STRIP_VLAN) }),
  fc.record({ type: fc.constantFrom(OFPAT.SET_DL_SRC, OFPAT.SET_DL_DST), dlAddr: mac }),
  fc.record({ type: fc.constantFrom(OFPAT.SET_NW_SRC, OFPAT.SET_NW_DST), nwAddr: u32 }),
  fc.record({ type: fc.constant(OFPAT.SET_NW_TOS), nwTos: u8 }),
  fc.record({ type: fc.constantFrom(OFPAT.SET_TP_SRC, OFPAT.SET_TP_DST), tpPort: u16 }),
  fc.record({ type: fc.constant(OFPAT.ENQUEUE), port: u16, queueId: u32 }),
  fc.record({
    type: fc.constant(OFPAT.VENDOR),
    vendor: u32,
    body: fc
      .integer({ min: 0, max: 3 })
      .chain((n) => fc.uint8Array({ minLength: n * 8, maxLength: n * 8 }))
      .map((b) => Buffer.from(b)),
  }),
) as fc.Arbitrary<Action>;
export const actions = fc.array(action, { maxLength: 6 });

export const phyPort: fc.Arbitrary<PhyPort> = fc.record({
  portNo: u16,
  hwAddr: mac,
  name: cstr(OFP_MAX_PORT_NAME_LEN),
  config: u32,
  state: u32,
  curr: u32,
  advertised: u32,
  supported: u32,
  peer: u32,
});

export const flowStats: fc.Arbitrary<FlowStats> = fc.record({
  tableId: u8,
  match,
  durationSec: u32,
  durationNsec: u32,
  priority: u16,
  idleTimeout: u16,
  hardTimeout: u16,
  cookie: u64,
  packetCount: u64,
  byteCount: u64,
  actions,
});

const queueProperty: fc.Arbitrary<QueueProperty> = fc.oneof(
  fc.record({ property: fc.constant(OFPQT.NONE) }),
  fc.record({ property: fc.constant(OFPQT.MIN_RATE), rate: u16 }),
) as fc.Arbitrary<QueueProperty>;

const flowReq = { match, tableId: u8, outPort: u16 };

const statsRequest = fc.oneof(
  fc.record({ statsType: fc.constant(OFPST.DESC) }),
  fc.record({ statsType: fc.constant(OFPST.FLOW), ...flowReq }),
  fc.record({ statsType: fc.constant(OFPST.AGGREGATE), ...flowReq }),
  fc.record({ statsType: fc.constant(OFPST.TABLE) }),
  fc.record({ statsType: fc.constant(OFPST.PORT), portNo: u16 }),
  fc.record({ statsType: fc.constant(OFPST.QUEUE), portNo: u16, queueId: u32 }),
  fc.record({ statsType: fc.constant(OFPST.VENDOR), vendor: u32, body: bytes() }),
);

const statsReply = fc.oneof(
  fc.record({
    statsType: fc.constant(OFPST.DESC),
    desc: fc.record({
      mfrDesc: cstr(DESC_STR_LEN),
      hwDesc: cstr(DESC_STR_LEN),
      swDesc: cstr(DESC_STR_LEN),
      serialNum: cstr(SERIAL_NUM_LEN),
      dpDesc: cstr(DESC_STR_LEN),
    }),
  }),
  fc.record({ statsType: fc.constant(OFPST.FLOW), flows: fc.array(flowStats, { maxLength: 4 }) }),
  fc.record({
    statsType: fc.constant(OFPST.AGGREGATE),
    aggregate: fc.record({ packetCount: u64, byteCount: u64, flowCount: u32 }),
  }),
  fc.record({
    statsType: fc.constant(OFPST.TABLE),
    tables: fc.array(
      fc.record({
        tableId: u8,
        name: cstr(OFP_MAX_TABLE_NAME_LEN),
        wildcards: u32,
        maxEntries: u32,
        activeCount: u32,
        lookupCount: u64,
        matchedCount: u64,
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    statsType: fc.constant(OFPST.PORT),
    ports: fc.array(
      fc.record({
        portNo: u16,
        rxPackets: u64,
        txPackets: u64,
        rxBytes: u64,
        txBytes: u64,
        rxDropped: u64,
        txDropped: u64,
        rxErrors: u64,
        txErrors: u64,
        rxFrameErr: u64,
        rxOverErr: u64,
        rxCrcErr: u64,
        collisions: u64,
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    statsType: fc.constant(OFPST.QUEUE),
    queues: fc.array(
      fc.record({ portNo: u16, queueId: u32, txBytes: u64, txPackets: u64, txErrors: u64 }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ statsType: fc.constant(OFPST.VENDOR), vendor: u32, body: bytes() }),
);

const switchConfig = { flags: u16, missSendLen: u16 };
const flowModBody = {
  match,
  cookie: u64,
  command: u16,
  idleTimeout: u16,
  hardTimeout: u16,
  priority: u16,
  bufferId: u32,
  outPort: u16,
  flags: u16,
  actions,
};

/** One arbitrary per message type, keyed by OFPT value. */
export const messageByType: Record<number, fc.Arbitrary<OfpMessage>> = {
  [OFPT.HELLO]: fc.record({ type: fc.constant(OFPT.HELLO), xid, version: u8, body: bytes(16) }),
  [OFPT.ERROR]: fc.record({
    type: fc.constant(OFPT.ERROR),
    xid,
    errType: u16,
    code: u16,
    data: bytes(),
  }),
  [OFPT.ECHO_REQUEST]: fc.record({ type: fc.constant(OFPT.ECHO_REQUEST), xid, data: bytes() }),
  [OFPT.ECHO_REPLY]: fc.record({ type: fc.constant(OFPT.ECHO_REPLY), xid, data: bytes() }),
  [OFPT.VENDOR]: fc.record({ type: fc.constant(OFPT.VENDOR), xid, vendor: u32, data: bytes() }),
  [OFPT.FEATURES_REQUEST]: fc.record({ type: fc.constant(OFPT.FEATURES_REQUEST), xid }),
  [OFPT.FEATURES_REPLY]: fc.record({
    type: fc.constant(OFPT.FEATURES_REPLY),
    xid,
    datapathId: u64,
    nBuffers: u32,
    nTables: u8,
    capabilities: u32,
    actions: u32,
    ports: fc.array(phyPort, { maxLength: 4 }),
  }),
  [OFPT.GET_CONFIG_REQUEST]: fc.record({ type: fc.constant(OFPT.GET_CONFIG_REQUEST), xid }),
  [OFPT.GET_CONFIG_REPLY]: fc.record({
    type: fc.constant(OFPT.GET_CONFIG_REPLY),
    xid,
    ...switchConfig,
  }),
  [OFPT.SET_CONFIG]: fc.record({ type: fc.constant(OFPT.SET_CONFIG), xid, ...switchConfig }),
  [OFPT.PACKET_IN]: fc.record({
    type: fc.constant(OFPT.PACKET_IN),
    xid,
    bufferId: u32,
    totalLen: u16,
    inPort: u16,
    reason: u8,
    data: bytes(128),
  }),
  [OFPT.FLOW_REMOVED]: fc.record({
    type: fc.constant(OFPT.FLOW_REMOVED),
    xid,
    match,
    cookie: u64,
    priority: u16,
    reason: u8,
    durationSec: u32,
    durationNsec: u32,
    idleTimeout: u16,
    packetCount: u64,
    byteCount: u64,
  }),
  [OFPT.PORT_STATUS]: fc.record({
    type: fc.constant(OFPT.PORT_STATUS),
    xid,
    reason: u8,
    desc: phyPort,
  }),
  [OFPT.PACKET_OUT]: fc.record({
    type: fc.constant(OFPT.PACKET_OUT),
    xid,
    bufferId: u32,
    inPort: u16,
    actions,
    data: bytes(),
  }),
  [OFPT.FLOW_MOD]: fc.record({ type: fc.constant(OFPT.FLOW_MOD), xid, ...flowModBody }),
  [OFPT.PORT_MOD]: fc.record({
    type: fc.constant(OFPT.PORT_MOD),
    xid,
    portNo: u16,
    hwAddr: mac,
    config: u32,
    mask: u32,
    advertise: u32,
  }),
  [OFPT.STATS_REQUEST]: fc
    .tuple(xid, u16, statsRequest)
    .map(([x, flags, body]) => ({ type: OFPT.STATS_REQUEST, xid: x, flags, ...body })),
  [OFPT.STATS_REPLY]: fc
    .tuple(xid, u16, statsReply)
    .map(([x, flags, body]) => ({ type: OFPT.STATS_REPLY, xid: x, flags, ...body })),
  [OFPT.BARRIER_REQUEST]: fc.record({ type: fc.constant(OFPT.BARRIER_REQUEST), xid }),
  [OFPT.BARRIER_REPLY]: fc.record({ type: fc.constant(OFPT.BARRIER_REPLY), xid }),
  [OFPT.QUEUE_GET_CONFIG_REQUEST]: fc.record({
    type: fc.constant(OFPT.QUEUE_GET_CONFIG_REQUEST),
    xid,
    port: u16,
  }),
  [OFPT.QUEUE_GET_CONFIG_REPLY]: fc.record({
    type: fc.constant(OFPT.QUEUE_GET_CONFIG_REPLY),
    xid,
    port: u16,
    queues: fc.array(
      fc.record({ queueId: u32, properties: fc.array(queueProperty, { maxLength: 3 }) }),
      {
        maxLength: 3,
      },
    ),
  }),
} as Record<number, fc.Arbitrary<OfpMessage>>;

export const anyMessage: fc.Arbitrary<OfpMessage> = fc.oneof(...Object.values(messageByType));
