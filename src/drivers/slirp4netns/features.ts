// What the installed slirp4netns can do, read from its --help as podman's checkSlirpFlags does.
// slirp4netns has no machine-readable feature list; the help text has listed every flag since 0.1.
import { statSync } from "node:fs";
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

/** Runs `binary --help` once per binary version (path, inode and mtime) for the life of the process. */
export function probeSlirp4netns(binary: string): Slirp4netnsFeatures {
  let key: string;
  try {
    const st = statSync(binary);
    key = `${binary}\0${st.ino}\0${st.mtimeMs}`;
  } catch (err) {
    throw checkFailed(binary, (err as Error).message, err);
  }
  const cached = probed.get(key);
  if (cached) return cached;
  const features = parseSlirp4netnsHelp(runHelp(binary));
  probed.set(key, features);
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
