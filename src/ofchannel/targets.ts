// Connection targets as Open vSwitch writes them. Active (we connect): `tcp:HOST[:PORT]`,
// `ssl:HOST[:PORT]` (TLS), `unix:PATH`. Passive (we listen): `ptcp:[PORT][:IP]`,
// `pssl:[PORT][:IP]` (TLS), `punix:PATH` (a Unix socket only its owner may open). The port is
// 6653 unless given, the listening IP 127.0.0.1; IPv6 addresses go in brackets.
import { BlockList, isIP } from "node:net";
import { OFP_TCP_PORT } from "../openflow/of10/constants.js";

/** A TCP target, plain or TLS. */
export interface InetTarget {
  kind: "tcp" | "ssl";
  host: string;
  port: number;
  /** The target as written, for logs. */
  label: string;
}

export interface UnixTarget {
  kind: "unix";
  path: string;
  label: string;
}

export type ActiveTarget = InetTarget | UnixTarget;

/**
 * What a session is to the switch, as Open vSwitch's ofconn types: a "primary" controller
 * (every active target) decides fail mode and the emergency table and gets asynchronous
 * messages; a "service" session (accepted on a listener, e.g. ovs-ofctl) does neither and gets
 * asynchronous messages only after it sets a nonzero miss_send_len.
 */
export type SessionRole = "primary" | "service";

export interface PassiveInetTarget {
  kind: "ptcp" | "pssl";
  /** "service" unless configured otherwise (as OVS's Controller type=primary on a ptcp:). */
  role: SessionRole;
  /** 0 asks the system for a free port (tests). */
  port: number;
  host: string;
  label: string;
}

export interface PassiveUnixTarget {
  kind: "punix";
  role: SessionRole;
  path: string;
  label: string;
}

export type PassiveTarget = PassiveInetTarget | PassiveUnixTarget;

export const DEFAULT_LISTEN_HOST = "127.0.0.1";

/** True for targets that speak TLS (and need a key, a certificate and a CA). */
export function usesTls(t: ActiveTarget | PassiveTarget): boolean {
  return t.kind === "ssl" || t.kind === "pssl";
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** True for 127.0.0.0/8 and ::1 (in any spelling, IPv4-mapped too): only this host connects. */
export function isLoopback(host: string): boolean {
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? "ipv6" : "ipv4");
}

/** A plain-TCP listener others can reach: no authentication, no encryption. */
export function exposedWithoutTls(t: PassiveTarget): boolean {
  return t.kind === "ptcp" && !isLoopback(t.host);
}

function parsePort(text: string, what: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`${what}: port "${text}" is not a number`);
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) {
    throw new Error(`${what}: port ${port} is out of range (${allowZero ? 0 : 1}..65535)`);
  }
  return port;
}

/** Splits "HOST[:PORT]" / "[V6]:PORT" pieces after the scheme. */
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

/** HOST:PORT as Open vSwitch prints it, with brackets around an IPv6 address. */
const hostPort = (host: string, port: number) =>
  isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;

function socketPath(path: string, what: string): string {
  if (path === "") throw new Error(`${what}: the path is missing`);
  // sun_path holds 108 bytes with the terminating NUL.
  if (Buffer.byteLength(path) > 107) throw new Error(`${what}: the path is longer than 107 bytes`);
  return path;
}

/** Parses `tcp:HOST[:PORT]`, `ssl:HOST[:PORT]` (default port 6653) or `unix:PATH`; throws an
 * Error with a one-line message. */
export function parseActiveTarget(spec: string): ActiveTarget {
  const what = `controller "${spec}"`;
  const colon = spec.indexOf(":");
  const scheme = colon < 0 ? spec : spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  if (scheme === "unix") {
    const path = socketPath(rest, what);
    return { kind: "unix", path, label: `unix:${path}` };
  }
  if (colon < 0 || (scheme !== "tcp" && scheme !== "ssl")) {
    throw new Error(`${what}: expected tcp:HOST[:PORT], ssl:HOST[:PORT] or unix:PATH`);
  }
  const [host, portText] = splitHostPort(rest);
  if (host === "") throw new Error(`${what}: the host is missing`);
  if (!isIP(host) && !/^[A-Za-z0-9.-]+$/.test(host)) {
    throw new Error(`${what}: "${host}" is neither an IP address nor a host name`);
  }
  const port = portText === undefined ? OFP_TCP_PORT : parsePort(portText, what, false);
  return { kind: scheme, host, port, label: `${scheme}:${hostPort(host, port)}` };
}

/** Parses `ptcp:[PORT][:IP]` or `pssl:[PORT][:IP]` (default port 6653, default IP 127.0.0.1),
 * or `punix:PATH`. */
export function parsePassiveTarget(spec: string): PassiveTarget {
  const what = `listener "${spec}"`;
  const colon = spec.indexOf(":");
  const scheme = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  if (scheme === "punix") {
    const path = socketPath(rest, what);
    return { kind: "punix", role: "service", path, label: `punix:${path}` };
  }
  if (scheme !== "ptcp" && scheme !== "pssl") {
    throw new Error(`${what}: expected ptcp:[PORT][:IP], pssl:[PORT][:IP] or punix:PATH`);
  }
  const i = rest.indexOf(":");
  const portText = i < 0 ? rest : rest.slice(0, i);
  let host = i < 0 ? DEFAULT_LISTEN_HOST : rest.slice(i + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (!isIP(host)) throw new Error(`${what}: "${host}" is not an IP address`);
  const port = portText === "" ? OFP_TCP_PORT : parsePort(portText, what, true);
  const label = `${scheme}:${port}:${isIP(host) === 6 ? `[${host}]` : host}`;
  return { kind: scheme, role: "service", host, port, label };
}
