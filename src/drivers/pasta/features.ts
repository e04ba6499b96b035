// What the installed pasta accepts, read from its --help: every option it lists, and whether it takes a
// value. Releases differ a lot (Debian 12's is from March 2023: no --map-guest-addr, no --map-host-loopback),
// so ctrnet asks the binary instead of assuming a version; `pasta --version` of a distribution build may
// even say "unknown version".
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as v from "valibot";
import { CtrnetError } from "../../errors.ts";

export interface PastaOptionInfo {
  /** The option takes a value (`-a ADDR`, `--ns-ifname NAME`). */
  takesValue: boolean;
}

export interface PastaFeatures {
  /** By long name without dashes (`ns-ifname`). */
  long: Record<string, PastaOptionInfo>;
  /** By letter (`I`), mapped to the long name. */
  short: Record<string, string>;
}

// "  -I, --ns-ifname NAME\tnamespace interface name", "  --no-map-gw\t\t…", "  --runas UID|UID:GID \t…".
// The examples under -t ("        -t 22\t…") are indented deeper and name no long option.
const OPTION_LINE = /^ {2,6}(?:-([A-Za-z0-9]), )?--([a-z0-9][a-z0-9-]*)(?: ([A-Z][A-Z0-9_|:.[\]-]*))?\s/;

export function parsePastaHelp(help: string): PastaFeatures {
  const out: PastaFeatures = { long: {}, short: {} };
  for (const line of help.split("\n")) {
    const m = OPTION_LINE.exec(`${line}\t`);
    if (!m) continue;
    const [, letter, name, value] = m;
    out.long[name!] = { takesValue: value !== undefined };
    if (letter !== undefined) out.short[letter] = name!;
  }
  return out;
}

export function hasOption(features: PastaFeatures, long: string): boolean {
  return Object.hasOwn(features.long, long);
}

const probed = new Map<string, PastaFeatures>();

const CachedProbe = v.object({
  key: v.string(),
  features: v.object({
    long: v.record(v.string(), v.object({ takesValue: v.boolean() })),
    short: v.record(v.string(), v.string()),
  }),
});

function readCachedProbe(cacheFile: string, key: string): PastaFeatures | undefined {
  try {
    const parsed = v.safeParse(CachedProbe, JSON.parse(readFileSync(cacheFile, "utf8")));
    return parsed.success && parsed.output.key === key ? parsed.output.features : undefined;
  } catch {
    return undefined;
  }
}

function writeCachedProbe(cacheFile: string, key: string, features: PastaFeatures): void {
  const temp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify({ key, features }), { mode: 0o600 });
    renameSync(temp, cacheFile);
  } catch {
    // only a cache: the next process probes again
  }
}

/**
 * Runs `binary --help` once per binary version (path, inode, mtime): once per process, and with a
 * cacheFile (ctrnet's runtime dir) once for all processes, so attaching spawns no probe each time.
 */
export function probePasta(binary: string, cacheFile?: string): PastaFeatures {
  let key: string;
  try {
    const st = statSync(binary);
    key = `${binary}\0${st.ino}\0${st.mtimeMs}`;
  } catch (err) {
    throw checkFailed(binary, (err as Error).message, err);
  }
  const cached = probed.get(key) ?? (cacheFile === undefined ? undefined : readCachedProbe(cacheFile, key));
  if (cached) {
    probed.set(key, cached);
    return cached;
  }
  const features = parsePastaHelp(runHelp(binary));
  if (!hasOption(features, "netns") || !hasOption(features, "config-net")) {
    throw checkFailed(binary, "its --help lists no --netns or --config-net; is it pasta?");
  }
  probed.set(key, features);
  if (cacheFile !== undefined) writeCachedProbe(cacheFile, key, features);
  return features;
}

function runHelp(binary: string): string {
  let run;
  try {
    run = Bun.spawnSync([binary, "--help"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw checkFailed(binary, (err as Error).message, err);
  }
  // Older releases print the usage on stderr and exit 1; newer ones on stdout, exit 0.
  const output = `${run.stdout.toString()}${run.stderr.toString()}`;
  if (!output.includes("Usage:")) {
    const status = run.signalCode ? `killed by ${run.signalCode}` : `exit status ${run.exitCode}`;
    throw checkFailed(binary, `${status}: ${JSON.stringify(output.trim())}`);
  }
  return output;
}

function checkFailed(binary: string, detail: string, cause?: unknown): CtrnetError {
  return new CtrnetError(`error checking pasta binary ${binary}: ${detail}`, { cause });
}
