// What the installed slirp4netns can do, read from its --help as podman's checkSlirpFlags does.
// slirp4netns has no machine-readable feature list; the help text has listed every flag since 0.1.
import * as v from "valibot";
import { type HelpProbe, probeHelp } from "../help-probe.ts";

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

const PROBE: HelpProbe<Slirp4netnsFeatures> = {
  program: "slirp4netns",
  schema: v.object(Object.fromEntries(Object.keys(FLAGS).map((k) => [k, v.boolean()])) as Record<keyof Slirp4netnsFeatures, v.BooleanSchema<undefined>>),
  parse: parseSlirp4netnsHelp,
  printedHelp: (_output, success) => success,
};

/** `slirp4netns --help`, once per binary version (see help-probe.ts). */
export function probeSlirp4netns(binary: string, cacheFile?: string): Slirp4netnsFeatures {
  return probeHelp(PROBE, binary, cacheFile);
}
