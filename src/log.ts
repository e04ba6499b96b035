// consola/core: the full consola builds a fancy default instance at import, about 20 ms of every start-up.
import { createConsola, type ConsolaInstance, type ConsolaReporter, LogLevels, type LogType, LogTypes } from "consola/core";
import { writeSync } from "../ffi/fs.ts";
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
 * Straight to fd 2, as cli/output.ts prints results: process.stderr costs about 7 ms the first time it is
 * touched in the compiled binary (measured), which every command that warns or fails paid.
 */
function writeStderr(text: string): void {
  const bytes = Buffer.from(text);
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(2, bytes, off);
  } catch {
    // no stderr to tell (closed): a message is never worth failing the command for
  }
}

/**
 * One plain line per message on stderr (`ctrnet: error: …`), so runtimes and scripts can show it as it is:
 * a value echoed into a message (a name with a newline in it) is escaped here, whatever quoted it.
 */
const lineReporter: ConsolaReporter = {
  log(entry) {
    const text = entry.args.map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : Bun.inspect(a))).join(" ");
    const tag = entry.type === "log" || entry.type === "info" ? "" : `${entry.type === "fatal" ? "error" : entry.type}: `;
    writeStderr(`ctrnet: ${tag}${escapeControl(text)}\n`);
  },
};

let level: number = LEVELS[process.env.CTRNET_LOG_LEVEL ?? ""] ?? LogLevels.warn;
let instance: ConsolaInstance | undefined;
const consola = (): ConsolaInstance => (instance ??= createConsola({ level, reporters: [lineReporter] }));
const nothing = (): void => {};

/**
 * Everything goes to stderr so that stdout carries only results. The consola instance is made at the first
 * message that passes the level (about 0.7 ms of a command that says nothing, as a CNI plugin's ADD, measured);
 * a message below the level costs nothing until then.
 */
export const log: ConsolaInstance = new Proxy({} as ConsolaInstance, {
  get(_, key) {
    if (key === "level") return level;
    if (instance === undefined && typeof key === "string" && Object.hasOwn(LogTypes, key) && (LogTypes[key as LogType].level ?? 0) > level) return nothing;
    const c = consola();
    const value: unknown = Reflect.get(c, key);
    return typeof value === "function" ? value.bind(c) : value;
  },
  set(_, key, value) {
    if (key !== "level") return Reflect.set(consola(), key, value);
    level = value as number;
    if (instance) instance.level = level;
    return true;
  },
});

export function setLogLevel(name: string): boolean {
  const named = LEVELS[name];
  if (named === undefined) return false;
  log.level = named;
  return true;
}

/** The default export stands in for consola's default instance where a dependency imports it (build.ts). */
export default log;
