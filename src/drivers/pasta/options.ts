// `--network pasta:OPTIONS`: pasta's own command-line options, comma-separated, passed through as podman 5
// passes them (`pasta:-I,eth9,-a,10.0.2.5,--map-gw`). Checked here against the options the installed pasta
// lists, with getopt's own words, so a misspelt option is refused before anything is made; values are
// pasta's to judge (see start.ts), except those ctrnet needs to know itself.
import { UsageError } from "../../errors.ts";
import type { PastaFeatures } from "./features.ts";

/** podman's pseudo-option: keep pasta's gateway mapping (it adds --no-map-gw otherwise). */
export const MAP_GW = "--map-gw";

/** Options ctrnet sets itself (where pasta runs, how it is watched): the user cannot move them. */
// --pid FILE is the user's to have, as with podman: pasta writes its pid there, and ctrnet reads it from there.
const RESERVED = new Set(["netns", "userns", "netns-only", "foreground", "fd", "help", "version", "no-netns-quit"]);

/** One option as given, in long form: `{ name: "ns-ifname", value: "eth9" }`. */
export interface PastaOption {
  name: string;
  value?: string;
}

export interface PastaOptions {
  /** Everything the user gave, in order, long form, podman's --map-gw left out. */
  options: PastaOption[];
  mapGw: boolean;
}

/** The options as the record keeps them (the strings after `pasta:`), checked against this pasta. */
export function parsePastaOptions(list: readonly string[], features: PastaFeatures): PastaOptions {
  const options: PastaOption[] = [];
  let mapGw = false;
  for (let i = 0; i < list.length; i++) {
    const item = list[i]!;
    const valueOf = (name: string, attached: string | undefined, shown: string): string => {
      if (attached !== undefined) return attached;
      if (i + 1 >= list.length) throw new UsageError(`pasta: option requires an argument -- '${shown}'`);
      return list[++i]!;
    };
    if (item === MAP_GW) {
      mapGw = true;
    } else if (item.startsWith("--")) {
      const eq = item.indexOf("=");
      const name = item.slice(2, eq < 0 ? undefined : eq);
      const info = features.long[name];
      if (name === "" || info === undefined) throw new UsageError(`pasta: unrecognized option '${item}'`);
      reserved(name);
      const attached = eq < 0 ? undefined : item.slice(eq + 1);
      if (!info.takesValue && attached !== undefined) throw new UsageError(`pasta: option '--${name}' doesn't allow an argument`);
      options.push(info.takesValue ? { name, value: valueOf(name, attached, name) } : { name });
    } else if (item.startsWith("-") && item.length > 1) {
      // getopt's clusters: `-46`, `-Ieth9`
      for (let j = 1; j < item.length; j++) {
        const letter = item[j]!;
        const name = features.short[letter];
        if (name === undefined) throw new UsageError(`pasta: invalid option -- '${letter}'`);
        reserved(name);
        if (!features.long[name]!.takesValue) {
          options.push({ name });
          continue;
        }
        options.push({ name, value: valueOf(name, j + 1 < item.length ? item.slice(j + 1) : undefined, letter) });
        break;
      }
    } else {
      throw new UsageError(`pasta: unexpected argument ${JSON.stringify(item)}: options only (pasta:-a,ADDR,…), ctrnet gives the namespace`);
    }
  }
  return { options, mapGw };
}

function reserved(name: string): void {
  if (RESERVED.has(name)) throw new UsageError(`pasta option --${name} cannot be given: ctrnet sets it`);
}

export function valuesOf(parsed: PastaOptions, name: string): string[] {
  return parsed.options.filter((o) => o.name === name && o.value !== undefined).map((o) => o.value!);
}

export function given(parsed: PastaOptions, ...names: string[]): boolean {
  return parsed.options.some((o) => names.includes(o.name));
}

/** The options back on a command line, each as `--name` then its value. */
export function pastaOptionArgs(parsed: PastaOptions): string[] {
  return parsed.options.flatMap((o) => (o.value === undefined ? [`--${o.name}`] : [`--${o.name}`, o.value]));
}

/**
 * The values of one option as the record keeps the options, without asking pasta which options take a
 * value (pasta may be gone by the time a record is read): `-I eth9`, `-Ieth9`, `--ns-ifname eth9`,
 * `--ns-ifname=eth9`. For what ctrnet shows of a container, never to decide what runs.
 */
export function storedValues(options: readonly string[], long: string, letter?: string): string[] {
  const out: string[] = [];
  options.forEach((o, i) => {
    const next = options[i + 1];
    const short = letter !== undefined && o.startsWith(`-${letter}`) && !o.startsWith("--");
    if ((o === `--${long}` || (short && o.length === 2)) && next !== undefined) out.push(next);
    else if (o.startsWith(`--${long}=`)) out.push(o.slice(long.length + 3));
    else if (short && o.length > 2) out.push(o.slice(2));
  });
  return out;
}

