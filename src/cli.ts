#!/usr/bin/env node
// ofswitch: the command-line entry point. Exit codes: 0 after a clean shutdown (SIGINT or
// SIGTERM) or --help/--version; 2 for a bad argument or an environment problem the user can
// fix (missing interface, missing privilege), printed as one line on stderr; 1 for any other
// failure at runtime (e.g. a listener port already in use).
import { setFlagsFromString } from "node:v8";
import { startDaemon } from "./daemon/daemon.js";
import { createLogger } from "./daemon/logger.js";
import { InfoShown, UsageError, parseArgs, type DaemonConfig } from "./daemon/options.js";

function fail(code: number, message: string): never {
  process.stderr.write(`ofswitch: ${message}\n`);
  process.exit(code);
}

// The young generation stays at its initial size (two 1 MiB semi-spaces) instead of growing to
// 16 MiB ones under a burst of allocation (a 100,000-entry add-flows): the daemon's steady
// allocation is small (the packet path allocates nothing), and the grown spaces stayed resident
// (issue 16, docs/performance.md: peak RSS). Read by V8 each time it would grow them, so it can
// be set here, after start-up; unknown to another V8, it is ignored.
setFlagsFromString("--semi-space-growth-factor=1");

async function main(): Promise<void> {
  let cfg: DaemonConfig;
  try {
    cfg = parseArgs(process.argv.slice(2), (s) => process.stdout.write(s));
  } catch (e) {
    if (e instanceof InfoShown) process.exit(0);
    if (e instanceof UsageError) fail(2, e.message);
    throw e;
  }
  const log = createLogger(cfg.logLevel);
  let daemon;
  try {
    daemon = await startDaemon(cfg, log);
  } catch (e) {
    if (e instanceof UsageError) fail(2, e.message);
    fail(1, (e as Error).message);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    daemon.stop().then(
      () => process.exit(0),
      (e: unknown) => fail(1, `shutdown failed: ${(e as Error).message}`),
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((e: unknown) => fail(1, e instanceof Error ? e.message : String(e)));
