import { describe, expect, it } from "vitest";
import { SIZE } from "../../src/openflow/of10/constants.js";
import * as S from "../../src/openflow/of10/structs.js";
import type { Layout } from "../../src/openflow/layout.js";

// Every SIZE entry and the struct declaration it pins (C sizeof, header included for messages).
const PINNED: Record<Exclude<keyof typeof SIZE, "packet_in_data_offset">, Layout<object>> = {
  header: S.HEADER,
  match: S.MATCH,
  phy_port: S.PHY_PORT,
  switch_features: S.SWITCH_FEATURES,
  switch_config: S.SWITCH_CONFIG,
  flow_mod: S.FLOW_MOD,
  port_mod: S.PORT_MOD,
  packet_in: S.PACKET_IN,
  packet_out: S.PACKET_OUT,
  flow_removed: S.FLOW_REMOVED,
  port_status: S.PORT_STATUS,
  error_msg: S.ERROR_MSG,
  stats_request: S.STATS_HEADER,
  stats_reply: S.STATS_HEADER,
  desc_stats: S.DESC_STATS,
  flow_stats_request: S.FLOW_STATS_REQUEST,
  flow_stats: S.FLOW_STATS,
  aggregate_stats_request: S.FLOW_STATS_REQUEST,
  aggregate_stats_reply: S.AGGREGATE_STATS_REPLY,
  table_stats: S.TABLE_STATS,
  port_stats_request: S.PORT_STATS_REQUEST,
  port_stats: S.PORT_STATS,
  queue_stats_request: S.QUEUE_STATS_REQUEST,
  queue_stats: S.QUEUE_STATS,
  queue_get_config_request: S.QUEUE_GET_CONFIG_REQUEST,
  queue_get_config_reply: S.QUEUE_GET_CONFIG_REPLY,
  packet_queue: S.PACKET_QUEUE,
  queue_prop_header: S.QUEUE_PROP_HEADER,
  queue_prop_min_rate: S.QUEUE_PROP_MIN_RATE,
  vendor_header: S.VENDOR_HEADER,
  action_header: S.ACTION_HEADER,
  action_output: S.ACTION_OUTPUT,
  action_vlan_vid: S.ACTION_VLAN_VID,
  action_vlan_pcp: S.ACTION_VLAN_PCP,
  action_dl_addr: S.ACTION_DL_ADDR,
  action_nw_addr: S.ACTION_NW_ADDR,
  action_nw_tos: S.ACTION_NW_TOS,
  action_tp_port: S.ACTION_TP_PORT,
  action_enqueue: S.ACTION_ENQUEUE,
  action_vendor_header: S.ACTION_VENDOR_HEADER,
};

describe("struct declarations", () => {
  it.each(Object.entries(PINNED))("%s has the SIZE table's size", (name, layout) => {
    expect(layout.size).toBe(SIZE[name as keyof typeof SIZE]);
  });

  it("covers every SIZE entry", () => {
    expect(Object.keys(PINNED).sort()).toEqual(
      Object.keys(SIZE)
        .filter((k) => k !== "packet_in_data_offset")
        .sort(),
    );
  });

  it("places the variable tails and key fields where openflow.h does", () => {
    expect(S.PACKET_IN.offsetOf.data).toBe(SIZE.packet_in_data_offset);
    expect(S.PACKET_IN.offsetOf.data).toBe(18);
    expect(S.FLOW_MOD.offsetOf.match).toBe(8);
    expect(S.FLOW_MOD.offsetOf.cookie).toBe(48);
    expect(S.FLOW_MOD.offsetOf.actions).toBe(72);
    expect(S.FLOW_STATS.offsetOf.match).toBe(4);
    expect(S.FLOW_STATS.offsetOf.cookie).toBe(64);
    expect(S.MATCH.offsetOf.nwSrc).toBe(28);
    expect(S.MATCH.offsetOf.tpDst).toBe(38);
    expect(S.PHY_PORT.offsetOf.name).toBe(8);
    expect(S.PACKET_OUT.offsetOf.actionsLen).toBe(14);
    expect(S.SWITCH_FEATURES.offsetOf.ports).toBe(32);
    expect(S.ACTION_ENQUEUE.offsetOf.queueId).toBe(12);
    expect(S.TABLE_STATS.offsetOf.lookupCount).toBe(48);
  });
});
