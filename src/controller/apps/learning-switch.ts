// The classic MAC-learning switch, as ovs-testcontroller and NOX's pyswitch run it: per datapath,
// learn which port each source MAC lives behind; a packet to a known unicast MAC gets an exact
// (12-field) flow with an idle timeout, carrying the packet-in's buffer so the switch forwards
// that packet too; anything else is flooded with PACKET_OUT.
import { OFP_NO_BUFFER, OFPAT, OFPP } from "../../openflow/of10/constants.js";
import { FlowKey } from "../../packet/flow-key.js";
import { PacketLayout, parseFrame } from "../../packet/parse.js";
import type { Controller } from "../controller.js";
import type { PacketInMessage } from "../events.js";
import { ExactFlowModWriter } from "../exact-flow-mod.js";
import { MacTable } from "./mac-table.js";
import type { SwitchHandle } from "../switch-handle.js";

export interface LearningSwitchOptions {
  /** Idle timeout of installed flows, seconds (default 60). */
  idleTimeout?: number;
  /** Hard timeout of installed flows, seconds (default 0: none). */
  hardTimeout?: number;
  /** Most MACs remembered per switch; the oldest learned is forgotten first (default 65536). */
  maxMacs?: number;
}

/** Starts the application on `controller`; returns a function that stops it. */
export function learningSwitch(controller: Controller, options: LearningSwitchOptions = {}) {
  const idleTimeout = options.idleTimeout ?? 60;
  const hardTimeout = options.hardTimeout ?? 0;
  const maxMacs = options.maxMacs ?? 65536;
  // MAC → port, per switch.
  const tables = new Map<SwitchHandle, MacTable>();
  const key = new FlowKey();
  const layout = new PacketLayout();
  // The FLOW_MOD of flowMod({ match: matchFromKey(key), idleTimeout, hardTimeout, bufferId,
  // actions: [output(outPort)] }), written without the generic encoder (see exact-flow-mod.ts).
  const flowMods = new ExactFlowModWriter({ idleTimeout, hardTimeout });

  function onPacketIn(sw: SwitchHandle, msg: PacketInMessage): void {
    let macs = tables.get(sw);
    if (macs === undefined) {
      macs = new MacTable(maxMacs);
      tables.set(sw, macs);
    }
    parseFrame(msg.data, msg.data.length, msg.inPort, key, layout);
    // The key's words hold dl_src in w[1] and the top half of w[2], dl_dst in the bottom half of
    // w[2] and w[3]; the group bit is the lowest bit of a MAC's first byte (broadcast, multicast).
    const w = key.words;
    const srcMulticast = (w[1] & 0x0100_0000) !== 0;
    const dstMulticast = (w[2] & 0x0100) !== 0;
    if (msg.data.length >= 12 && !srcMulticast) {
      macs.learn(w[1] >>> 16, ((w[1] << 16) | (w[2] >>> 16)) >>> 0, msg.inPort);
    }
    const outPort = dstMulticast ? -1 : macs.lookup(w[2] & 0xffff, w[3]);
    if (outPort < 0) {
      flood(sw, msg);
    } else if (outPort !== msg.inPort) {
      sw.sendEncoded(flowMods.write(key, sw.nextXid(), msg.bufferId, outPort));
      if (msg.bufferId === OFP_NO_BUFFER) {
        sw.packetOut({ data: msg.data, inPort: msg.inPort, actions: [output(outPort)] });
      }
    } else {
      // The destination is where the packet came from: a drop flow for it, carrying the
      // buffer so the switch frees it, as Open vSwitch's lswitch does (otherwise every later
      // packet of the flow comes back as a packet-in, and the buffer waits for its timeout).
      sw.sendEncoded(flowMods.writeDrop(key, sw.nextXid(), msg.bufferId));
    }
  }

  const stops = [
    controller.register("packet-in", onPacketIn),
    controller.register("leave", (sw) => void tables.delete(sw)),
  ];
  return () => stops.forEach((stop) => stop());
}

function output(port: number) {
  return { type: OFPAT.OUTPUT, port, maxLen: 0 } as const;
}

/** Sends the packet of `msg` out of every port but its own. */
export function flood(sw: SwitchHandle, msg: PacketInMessage): void {
  if (msg.bufferId === OFP_NO_BUFFER) {
    sw.packetOut({ data: msg.data, inPort: msg.inPort, actions: [output(OFPP.FLOOD)] });
  } else {
    sw.packetOut({ bufferId: msg.bufferId, inPort: msg.inPort, actions: [output(OFPP.FLOOD)] });
  }
}
