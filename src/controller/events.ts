// NOX-style event dispatch: per event, an ordered chain of handlers; a handler that returns STOP
// ends the chain for that event (e.g. a firewall ahead of a learning switch). `on` is the same
// chain with the default order. Handlers that throw are logged and skipped, never fatal: one
// application's bug must not take down the switches' sessions. A handler that throws on every
// packet-in would write a line per packet: the lines are rate-limited per event.
import type { Logger } from "pino";
import { RateLimitedLog } from "../logging/rate-limit.js";
import type { OFPT } from "../openflow/of10/constants.js";
import type { MessageOf, OfpMessage } from "../openflow/of10/messages.js";
import type { SwitchHandle } from "./switch-handle.js";

export const CONTINUE = "continue";
export const STOP = "stop";
export type Disposition = typeof CONTINUE | typeof STOP | void;

export type PacketInMessage = MessageOf<typeof OFPT.PACKET_IN>;
export type FlowRemovedMessage = MessageOf<typeof OFPT.FLOW_REMOVED>;
export type PortStatusMessage = MessageOf<typeof OFPT.PORT_STATUS>;
export type ErrorMessage = MessageOf<typeof OFPT.ERROR>;

/** Every event and its handler's arguments. */
export interface ControllerEvents {
  /** The switch finished the handshake: features and ports are known. */
  join: [sw: SwitchHandle];
  /** The switch's connection is gone (reason for logs). */
  leave: [sw: SwitchHandle, reason: string];
  "packet-in": [sw: SwitchHandle, msg: PacketInMessage];
  "flow-removed": [sw: SwitchHandle, msg: FlowRemovedMessage];
  "port-status": [sw: SwitchHandle, msg: PortStatusMessage];
  /** An OFPT_ERROR no pending request claimed (xid = the failed command's). */
  error: [sw: SwitchHandle, msg: ErrorMessage];
  /** Every other message from a joined switch that no request claimed (e.g. VENDOR). */
  message: [sw: SwitchHandle, msg: OfpMessage];
}
export type EventName = keyof ControllerEvents;
export type Handler<E extends EventName> = (...args: ControllerEvents[E]) => Disposition;

interface Entry {
  order: number;
  // Stored untyped: the map holds every event's chain; register/dispatch restore the types.
  fn: (...args: unknown[]) => Disposition;
}

export const DEFAULT_ORDER = 100;

export class EventChains {
  private readonly chains = new Map<EventName, Entry[]>();
  private readonly limited: RateLimitedLog;

  constructor(log: Logger) {
    this.limited = new RateLimitedLog(log);
  }

  /** Adds `fn` to the chain of `event`; lower `order` runs first. Returns an unregister function. */
  register<E extends EventName>(event: E, fn: Handler<E>, order = DEFAULT_ORDER): () => void {
    const chain = this.chains.get(event) ?? [];
    const entry: Entry = { order, fn: fn as (...args: unknown[]) => Disposition };
    chain.push(entry);
    chain.sort((a, b) => a.order - b.order); // stable: equal orders keep registration order
    this.chains.set(event, chain);
    return () => {
      const c = this.chains.get(event);
      const i = c?.indexOf(entry) ?? -1;
      if (c !== undefined && i >= 0) c.splice(i, 1);
    };
  }

  has(event: EventName): boolean {
    return (this.chains.get(event)?.length ?? 0) > 0;
  }

  dispatch<E extends EventName>(event: E, ...args: ControllerEvents[E]): void;
  // Every event has one or two arguments: passed as such, without a rest array per packet-in.
  dispatch(event: EventName, a: unknown, b?: unknown): void {
    const chain = this.chains.get(event);
    if (chain === undefined) return;
    for (let i = 0; i < chain.length; i++) {
      let d: Disposition;
      try {
        d = chain[i].fn(a, b);
      } catch (err) {
        this.limited.error(
          { err, event },
          "event handler threw; skipped",
          `handler threw: ${event}`,
        );
        continue;
      }
      if (d === STOP) return;
    }
  }
}
