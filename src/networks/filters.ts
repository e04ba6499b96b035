// `network ls --filter KEY=VALUE`, as podman: values of name, id or driver are alternatives, every label must
// match, and different keys must all match.
import { UsageError } from "../errors.ts";
import type { NetworkInfo } from "./model.ts";

export const FILTER_KEYS = ["name", "id", "driver", "label"] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

export type NetworkFilters = Partial<Record<FilterKey, string[]>>;

export function parseFilters(items: readonly string[]): NetworkFilters {
  const out: NetworkFilters = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = item.slice(0, Math.max(eq, 0));
    if (eq < 0 || !(FILTER_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(`invalid --filter "${item}": use ${FILTER_KEYS.map((k) => `${k}=…`).join(", ")}`);
    }
    (out[key as FilterKey] ??= []).push(item.slice(eq + 1));
  }
  return out;
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

/** Compiles the filters once; `name` is a regular expression (as podman), `id` a prefix. */
export function networkMatcher(filters: NetworkFilters): (info: NetworkInfo) => boolean {
  const names = filters.name?.map(nameMatcher);
  return (info) =>
    (names === undefined || names.some((m) => m(info.name))) &&
    (filters.id === undefined || filters.id.some((p) => info.id.startsWith(p))) &&
    (filters.driver === undefined || filters.driver.includes(info.driver)) &&
    (filters.label === undefined || filters.label.every((l) => hasLabel(info.labels, l)));
}
