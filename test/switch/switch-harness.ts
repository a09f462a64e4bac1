import { afterEach } from "vitest";
// A switch over MemoryPorts with a listener on a free loopback port, for tests.
import { pino } from "pino";
import { MemoryPort } from "../support/memory-port.js";
import {
  OFPFW,
  OFPT,
  OFP_NO_BUFFER,
  OFPP,
  OFPAT,
  OFPFC,
  OFPST,
} from "../../src/openflow/of10/constants.js";
import type { MessageOf, OfpMessage } from "../../src/openflow/of10/messages.js";
import { OpenFlowSwitch, type SwitchOptions } from "../../src/switch/switch.js";
import { parsePassiveTarget } from "../../src/ofchannel/targets.js";
import type { Action, Match } from "../../src/openflow/of10/types.js";
import { MATCH_ALL } from "../openflow/helpers.js";
import { ControllerPeer } from "./peer.js";

export const silentLog = pino({ level: "silent" });

export interface Harness {
  sw: OpenFlowSwitch;
  /** hosts[i] is the far end of switch port i+1 (its `received` is the host's inbox). */
  hosts: MemoryPort[];
  ports: MemoryPort[];
  listenPort: number;
  connect(): Promise<ControllerPeer>;
  /** Sends `frame` from host `i` (1-based port number). */
  inject(portNo: number, frame: Buffer): void;
  stop(): Promise<void>;
}

export async function startSwitch(
  opts: Partial<SwitchOptions> & {
    nPorts?: number;
    listen?: boolean;
    /** The listener accepts service sessions (as `-l` does), not primary controllers. */
    serviceListener?: boolean;
  } = {},
): Promise<Harness> {
  const { nPorts = 3, listen = true, serviceListener = false, ...rest } = opts;
  const sw = new OpenFlowSwitch({
    log: silentLog,
    failMode: "secure",
    // Test controllers connect to the listener as primary controllers (OVS: a ptcp: Controller
    // with type=primary); service sessions are asked for with `serviceListener`.
    listeners: listen
      ? [{ ...parsePassiveTarget("ptcp:0"), role: serviceListener ? "service" : "primary" }]
      : [],
    ...rest,
  });
  const hosts: MemoryPort[] = [];
  const ports: MemoryPort[] = [];
  for (let i = 1; i <= nPorts; i++) {
    const [s, h] = MemoryPort.pair(i, `p${i}`, `02:00:00:00:00:0${i}`);
    sw.addPort(s);
    ports.push(s);
    hosts.push(h);
  }
  await sw.start();
  const peers: ControllerPeer[] = [];
  const listenPort = listen ? sw.connmgr.listenPorts()[0] : 0;
  return {
    sw,
    hosts,
    ports,
    listenPort,
    connect: async () => {
      const p = await ControllerPeer.connect(listenPort);
      peers.push(p);
      return p;
    },
    inject: (portNo, frame) => hosts[portNo - 1].send(frame, frame.length),
    stop: async () => {
      for (const p of peers) p.close();
      await sw.stop();
    },
  };
}

export { MATCH_ALL };

export function output(port: number, maxLen = 0): Action {
  return { type: OFPAT.OUTPUT, port, maxLen };
}

/** A FLOW_MOD ADD with everything defaulted; override fields as needed. */
export function flowMod(
  fields: Partial<MessageOf<typeof OFPT.FLOW_MOD>> = {},
): MessageOf<typeof OFPT.FLOW_MOD> {
  return {
    type: OFPT.FLOW_MOD,
    xid: 0,
    match: MATCH_ALL,
    cookie: 0n,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0x8000,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: 0,
    actions: [],
    ...fields,
  };
}

/** A match on the input port only. */
export function inPortMatch(inPort: number): Match {
  return { ...MATCH_ALL, wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort };
}

/** Resolves after `ms` (for waits that are themselves the behaviour under test). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** [errType, code] of an OFPT_ERROR; throws for anything else. */
export function errorOf(m: OfpMessage): [number, number] {
  if (m.type !== OFPT.ERROR) throw new Error(`expected an error, got type ${m.type}`);
  return [m.errType, m.code];
}

export async function barrier(c: ControllerPeer): Promise<void> {
  await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
}

/** FLOW or AGGREGATE stats for every entry of every table. */
export function allFlowsRequest(
  statsType: typeof OFPST.FLOW | typeof OFPST.AGGREGATE,
): MessageOf<typeof OFPT.STATS_REQUEST> {
  return {
    type: OFPT.STATS_REQUEST,
    xid: 0,
    flags: 0,
    statsType,
    match: MATCH_ALL,
    tableId: 0xff,
    outPort: OFPP.NONE,
  };
}

/** A `startSwitch` whose switches are stopped after each test (registers the afterEach). */
export function switchPerTest(): typeof startSwitch {
  const started: Harness[] = [];
  afterEach(async () => {
    for (const h of started.splice(0)) await h.stop();
  });
  return async (opts) => {
    const h = await startSwitch(opts);
    started.push(h);
    return h;
  };
}
