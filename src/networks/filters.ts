// `network ls --filter KEY=VALUE` and `network prune --filter`, as podman: values of name, id or driver are
// alternatives, every label must match, and different keys must all match.
import { UsageError } from "../errors.ts";
import { splitFilters } from "../filters.ts";
import type { NetworkInfo } from "./model.ts";

export const FILTER_KEYS = ["name", "id", "driver", "label", "label!", "dangling", "until"] as const;
/** podman's network prune takes only these. */
export const PRUNE_FILTER_KEYS = ["label", "label!", "until"] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

export type NetworkFilters = Partial<Record<FilterKey, string[]>>;

export function parseFilters(items: readonly string[], keys: readonly FilterKey[] = FILTER_KEYS): NetworkFilters {
  const out: NetworkFilters = splitFilters(items, keys);
  if (out.dangling) for (const v of out.dangling) parseBool(v);
  if (out.until) {
    if (out.until.length > 1) throw new UsageError("specify exactly one timestamp for until");
    parseUntil(out.until[0]!);
  }
  return out;
}

/** Go's strconv.ParseBool, which podman's dangling filter uses. */
function parseBool(value: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new UsageError(`invalid dangling filter value "${value}"`);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * podman's `until` timestamp (docker's timetype.GetTimestamp): a Go duration before now (`10m`, `1h30m`),
 * Unix seconds with an optional fraction, or an RFC 3339 date or date-time. Milliseconds since the epoch.
 */
export function parseUntil(value: string, now = Date.now()): number {
  if (/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const [, n, , unit] of value.matchAll(/([0-9]+(\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * DURATION_UNITS[unit!]!;
    return now - ms;
  }
  if (/^[0-9]+(\.[0-9]+)?$/.test(value)) return Number(value) * 1000;
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/.test(value)) {
    const t = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
    if (!Number.isNaN(t)) return t;
  }
  throw new UsageError(`invalid until filter value "${value}": give a duration (10m), Unix seconds or an RFC 3339 time`);
}

function nameMatcher(pattern: string): (name: string) => boolean {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    throw new UsageError(`invalid --filter name=${pattern}: not a regular expression`);
  }
  return (name) => re.test(name);
}

/** `label=KEY` matches any value, `label=KEY=VALUE` only that one. */
function hasLabel(labels: Record<string, string>, wanted: string): boolean {
  const eq = wanted.indexOf("=");
  if (eq < 0) return Object.hasOwn(labels, wanted);
  return labels[wanted.slice(0, eq)] === wanted.slice(eq + 1);
}

/**
 * Compiles the filters once; `name` is a regular expression (as podman), `id` a prefix, `dangling` asks
 * whether no container uses the network (inUse: the names of networks some container is on), `until` keeps
 * networks created before the time.
 */
export function networkMatcher(filters: NetworkFilters, inUse: ReadonlySet<string> = new Set()): (info: NetworkInfo) => boolean {
  const names = filters.name?.map(nameMatcher);
  const dangling = filters.dangling?.map(parseBool);
  const until = filters.until ? parseUntil(filters.until[0]!) : undefined;
  return (info) =>
    (names === undefined || names.some((m) => m(info.name))) &&
    (filters.id === undefined || filters.id.some((p) => info.id.startsWith(p))) &&
    (filters.driver === undefined || filters.driver.includes(info.driver)) &&
    (filters.label === undefined || filters.label.every((l) => hasLabel(info.labels, l))) &&
    (filters["label!"] === undefined || filters["label!"].every((l) => !hasLabel(info.labels, l))) &&
    (dangling === undefined || dangling.every((d) => d === !inUse.has(info.name))) &&
    (until === undefined || Date.parse(info.created) < until);
}
