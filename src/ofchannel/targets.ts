// Controller connection targets as Open vSwitch writes them: `tcp:HOST[:PORT]` (the switch
// connects) and `ptcp:[PORT][:IP]` (the switch listens). IPv6 addresses go in brackets.
import { isIP } from "node:net";
import { OFP_TCP_PORT } from "../openflow/of10/constants.js";

export interface ActiveTarget {
  kind: "tcp";
  host: string;
  port: number;
  /** The target as written, for logs. */
  label: string;
}

/**
 * What a session is to the switch, as Open vSwitch's ofconn types: a "primary" controller
 * (every active target) decides fail mode and the emergency table and gets asynchronous
 * messages; a "service" session (accepted on a listener, e.g. ovs-ofctl) does neither and gets
 * asynchronous messages only after it sets a nonzero miss_send_len.
 */
export type SessionRole = "primary" | "service";

export interface PassiveTarget {
  kind: "ptcp";
  /** "service" unless configured otherwise (as OVS's Controller type=primary on a ptcp:). */
  role: SessionRole;
  /** 0 asks the system for a free port (tests). */
  port: number;
  host: string;
  label: string;
}

export const DEFAULT_LISTEN_HOST = "127.0.0.1";

function parsePort(text: string, what: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`${what}: port "${text}" is not a number`);
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) {
    throw new Error(`${what}: port ${port} is out of range (${allowZero ? 0 : 1}..65535)`);
  }
  return port;
}

/** Splits "HOST[:PORT]" / "[V6]:PORT" / "PORT[:IP]" pieces after the scheme. */
function splitHostPort(rest: string): [string, string | undefined] {
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end < 0) return [rest, undefined];
    const after = rest.slice(end + 1);
    return [rest.slice(1, end), after.startsWith(":") ? after.slice(1) : undefined];
  }
  const i = rest.indexOf(":");
  return i < 0 ? [rest, undefined] : [rest.slice(0, i), rest.slice(i + 1)];
}

/** Parses `tcp:HOST[:PORT]` (default port 6653); throws an Error with a one-line message. */
export function parseActiveTarget(spec: string): ActiveTarget {
  const what = `controller "${spec}"`;
  if (!spec.startsWith("tcp:")) throw new Error(`${what}: expected tcp:HOST[:PORT]`);
  const [host, portText] = splitHostPort(spec.slice(4));
  if (host === "") throw new Error(`${what}: the host is missing`);
  if (!isIP(host) && !/^[A-Za-z0-9.-]+$/.test(host)) {
    throw new Error(`${what}: "${host}" is neither an IP address nor a host name`);
  }
  const port = portText === undefined ? OFP_TCP_PORT : parsePort(portText, what, false);
  return { kind: "tcp", host, port, label: `tcp:${host}:${port}` };
}

/** Parses `ptcp:[PORT][:IP]` (default port 6653, default IP 127.0.0.1). */
export function parsePassiveTarget(spec: string): PassiveTarget {
  const what = `listener "${spec}"`;
  if (!spec.startsWith("ptcp:") && spec !== "ptcp") {
    throw new Error(`${what}: expected ptcp:PORT[:IP]`);
  }
  const rest = spec.slice(5);
  const i = rest.indexOf(":");
  const portText = i < 0 ? rest : rest.slice(0, i);
  let host = i < 0 ? DEFAULT_LISTEN_HOST : rest.slice(i + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (!isIP(host)) throw new Error(`${what}: "${host}" is not an IP address`);
  const port = portText === "" ? OFP_TCP_PORT : parsePort(portText, what, true);
  return { kind: "ptcp", role: "service", host, port, label: `ptcp:${port}:${host}` };
}
