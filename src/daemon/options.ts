// The command line: commander for the syntax, then our own validation of every value, so a
// bad argument becomes one UsageError with one clear line (the CLI prints it, exit code 2).
import { Command, CommanderError, Option } from "commander";
import { isIP } from "node:net";
import { OFPP } from "../openflow/of10/constants.js";
import type { FailMode } from "../switch/switch.js";
import {
  exposedWithoutTls,
  parseActiveTarget,
  parsePassiveTarget,
  usesTls,
  type ActiveTarget,
  type PassiveTarget,
} from "../ofchannel/targets.js";
import {
  TLS_FLAGS,
  loadTlsCredentials,
  readPemFile,
  type TlsCredentials,
  type TlsFiles,
} from "../ofchannel/tls.js";
import { SOFTWARE_VERSION } from "../switch/switch-features.js";
import { PORT_BACKENDS, resolveBackend, type PortBackend } from "../datapath/port-factory.js";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** --help / --version were answered; the process should exit 0. */
export class InfoShown extends Error {
  override readonly name = "InfoShown";
}

export interface InterfaceSpec {
  name: string;
  portNo: number;
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface DaemonConfig {
  interfaces: InterfaceSpec[];
  controllers: ActiveTarget[];
  listeners: PassiveTarget[];
  datapathId?: bigint;
  failMode: FailMode;
  missSendLen: number;
  maxFlows: number;
  logLevel: LogLevel;
  packetInRate: number;
  packetInBurst?: number;
  probeIntervalMs: number;
  maxBackoffMs: number;
  /** Leave IPv6 enabled on the switch's interfaces (by default it is disabled while running). */
  keepIpv6: boolean;
  /** Frame I/O: AF_PACKET rings (the native addon), libpcap, or AF_PACKET when it loads. */
  portBackend: PortBackend;
  /** Where to serve Prometheus metrics (--metrics); absent: no metrics endpoint. */
  metrics?: { host: string; port: number };
  /** The control socket's path (--ctl-socket); undefined: the default; null: none. */
  ctlSocket?: string | null;
  /** Let a plain-TCP listener bind a non-loopback address (refused otherwise). */
  allowInsecureListen: boolean;
  /** Key, certificate and CA, read and checked, when a target uses TLS. */
  tls?: TlsCredentials;
  /** What the daemon should warn about once it logs (e.g. its certificate has expired). */
  warnings: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** How DESC stats and the logs name a frame I/O backend. */
export function frameIoName(backend: "afpacket" | "pcap"): string {
  return backend === "afpacket" ? "AF_PACKET" : "libpcap";
}

/** The frame I/O `--port-backend auto` uses on this machine, and why, for --help. */
function autoFrameIo(): string {
  const { backend, reason } = resolveBackend("auto");
  return backend === "afpacket"
    ? "AF_PACKET rings (native addon loaded)"
    : `libpcap (AF_PACKET addon unavailable: ${reason ?? "unknown reason"})`;
}

function program(): Command {
  return new Command("ofswitch")
    .description(
      `A software OpenFlow 1.0 switch over Linux interfaces.\nFrame I/O on this machine: ${autoFrameIo()}.`,
    )
    .version(SOFTWARE_VERSION, "-V, --version")
    .addOption(
      new Option(
        "-i, --interface <IFACE[=N]>",
        "switch port on IFACE (port N; default: its position)",
      )
        .argParser(collect)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "-c, --controller <TARGET>",
        "connect to a controller: tcp:HOST[:PORT], ssl:HOST[:PORT] or unix:PATH (port 6653)",
      ).argParser(collect),
    )
    .addOption(
      new Option(
        "-l, --listen <TARGET>",
        "accept controllers, e.g. ovs-ofctl: punix:PATH, ptcp:[PORT][:IP] or pssl:[PORT][:IP] " +
          "(port 6653, IP 127.0.0.1)",
      ).argParser(collect),
    )
    .option("--private-key <FILE>", "private key (PEM) for ssl: and pssl: targets")
    .option("--certificate <FILE>", "certificate (PEM) of that key, signed by a CA peers trust")
    .option(
      "--ca-cert <FILE>",
      "CA certificate(s) (PEM) that peers' certificates must verify against",
    )
    .option("--dpid <HEX>", "datapath id, up to 16 hex digits (default: from the first port's MAC)")
    .option(
      "--fail-mode <MODE>",
      "secure | standalone: behaviour without a controller",
      "standalone",
    )
    .option("--miss-send-len <N>", "bytes of a missed packet sent in PACKET_IN", "128")
    .option("--max-flows <N>", "flow table capacity", "1000000")
    .option(
      "--packet-in-rate <N>",
      "packet-ins per second per controller (0: no limit, as Open vSwitch)",
      "0",
    )
    .option("--packet-in-burst <N>", "packet-ins allowed in a burst (default: rate/4)")
    .option("--probe-interval <SECONDS>", "echo probe after this much idle time", "5")
    .option("--max-backoff <SECONDS>", "longest wait between reconnection attempts", "8")
    .option(
      "--allow-insecure-listen",
      "let a ptcp: listener bind a non-loopback address (no authentication, no encryption)",
      false,
    )
    .option("--keep-ipv6", "do not disable IPv6 on the switch's interfaces", false)
    .option(
      "--port-backend <BACKEND>",
      "auto | afpacket | pcap: frame I/O (auto: AF_PACKET rings when the addon loads)",
      "auto",
    )
    .option(
      "--metrics <[IP:]PORT>",
      "serve Prometheus metrics over HTTP at /metrics (IP 127.0.0.1; off by default)",
    )
    .option(
      "--ctl-socket <PATH>",
      "control socket for ofswitch-ctl, mode 0600 (default: /run/ofswitch/ofswitch.PID.ctl; none: no socket)",
    )
    .option("--log-level <LEVEL>", LOG_LEVELS.join(" | "), "info")
    .allowExcessArguments(false)
    .exitOverride();
}

/** The command-line help text. */
export function helpText(): string {
  return program().helpInformation();
}

function integer(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, not "${text}"`);
  }
  return Number(text);
}

function seconds(text: string, what: string, min: number, max: number): number {
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || v < min || v > max) {
    throw new UsageError(
      `${what} must be a number of seconds from ${min} to ${max}, not "${text}"`,
    );
  }
  return Math.round(v * 1000);
}

function interfaces(specs: string[]): InterfaceSpec[] {
  const out: InterfaceSpec[] = [];
  const byNo = new Map<number, string>();
  specs.forEach((spec, i) => {
    const eq = spec.lastIndexOf("=");
    const name = eq < 0 ? spec : spec.slice(0, eq);
    const portNo =
      eq < 0 ? i + 1 : integer(spec.slice(eq + 1), `port number of -i ${spec}`, 1, OFPP.MAX - 1);
    if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) {
      throw new UsageError(`-i ${spec}: "${name}" is not a valid interface name`);
    }
    if (out.some((o) => o.name === name)) throw new UsageError(`interface ${name} is given twice`);
    const other = byNo.get(portNo);
    if (other !== undefined) {
      throw new UsageError(`port number ${portNo} is used by both ${other} and ${name}`);
    }
    byNo.set(portNo, name);
    out.push({ name, portNo });
  });
  return out;
}

/** `--metrics [IP:]PORT`: IPv4, or IPv6 in brackets; loopback when no IP is given. */
export function parseMetricsEndpoint(text: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:[\]]+):)?([^:]+)$/.exec(text);
  const bad = () =>
    new UsageError(`--metrics must be [IP:]PORT (e.g. 9100 or 0.0.0.0:9100), not "${text}"`);
  if (!m) throw bad();
  const host = m[1] === undefined ? "127.0.0.1" : m[1].replace(/^\[(.*)\]$/, "$1");
  if (isIP(host) === 0 || (m[1]?.startsWith("[") === true) !== (isIP(host) === 6)) throw bad();
  return { host, port: integer(m[2], "the port of --metrics", 0, 65535) };
}

function ctlSocket(text: string | undefined): string | null | undefined {
  if (text === undefined) return undefined;
  if (text === "none") return null;
  if (text === "" || text.endsWith("/") || Buffer.byteLength(text) > 107) {
    throw new UsageError(
      `--ctl-socket must be a file path of at most 107 bytes (or "none"), not "${text}"`,
    );
  }
  return text;
}

function targets<T>(specs: string[] | undefined, parse: (s: string) => T): T[] {
  return (specs ?? []).map((s) => {
    try {
      return parse(s);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
}

/**
 * A plain-TCP listener on an address others can reach lets anyone on the network reprogram the
 * switch (OpenFlow has no authentication of its own), so it starts only when asked for by name.
 */
function refuseExposedListeners(listeners: PassiveTarget[], allowed: boolean): void {
  if (allowed) return;
  const exposed = listeners.find(exposedWithoutTls);
  if (exposed === undefined || exposed.kind === "punix") return;
  throw new UsageError(
    `listener "${exposed.label}" would let anyone who reaches ${exposed.host} port ` +
      `${exposed.port} control the switch without authentication: listen on 127.0.0.1, ` +
      `use pssl: (TLS) or punix:, or pass --allow-insecure-listen`,
  );
}

/**
 * The key, certificate and CA when a target uses TLS, read and checked now (a wrong file is one
 * line at start-up, not a failed handshake per attempt later). Given without such a target, the
 * files must still be readable: a typo shows now, not when a pssl: listener is added.
 */
function tlsCredentials(
  files: TlsFiles,
  used: (ActiveTarget | PassiveTarget)[],
  warnings: string[],
): TlsCredentials | undefined {
  try {
    const user = used.find(usesTls);
    if (user !== undefined) return loadTlsCredentials(files, user.label, warnings);
    for (const k of Object.keys(TLS_FLAGS) as (keyof TlsFiles)[]) {
      const file = files[k];
      if (file !== undefined) readPemFile(file, TLS_FLAGS[k]);
    }
    return undefined;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Parses `argv` (without node and the script). Throws UsageError or InfoShown. */
export function parseArgs(argv: string[], write: (s: string) => void = () => {}): DaemonConfig {
  const cmd = program();
  let commanderMessage = "";
  cmd.configureOutput({
    writeOut: write,
    writeErr: (s) => (commanderMessage += s),
    outputError: (s) => (commanderMessage += s),
  });
  try {
    cmd.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) throw new InfoShown(e.code);
      const line = (commanderMessage || e.message).split("\n")[0].replace(/^error: /, "");
      throw new UsageError(`${line} (see ofswitch --help)`);
    }
    throw e;
  }
  const o = cmd.opts<Record<string, string | string[] | boolean | undefined>>();
  const failMode = o.failMode as string;
  if (failMode !== "secure" && failMode !== "standalone") {
    throw new UsageError(`--fail-mode must be secure or standalone, not "${failMode}"`);
  }
  const logLevel = o.logLevel as string;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, not "${logLevel}"`);
  }
  let datapathId: bigint | undefined;
  if (o.dpid !== undefined) {
    const hex = (o.dpid as string).replace(/^0x/i, "");
    if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) {
      throw new UsageError(`--dpid must be 1 to 16 hex digits, not "${o.dpid as string}"`);
    }
    datapathId = BigInt(`0x${hex}`);
  }
  const portBackend = o.portBackend as string;
  if (!(PORT_BACKENDS as readonly string[]).includes(portBackend)) {
    throw new UsageError(
      `--port-backend must be one of ${PORT_BACKENDS.join(", ")}, not "${portBackend}"`,
    );
  }
  const packetInRate = integer(o.packetInRate as string, "--packet-in-rate", 0, 1_000_000);
  const controllers = targets(o.controller as string[] | undefined, parseActiveTarget);
  const listeners = targets(o.listen as string[] | undefined, parsePassiveTarget);
  const allowInsecureListen = o.allowInsecureListen === true;
  refuseExposedListeners(listeners, allowInsecureListen);
  const ifaces = interfaces(o.interface as string[]);
  const warnings: string[] = [];
  const tls = tlsCredentials(
    {
      privateKey: o.privateKey as string | undefined,
      certificate: o.certificate as string | undefined,
      caCert: o.caCert as string | undefined,
    },
    [...controllers, ...listeners],
    warnings,
  );
  return {
    interfaces: ifaces,
    controllers,
    listeners,
    datapathId,
    failMode,
    missSendLen: integer(o.missSendLen as string, "--miss-send-len", 0, 0xffff),
    maxFlows: integer(o.maxFlows as string, "--max-flows", 1, 100_000_000),
    logLevel: logLevel as LogLevel,
    packetInRate,
    packetInBurst:
      o.packetInBurst === undefined
        ? undefined
        : integer(o.packetInBurst as string, "--packet-in-burst", 1, 1_000_000),
    probeIntervalMs: seconds(o.probeInterval as string, "--probe-interval", 0.1, 3600),
    maxBackoffMs: seconds(o.maxBackoff as string, "--max-backoff", 1, 3600),
    keepIpv6: o.keepIpv6 === true,
    portBackend: portBackend as PortBackend,
    metrics: o.metrics === undefined ? undefined : parseMetricsEndpoint(o.metrics as string),
    ctlSocket: ctlSocket(o.ctlSocket as string | undefined),
    allowInsecureListen,
    tls,
    warnings,
  };
}
