// The controller library's public surface.
export { Controller, DEFAULT_CONNECTION_OPTIONS, type ControllerOptions } from "./controller.js";
export {
  CONTINUE,
  STOP,
  type ControllerEvents,
  type Disposition,
  type ErrorMessage,
  type EventName,
  type FlowRemovedMessage,
  type Handler,
  type PacketInMessage,
  type PortStatusMessage,
} from "./events.js";
export {
  SwitchHandle,
  type FlowModSpec,
  type PacketOutSpec,
  type PortModSpec,
} from "./switch-handle.js";
export { RequestFailed, SwitchError } from "./requests.js";
export { exactMatch, matchAll, matchFromKey } from "./match.js";
export {
  DEFAULT_LISTEN_HOST,
  EndpointError,
  parseConnectTarget,
  parseListenTarget,
  type Endpoint,
} from "./endpoint.js";
export type { OverflowPolicy, OutputQueueOptions } from "./output-queue.js";
