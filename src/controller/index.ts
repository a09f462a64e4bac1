// The controller library's public surface.
export {
  Controller,
  DEFAULT_CONTROLLER_OPTIONS,
  type ConnectOptions,
  type ControllerOptions,
} from "./controller.js";
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
// Targets are parsed as the switch daemon parses them (Open vSwitch syntax; default 127.0.0.1).
export {
  DEFAULT_LISTEN_HOST,
  parseActiveTarget,
  parsePassiveTarget,
} from "../ofchannel/targets.js";
// TLS (ssl:, pssl:): key, certificate and CA read from PEM files and checked.
export { loadTlsCredentials, type TlsCredentials } from "../ofchannel/tls.js";
export type { OverflowPolicy, SendQueueOptions } from "../ofchannel/send-queue.js";
