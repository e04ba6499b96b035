// What the installed slirp4netns can do, read from its --help as podman's checkSlirpFlags does.
// slirp4netns has no machine-readable feature list; the help text has listed every flag since 0.1.
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as v from "valibot";
import { CtrnetError } from "../../errors.ts";

export interface Slirp4netnsFeatures {
  disableHostLoopback: boolean;
  mtu: boolean;
  enableSandbox: boolean;
  enableSeccomp: boolean;
  cidr: boolean;
  outboundAddr: boolean;
  outboundAddr6: boolean;
  enableIPv6: boolean;
  netnsType: boolean;
  apiSocket: boolean;
}

const FLAGS: Record<keyof Slirp4netnsFeatures, string> = {
  disableHostLoopback: "--disable-host-loopback",
  mtu: "--mtu",
  enableSandbox: "--enable-sandbox",
  enableSeccomp: "--enable-seccomp",
  cidr: "--cidr",
  outboundAddr: "--outbound-addr",
  outboundAddr6: "--outbound-addr6",
  enableIPv6: "--enable-ipv6",
  netnsType: "--netns-type",
  apiSocket: "--api-socket",
};

/**
 * A flag counts when it appears as a whole word: unlike podman's substring test, "--outbound-addr"
 * is not found inside "--outbound-addr6".
 */
export function parseSlirp4netnsHelp(help: string): Slirp4netnsFeatures {
  const has = (flag: string) => new RegExp(`(?:^|[\\s,])${flag}(?=[\\s=,\\[]|$)`, "m").test(help);
  const out = {} as Slirp4netnsFeatures;
  for (const [key, flag] of Object.entries(FLAGS) as [keyof Slirp4netnsFeatures, string][]) out[key] = has(flag);
  return out;
}

const probed = new Map<string, Slirp4netnsFeatures>();

const CachedProbe = v.object({
  key: v.string(),
  features: v.object(Object.fromEntries(Object.keys(FLAGS).map((k) => [k, v.boolean()])) as Record<keyof Slirp4netnsFeatures, v.BooleanSchema<undefined>>),
});

/** A probe another ctrnet process already made for this very binary, if cacheFile holds one. */
function readCachedProbe(cacheFile: string, key: string): Slirp4netnsFeatures | undefined {
  try {
    const parsed = v.safeParse(CachedProbe, JSON.parse(readFileSync(cacheFile, "utf8")));
    return parsed.success && parsed.output.key === key ? parsed.output.features : undefined;
  } catch {
    return undefined;
  }
}

function writeCachedProbe(cacheFile: string, key: string, features: Slirp4netnsFeatures): void {
  const temp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify({ key, features }), { mode: 0o600 });
    renameSync(temp, cacheFile);
  } catch {
    // only a cache: the next process probes again
  }
}

/**
 * Runs `binary --help` once per binary version (path, inode and mtime): once per process, and with a
 * cacheFile (ctrnet's runtime dir) once for all processes, so attaching spawns no probe each time.
 */
export function probeSlirp4netns(binary: string, cacheFile?: string): Slirp4netnsFeatures {
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
  const features = parseSlirp4netnsHelp(runHelp(binary));
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
  const output = `${run.stdout.toString()}${run.stderr.toString()}`;
  if (!run.success) {
    const status = run.signalCode ? `killed by ${run.signalCode}` : `exit status ${run.exitCode}`;
    throw checkFailed(binary, `${status}: ${JSON.stringify(output.trim())}`);
  }
  return output;
}

function checkFailed(binary: string, detail: string, cause?: unknown): CtrnetError {
  return new CtrnetError(`error checking slirp4netns binary ${binary}: ${detail}`, { cause });
}
