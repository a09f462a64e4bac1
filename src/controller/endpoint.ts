// OpenFlow connection targets in Open vSwitch's syntax: "ptcp:PORT[:IP]" to listen for switches,
// "tcp:HOST[:PORT]" to connect to a switch that listens. The default listen address is
// 127.0.0.1, not 0.0.0.0: an OpenFlow controller owns every switch that reaches it, so exposing
// it on all interfaces must be an explicit choice ("ptcp:6653:0.0.0.0").
import { isIP } from "node:net";
import { OFP_TCP_PORT } from "../ofchannel/constants.js";

export const DEFAULT_LISTEN_HOST = "127.0.0.1";

export interface Endpoint {
  host: string;
  port: number;
}

/** A bad target string: the message names the expected syntax. */
export class EndpointError extends Error {
  override readonly name = "EndpointError";
}

function parsePort(text: string, target: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new EndpointError(`bad port "${text}" in "${target}"`);
  }
  return Number(text);
}

/** "ptcp:[PORT][:IP]" (IPv6 addresses in brackets) → where to listen. Port 0 picks a free one. */
export function parseListenTarget(target: string): Endpoint {
  const m = /^ptcp:(\d*)(?::(.+))?$/.exec(target);
  if (m === null) throw new EndpointError(`expected ptcp:PORT[:IP], got "${target}"`);
  const port = m[1] === "" ? OFP_TCP_PORT : parsePort(m[1], target);
  const host = m[2] === undefined ? DEFAULT_LISTEN_HOST : unbracket(m[2]);
  if (isIP(host) === 0) throw new EndpointError(`bad IP address "${m[2]}" in "${target}"`);
  return { host, port };
}

/** "tcp:HOST[:PORT]" (IPv6 addresses in brackets) → where to connect. */
export function parseConnectTarget(target: string): Endpoint {
  const m = /^tcp:(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(target);
  if (m === null) throw new EndpointError(`expected tcp:HOST[:PORT], got "${target}"`);
  const port = m[2] === undefined ? OFP_TCP_PORT : parsePort(m[2], target);
  return { host: unbracket(m[1]), port };
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
