// A real pino logger whose JSON lines are kept in memory, for tests that check what was logged.
import { pino, type Logger } from "pino";

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export const INFO = 30;

export function memoryLogger(level = "debug"): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level, base: undefined }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}
