// consola/core: the full consola builds a fancy default instance at import, about 20 ms of every start-up.
import { createConsola, type ConsolaInstance, type ConsolaReporter, LogLevels } from "consola/core";
import { escapeControl } from "./errors.ts";

const LEVELS: Record<string, number> = {
  silent: LogLevels.silent,
  error: LogLevels.error,
  warn: LogLevels.warn,
  info: LogLevels.info,
  debug: LogLevels.debug,
  trace: LogLevels.trace,
};

export const LOG_LEVEL_NAMES = Object.keys(LEVELS);

/**
 * One plain line per message on stderr (`ctrnet: error: …`), so runtimes and scripts can show it as it is:
 * a value echoed into a message (a name with a newline in it) is escaped here, whatever quoted it.
 */
const lineReporter: ConsolaReporter = {
  log(entry) {
    const text = entry.args.map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : Bun.inspect(a))).join(" ");
    const tag = entry.type === "log" || entry.type === "info" ? "" : `${entry.type === "fatal" ? "error" : entry.type}: `;
    process.stderr.write(`ctrnet: ${tag}${escapeControl(text)}\n`);
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

/** The default export stands in for consola's default instance where a dependency imports it (build.ts). */
export default log;
