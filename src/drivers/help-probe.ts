// What an installed helper program can do, read from its --help (podman's checkSlirpFlags way): slirp4netns
// and pasta have no machine-readable feature list. The probe runs once per binary version (path, inode,
// mtime): once per process, and with a cache file (ctrnet's runtime dir) once for all processes, so
// attaching spawns no probe each time.
import { readFileSync, renameSync, statSync, writeFileSync } from "../../ffi/fs.ts";
import * as v from "valibot";
import { CtrnetError } from "../errors.ts";

export interface HelpProbe<T> {
  /** For messages: `slirp4netns`, `pasta`. */
  program: string;
  /** What the cache file holds for one binary. */
  schema: v.GenericSchema<unknown, T>;
  parse(help: string): T;
  /** Whether the run printed its help (some exit 1 after it); the output is stdout then stderr. */
  printedHelp(output: string, success: boolean): boolean;
}

const probed = new Map<string, unknown>();

function readCached<T>(cacheFile: string, key: string, schema: v.GenericSchema<unknown, T>): T | undefined {
  try {
    const parsed = v.safeParse(v.object({ key: v.string(), features: schema }), JSON.parse(readFileSync(cacheFile, "utf8")));
    return parsed.success && parsed.output.key === key ? parsed.output.features : undefined;
  } catch {
    return undefined;
  }
}

function writeCached(cacheFile: string, key: string, features: unknown): void {
  const temp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify({ key, features }), { mode: 0o600 });
    renameSync(temp, cacheFile);
  } catch {
    // only a cache: the next process probes again
  }
}

export function probeHelp<T>(probe: HelpProbe<T>, binary: string, cacheFile?: string): T {
  let key: string;
  try {
    const st = statSync(binary);
    key = `${probe.program}\0${binary}\0${st.ino}\0${st.mtimeMs}`;
  } catch (err) {
    throw checkFailed(probe.program, binary, (err as Error).message, err);
  }
  const cached = (probed.get(key) as T | undefined) ?? (cacheFile === undefined ? undefined : readCached(cacheFile, key, probe.schema));
  if (cached !== undefined) {
    probed.set(key, cached);
    return cached;
  }
  const features = probe.parse(runHelp(probe, binary));
  probed.set(key, features);
  if (cacheFile !== undefined) writeCached(cacheFile, key, features);
  return features;
}

function runHelp(probe: HelpProbe<unknown>, binary: string): string {
  let run;
  try {
    run = Bun.spawnSync([binary, "--help"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw checkFailed(probe.program, binary, (err as Error).message, err);
  }
  const output = `${run.stdout.toString()}${run.stderr.toString()}`;
  if (!probe.printedHelp(output, run.success)) {
    // podman's words for a helper that fails ("pasta failed with exit code 1"): it runs the binary with its
    // options and says how it ended; here the binary did not even give its help
    const status = run.signalCode
      ? `${probe.program} was killed by signal ${run.signalCode}`
      : run.exitCode === 0
        ? `its --help is not ${probe.program}'s`
        : `${probe.program} failed with exit code ${run.exitCode}`;
    // its first line says what it is; another program's whole help would bury the point
    const lines = output.trim().split("\n");
    const shown = lines.length > 1 ? `${lines[0]} …` : lines[0]!;
    throw checkFailed(probe.program, binary, `${status} (--help): ${JSON.stringify(shown)}`);
  }
  return output;
}

export function checkFailed(program: string, binary: string, detail: string, cause?: unknown): CtrnetError {
  return new CtrnetError(`error checking ${program} binary ${binary}: ${detail}`, { cause });
}
