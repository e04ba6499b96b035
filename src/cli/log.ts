import { createConsola, type ConsolaInstance, type ConsolaReporter, LogLevels } from "consola";
import { formatWithOptions } from "node:util";

const LEVELS: Record<string, number> = {
  silent: LogLevels.silent,
  error: LogLevels.error,
  warn: LogLevels.warn,
  info: LogLevels.info,
  debug: LogLevels.debug,
  trace: LogLevels.trace,
};

export const LOG_LEVEL_NAMES = Object.keys(LEVELS);

/** One plain line per message on stderr (`ctrnet: error: …`), so runtimes and scripts can show it as it is. */
const lineReporter: ConsolaReporter = {
  log(entry) {
    const text = formatWithOptions({ colors: false }, ...entry.args);
    const tag = entry.type === "log" || entry.type === "info" ? "" : `${entry.type === "fatal" ? "error" : entry.type}: `;
    process.stderr.write(`ctrnet: ${tag}${text}\n`);
  },
};

/** Everything goes to stderr so that stdout carries only results. */
export const log: ConsolaInstance = createConsola({
  level: LEVELS[process.env.CTRNET_LOG_LEVEL ?? ""] ?? LogLevels.warn,
  reporters: [lineReporter],
});

export function setLogLevel(name: string): boolean {
  const level = LEVELS[name];
  if (level === undefined) return false;
  log.level = level;
  return true;
}
