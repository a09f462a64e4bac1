// Command-line options of a bench script, with --help and the project's rule for bad input: one
// line on stderr and exit status 2 (node:util's parseArgs alone throws a stack trace).
import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * String options `--NAME VALUE`, one per key of `defaults`, read from process.argv. --help
 * prints `usage` and exits 0; an unknown option or a missing value exits 2 with one line.
 */
export function benchArgs<K extends string>(
  usage: string,
  defaults: Record<K, string>,
): Record<K, string> {
  const options: NonNullable<ParseArgsConfig["options"]> = { help: { type: "boolean" } };
  for (const [name, value] of Object.entries<string>(defaults))
    options[name] = { type: "string", default: value };
  try {
    const values = parseArgs({ options, strict: true }).values as Record<string, unknown>;
    if (values.help === true) {
      process.stdout.write(`${usage.trim()}\n`);
      process.exit(0);
    }
    return values as Record<K, string>;
  } catch (err) {
    process.stderr.write(`${(err as Error).message} (see --help)\n`);
    process.exit(2);
  }
}
