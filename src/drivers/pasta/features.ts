// What the installed pasta accepts, read from its --help: every option it lists, and whether it takes a
// value. Releases differ a lot (Debian 12's is from March 2023: no --map-guest-addr, no --map-host-loopback),
// so ctrnet asks the binary instead of assuming a version; `pasta --version` of a distribution build may
// even say "unknown version".
import * as v from "valibot";
import { CtrnetError } from "../../errors.ts";
import { checkFailed, type HelpProbe, probeHelp } from "../help-probe.ts";

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

/** The pasta in PATH, which the probe asks and the driver starts. */
export function pastaBinary(): string {
  const found = Bun.which("pasta");
  if (found === null) throw new CtrnetError("could not find pasta, the network namespace can't be configured: pasta not found in PATH; install passt");
  return found;
}

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

const PROBE: HelpProbe<PastaFeatures> = {
  program: "pasta",
  schema: v.object({
    long: v.record(v.string(), v.object({ takesValue: v.boolean() })),
    short: v.record(v.string(), v.string()),
  }),
  parse: parsePastaHelp,
  // Older releases print the usage on stderr and exit 1; newer ones on stdout, exit 0. Another program's
  // usage (a stand-in such as /bin/false, which exits 1 after it) is no pasta's.
  printedHelp: (output) => output.includes("Usage:") && output.includes("--config-net"),
};

/** `pasta --help`, once per binary version (see help-probe.ts). */
export function probePasta(binary: string, cacheFile?: string): PastaFeatures {
  const features = probeHelp(PROBE, binary, cacheFile);
  if (!hasOption(features, "netns") || !hasOption(features, "config-net")) {
    throw checkFailed("pasta", binary, "its --help lists no --netns or --config-net; is it pasta?");
  }
  return features;
}
