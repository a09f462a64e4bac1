#!/usr/bin/env node
// ofcontroller: runs one controller application (learning-switch or hub) for OpenFlow 1.0
// switches. Listens on ptcp:6653:127.0.0.1 unless told otherwise; --connect reaches switches that
// listen themselves. TLS (ssl:, pssl:) with --private-key, --certificate and --ca-cert, as
// Open vSwitch's tools. Bad arguments print one line and exit with status 2.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { pino } from "pino";
import { Controller } from "./controller.js";
import {
  exposedWithoutTls,
  parseActiveTarget,
  parsePassiveTarget,
  usesTls,
  type ActiveTarget,
  type PassiveTarget,
} from "../ofchannel/targets.js";
import { loadTlsCredentials } from "../ofchannel/tls.js";
import { hub } from "./apps/hub.js";
import { learningSwitch } from "./apps/learning-switch.js";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

interface CommonOptions {
  listen: string[];
  connect: string[];
  logLevel: string;
  privateKey?: string;
  certificate?: string;
  caCert?: string;
}

function validated(parse: (s: string) => unknown) {
  return (value: string, previous: string[] | undefined): string[] => {
    try {
      parse(value);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
    return [...(previous ?? []), value];
  };
}

function withCommon(cmd: Command): Command {
  return cmd
    .option(
      "-l, --listen <TARGET>",
      "listen for switches: ptcp:[PORT][:IP], pssl:[PORT][:IP] or punix:PATH " +
        "(repeatable; default ptcp:6653:127.0.0.1)",
      validated(parsePassiveTarget),
    )
    .option(
      "-c, --connect <TARGET>",
      "connect to a switch that listens, again whenever it goes away: tcp:HOST[:PORT], " +
        "ssl:HOST[:PORT] or unix:PATH (repeatable)",
      validated(parseActiveTarget),
    )
    .option("--private-key <FILE>", "private key (PEM) for ssl: and pssl: targets")
    .option("--certificate <FILE>", "certificate (PEM) of that key, signed by a CA switches trust")
    .option(
      "--ca-cert <FILE>",
      "CA certificate(s) (PEM) that switches' certificates must verify against",
    )
    .addOption(
      new Option("--log-level <level>", "pino log level").choices(LOG_LEVELS).default("info"),
    );
}

/** A usage problem found after commander's parsing: one line, exit 2. */
class UsageError extends Error {}

/** The TLS credentials when a target uses TLS (read and checked now), else undefined. */
function tlsFor(opts: CommonOptions, targets: (ActiveTarget | PassiveTarget)[]) {
  const user = targets.find(usesTls);
  if (user === undefined) return undefined;
  const warnings: string[] = [];
  try {
    const files = {
      privateKey: opts.privateKey,
      certificate: opts.certificate,
      caCert: opts.caCert,
    };
    const tls = loadTlsCredentials(files, user.label, warnings);
    for (const w of warnings) process.stderr.write(`ofcontroller: warning: ${w}\n`);
    return tls;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function run(opts: CommonOptions, start: (c: Controller) => void): Promise<void> {
  const listen = opts.listen ?? (opts.connect === undefined ? ["ptcp:"] : []);
  const connect = opts.connect ?? [];
  const tls = tlsFor(opts, [...listen.map(parsePassiveTarget), ...connect.map(parseActiveTarget)]);
  const logger = pino({ name: "ofcontroller", level: opts.logLevel }, pino.destination(2));
  const controller = new Controller({ logger, tls });
  start(controller);
  for (const target of listen) {
    const t = parsePassiveTarget(target);
    // A controller on the network is usual (switches connect to it), but without TLS any host
    // that reaches it can pose as a switch and see what the applications decide.
    if (exposedWithoutTls(t)) {
      logger.warn(
        { listener: t.label },
        "listening without TLS on an address other hosts can reach",
      );
    }
    await controller.listen(target);
  }
  for (const target of connect) {
    // Reached again whenever it goes away, as Open vSwitch's controllers do with active targets;
    // the promise is rejected only when the controller closes before the switch ever joined.
    controller.connect(target, { reconnect: true }).catch(() => undefined);
  }
  const stop = () => {
    void controller.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

function parseTimeout(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError(`expected 0..65535 seconds, got "${value}"`);
  }
  return Number(value);
}

const program = new Command("ofcontroller")
  .description("OpenFlow 1.0 controller applications")
  .exitOverride()
  .configureOutput({ writeErr: () => undefined });

withCommon(program.command("learning-switch"))
  .description("MAC-learning switch: exact-match flows for known destinations, flood the rest")
  .option("--idle-timeout <seconds>", "idle timeout of installed flows", parseTimeout, 60)
  .option("--hard-timeout <seconds>", "hard timeout of installed flows", parseTimeout, 0)
  .action((opts: CommonOptions & { idleTimeout: number; hardTimeout: number }) =>
    run(opts, (c) => {
      learningSwitch(c, { idleTimeout: opts.idleTimeout, hardTimeout: opts.hardTimeout });
    }),
  );

withCommon(program.command("hub"))
  .description("flood every packet (no flows)")
  .action((opts: CommonOptions) => run(opts, (c) => void hub(c)));

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`ofcontroller: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) process.exit(0); // --help, --version
    const text =
      err.code === "commander.help"
        ? "missing command: learning-switch or hub (see --help)"
        : err.message.replace(/^error: /, "");
    process.stderr.write(`ofcontroller: ${text}\n`);
    process.exit(2);
  }
  process.stderr.write(`ofcontroller: ${(err as Error).message}\n`);
  process.exit(1);
});
