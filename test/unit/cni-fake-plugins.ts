// Stand-in CNI plugins for tests that need no root: small sh scripts that record every call (stdin and
// CNI_* environment) in a log directory and answer as told.
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Command = "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS" | "GC";

export interface FakeBehaviour {
  /** Printed on stdout, per command. */
  stdout?: Partial<Record<Command, unknown>>;
  exitCode?: Partial<Record<Command, number>>;
  stderr?: string;
  /** Versions VERSION reports. */
  versions?: string[];
  /** Become `sleep N` (the plugin process itself, so a kill leaves no orphan) and never answer. */
  sleep?: number;
}

export interface RecordedCall {
  plugin: string;
  command: string;
  env: Record<string, string>;
  stdin: Record<string, unknown>;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function fakePlugin(dir: string, log: string, name: string, behaviour: FakeBehaviour = {}): string {
  const versions = behaviour.versions ?? ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];
  const answers: Partial<Record<Command, unknown>> = {
    VERSION: { cniVersion: versions.at(-1), supportedVersions: versions },
    ...behaviour.stdout,
  };
  const cases = Object.entries(answers)
    .map(([cmd, out]) => `  ${cmd}) printf '%s' ${shellQuote(typeof out === "string" ? out : JSON.stringify(out))} ;;`)
    .join("\n");
  const exits = Object.entries(behaviour.exitCode ?? {})
    .map(([cmd, code]) => `  ${cmd}) exit ${code} ;;`)
    .join("\n");
  const script = `#!/bin/sh
n=$(ls ${shellQuote(log)} | wc -l)
base=${shellQuote(log)}/$(printf %04d "$n")-${name}-$CNI_COMMAND
cat > "$base.stdin"
env | grep '^CNI_' | sort > "$base.env"
${behaviour.stderr ? `printf '%s\\n' ${shellQuote(behaviour.stderr)} >&2` : ""}
${behaviour.sleep ? `exec sleep ${behaviour.sleep}` : ""}
case "$CNI_COMMAND" in
${cases}
esac
case "$CNI_COMMAND" in
${exits}
esac
exit 0
`;
  const path = join(dir, name);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}

/** Calls in the order they happened. */
export function recordedCalls(log: string): RecordedCall[] {
  const stdins = readdirSync(log)
    .filter((f) => f.endsWith(".stdin"))
    .sort();
  return stdins.map((f) => {
    const base = f.slice(0, -".stdin".length);
    const [, plugin = "", command = ""] = /^\d+-(.+)-([A-Z]+)$/.exec(base) ?? [];
    const envText = readFileSync(join(log, `${base}.env`), "utf8");
    const env = Object.fromEntries(
      envText
        .split("\n")
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const text = readFileSync(join(log, f), "utf8");
    return { plugin, command, env, stdin: text ? JSON.parse(text) : {} };
  });
}
