#!/usr/bin/env node
// ofcontroller: runs one controller application (learning-switch or hub) for OpenFlow 1.0
// switches. Listens on ptcp:6653:127.0.0.1 unless told otherwise; --connect reaches switches that
// listen themselves. Bad arguments print one line and exit with status 2.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { pino } from "pino";
import { Controller } from "./controller.js";
import { parseActiveTarget, parsePassiveTarget } from "../ofchannel/targets.js";
import { hub } from "./apps/hub.js";
import { learningSwitch } from "./apps/learning-switch.js";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

interface CommonOptions {
  listen: string[];
  connect: string[];
  logLevel: string;
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
      "-l, --listen <ptcp:PORT[:IP]>",
      "listen for switches (repeatable; default ptcp:6653:127.0.0.1)",
      validated(parsePassiveTarget),
    )
    .option(
      "-c, --connect <tcp:HOST[:PORT]>",
      "connect to a switch that listens, again whenever it goes away (repeatable)",
      validated(parseActiveTarget),
    )
    .addOption(
      new Option("--log-level <level>", "pino log level").choices(LOG_LEVELS).default("info"),
    );
}

async function run(opts: CommonOptions, start: (c: Controller) => void): Promise<void> {
  const logger = pino({ name: "ofcontroller", level: opts.logLevel }, pino.destination(2));
  const controller = new Controller({ logger });
  start(controller);
  const listen = opts.listen ?? (opts.connect === undefined ? ["ptcp:"] : []);
  for (const target of listen) await controller.listen(target);
  for (const target of opts.connect ?? []) {
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
