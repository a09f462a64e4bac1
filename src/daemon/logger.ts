// Logs go to stderr through pino: human-readable (pino-pretty, synchronous, no worker thread)
// when stderr is a terminal, one JSON object per line otherwise (journald, files, tests).
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import type { LogLevel } from "./options.js";

export function createLogger(level: LogLevel, tty = process.stderr.isTTY === true): Logger {
  if (tty) {
    const stream = pretty({
      destination: 2,
      sync: true,
      colorize: true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
    });
    return pino({ level, base: undefined }, stream);
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
