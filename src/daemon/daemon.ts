// Starting and stopping the daemon: ports on the given interfaces, the switch, the controller
// channel; and undoing what was changed on the host when it stops.
import type { Logger } from "pino";
import { loadCap } from "../datapath/pcap-io.js";
import { createPort, resolveBackend } from "../datapath/port-factory.js";
import { OpenFlowSwitch } from "../switch/switch.js";
import { dpidToString } from "../switch/switch-features.js";
import { PRIVILEGE_HINT, canCapture, disableIpv6, interfaceExists } from "./host.js";
import { MetricsServer } from "./metrics.js";
import { registerControlCommands } from "./control-commands.js";
import { ControlServer, defaultControlPath } from "./control-socket.js";
import { UsageError, frameIoName, type DaemonConfig } from "./options.js";
import { exposedWithoutTls } from "../ofchannel/targets.js";
import { socketPathProblem, socketPathState } from "../ofchannel/transport.js";

export interface RunningDaemon {
  sw: OpenFlowSwitch;
  /** The metrics endpoint (--metrics), when one was asked for. */
  metrics?: MetricsServer;
  /** The control socket, unless --ctl-socket none (or the default one could not be made). */
  control?: ControlServer;
  /** Stops the switch, closes the ports and restores the host settings (idempotent). */
  stop(): Promise<void>;
}

/** Environment problems the user can fix (exit 2), as opposed to runtime failures (exit 1). */
function preflight(cfg: DaemonConfig): void {
  for (const i of cfg.interfaces) {
    if (!interfaceExists(i.name)) {
      throw new UsageError(
        `interface ${i.name} does not exist (see "ip link show"; create it or fix the -i argument)`,
      );
    }
  }
  if (!canCapture()) throw new UsageError(PRIVILEGE_HINT);
}

/**
 * The control socket: a given path must work (else exit 2); the default one is a convenience,
 * so a failure there (e.g. no permission on /run) is a warning.
 */
async function startControl(
  cfg: DaemonConfig,
  sw: OpenFlowSwitch,
  log: Logger,
): Promise<ControlServer | undefined> {
  if (cfg.ctlSocket === null) return undefined;
  const server = new ControlServer(cfg.ctlSocket ?? defaultControlPath(), log);
  registerControlCommands(server, sw);
  try {
    await server.start();
    return server;
  } catch (e) {
    const why = (e as Error).message;
    if (cfg.ctlSocket !== undefined) throw new UsageError(`--ctl-socket: ${why}`);
    log.warn({ why }, "no control socket (ofswitch-ctl will not reach this switch)");
    return undefined;
  }
}

/** A punix: path that is not a socket, or in a directory that does not exist, is the user's to
 * fix (exit 2); one a live process listens on is a runtime failure (exit 1), as a TCP port in
 * use. Checked before the ports are opened. */
async function checkSocketPaths(cfg: DaemonConfig): Promise<void> {
  for (const l of cfg.listeners) {
    if (l.kind !== "punix") continue;
    const state = await socketPathState(l.path);
    const problem = socketPathProblem(l, state);
    if (problem === undefined) continue;
    throw state === "in use" ? new Error(problem) : new UsageError(problem);
  }
}

export async function startDaemon(cfg: DaemonConfig, log: Logger): Promise<RunningDaemon> {
  preflight(cfg);
  await checkSocketPaths(cfg);
  for (const w of cfg.warnings) log.warn(w);
  const restoreIpv6 = cfg.keepIpv6 ? () => {} : disableIpv6(cfg.interfaces.map((i) => i.name));
  const backend = resolveBackend(cfg.portBackend);
  const sw = new OpenFlowSwitch({
    log,
    frameIo: frameIoName(backend.backend),
    datapathId: cfg.datapathId,
    failMode: cfg.failMode,
    missSendLen: cfg.missSendLen,
    maxFlows: cfg.maxFlows,
    packetInRate: cfg.packetInRate,
    packetInBurst: cfg.packetInBurst,
    probeIntervalMs: cfg.probeIntervalMs,
    controllers: cfg.controllers,
    listeners: cfg.listeners,
    backoff: { maxMs: cfg.maxBackoffMs },
    tls: cfg.tls,
  });
  const metrics = cfg.metrics ? new MetricsServer(sw, cfg.metrics, log) : undefined;
  let control: ControlServer | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await control?.stop();
      await metrics?.stop();
      await sw.stop();
    } finally {
      restoreIpv6();
    }
  };
  if (backend.reason) log.warn({ reason: backend.reason }, "AF_PACKET unavailable; using libpcap");
  const cap = backend.backend === "pcap" ? loadCap() : undefined;
  if (cap && !cap.Cap) {
    await stop();
    throw new UsageError(
      `the libpcap binding (cap) did not load (${cap.reason}); ` +
        (backend.reason
          ? `nor did the AF_PACKET addon (${backend.reason}): run npm ci and read its output`
          : "use --port-backend afpacket, or install libpcap-dev and run npm ci again"),
    );
  }
  try {
    for (const i of cfg.interfaces) {
      let port;
      try {
        port = createPort(i.portNo, i.name, {
          backend: backend.backend,
          log,
          warn: (message) => log.warn(message),
          // A re-created interface is a host interface again until told otherwise.
          onRecreated: cfg.keepIpv6 ? undefined : (name) => disableIpv6([name]),
        });
        sw.addPort(port);
      } catch (e) {
        const msg = (e as Error).message;
        if (/not permitted|permission/i.test(msg))
          throw new UsageError(`${i.name}: ${PRIVILEGE_HINT}`);
        throw new Error(`cannot open ${i.name}: ${msg}`);
      }
      if (port.info().linkDown) log.warn({ port: i.name }, "link is down (is the interface up?)");
      log.info(
        { port: i.name, portNo: i.portNo, mac: port.hwAddr, backend: backend.backend },
        "port added",
      );
    }
    await sw.start();
    await metrics?.start();
    control = await startControl(cfg, sw, log);
  } catch (e) {
    await stop();
    throw e;
  }
  for (const l of cfg.listeners) {
    if (exposedWithoutTls(l)) {
      log.warn(
        { listener: l.label },
        "--allow-insecure-listen: anyone who can reach this address may control the switch " +
          "(plain TCP: no authentication, no encryption)",
      );
    }
  }
  log.info(
    {
      dpid: dpidToString(sw.datapathId),
      failMode: cfg.failMode,
      controllers: cfg.controllers.map((c) => c.label),
      listeners: cfg.listeners.map((l) => l.label),
    },
    "ofswitch running",
  );
  return { sw, metrics, control, stop };
}
