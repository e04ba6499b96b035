// `ls --filter KEY=VALUE` (podman's ps --filter) for what a ctrnet container has: an id matches by prefix,
// a name by regular expression, a network by name (or id) or, as `container:ID`, the containers sharing that
// one's netns. Values of one key are alternatives; different keys must all match (podman's filters).
import { UsageError } from "../errors.ts";
import { splitFilters } from "../filters.ts";
import type { ContainerRecord } from "../state/index.ts";

export const CONTAINER_FILTER_KEYS = ["id", "name", "network"] as const;
type ContainerFilterKey = (typeof CONTAINER_FILTER_KEYS)[number];

export type ContainerFilters = Partial<Record<ContainerFilterKey, string[]>>;

export function parseContainerFilters(items: readonly string[]): ContainerFilters {
  const out = splitFilters(items, CONTAINER_FILTER_KEYS);
  for (const value of out.name ?? []) {
    try {
      new RegExp(value);
    } catch {
      throw new UsageError(`invalid name filter "${value}": not a regular expression`);
    }
  }
  return out;
}

/** What the network values name, resolved by the caller: network names, and the ids `container:X` values name. */
export interface ResolvedNetworkFilter {
  networks: readonly string[];
  sharing: readonly string[];
}

export function matchesContainer(rec: ContainerRecord, filters: ContainerFilters, resolved: ResolvedNetworkFilter): boolean {
  if (filters.id && !filters.id.some((prefix) => rec.id.startsWith(prefix))) return false;
  // podman drops the / of a docker-style name before matching
  if (filters.name && !filters.name.some((pattern) => new RegExp(pattern.replaceAll("/", "")).test(rec.name ?? rec.id))) return false;
  if (filters.network) {
    if (rec.mode.kind === "container") return resolved.sharing.includes(rec.mode.id);
    return rec.networks.some((n) => resolved.networks.includes(n.network));
  }
  return true;
}
