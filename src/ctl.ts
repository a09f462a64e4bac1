#!/usr/bin/env node
// ofswitch-ctl: asks a running ofswitch through its control socket (as ovs-appctl does
// ovs-vswitchd). Exit codes: 0 answered; 2 a bad argument or the switch refused the command
// (one line on stderr); 1 no answer (no such socket, no permission, timeout).
import { Command, CommanderError } from "commander";
import { ControlCallError, callControl, resolveControlTarget } from "./daemon/control-client.js";
import { controlDir } from "./daemon/control-socket.js";

function fail(code: number, message: string): never {
  process.stderr.write(`ofswitch-ctl: ${message}\n`);
  process.exit(code);
}

function program(): Command {
  return new Command("ofswitch-ctl")
    .description(
      `Ask a running ofswitch (through its control socket, default ${controlDir()}/ofswitch.PID.ctl).\n` +
        "`ofswitch-ctl help` lists the commands the switch answers.",
    )
    .argument("<command>", "e.g. help, status, trace")
    .argument("[args...]", "the command's arguments")
    .option("-t, --target <SOCKET|PID>", "the switch: a socket path or an ofswitch PID")
    .option("--json", "print the answer as JSON", false)
    .option("--timeout <SECONDS>", "wait this long for the answer", "10")
    .passThroughOptions()
    .exitOverride();
}

async function main(): Promise<void> {
  const cmd = program();
  let message = "";
  cmd.configureOutput({
    writeOut: (s) => process.stdout.write(s),
    writeErr: (s) => (message += s),
    outputError: (s) => (message += s),
  });
  try {
    cmd.parse(process.argv.slice(2), { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) process.exit(0);
      fail(2, `${(message || e.message).split("\n")[0].replace(/^error: /, "")} (see --help)`);
    }
    throw e;
  }
  const opts = cmd.opts<{ target?: string; json: boolean; timeout: string }>();
  const [method, params] = cmd.processedArgs as [string, string[]];
  const timeout = Number(opts.timeout);
  if (!/^\d+(\.\d+)?$/.test(opts.timeout) || timeout <= 0 || timeout > 3600) {
    fail(2, `--timeout must be a number of seconds from 0 to 3600, not "${opts.timeout}"`);
  }
  try {
    const path = resolveControlTarget(opts.target);
    const reply = await callControl(path, method, params, timeout * 1000);
    const out = opts.json ? JSON.stringify(reply.data ?? reply.text, null, 2) : reply.text;
    process.stdout.write(out.endsWith("\n") ? out : `${out}\n`);
  } catch (e) {
    if (e instanceof ControlCallError) {
      fail(e.kind === "usage" || e.kind === "refused" ? 2 : 1, e.message);
    }
    throw e;
  }
}

main().catch((e: unknown) => fail(1, e instanceof Error ? e.message : String(e)));
