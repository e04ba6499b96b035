// Reading networks back: ls, inspect, exists.
import { statSync } from "node:fs";
import type { NetworkConfig } from "../drivers/cni/config.ts";
import type { NetworkScope } from "./store.ts";
import { validateName } from "../names.ts";
import { networkMatcher, type NetworkFilters } from "./filters.ts";
import { describeNetwork, type NetworkInfo } from "./model.ts";

export interface NetworkInfoListing {
  /** Sorted by name. */
  networks: NetworkInfo[];
  /** One line per configuration file that could not be read, naming the file. */
  problems: string[];
}

function fileTime(config: NetworkConfig): Date {
  try {
    return statSync(config.source).mtime;
  } catch {
    return new Date(0);
  }
}

function describeConfig(config: NetworkConfig): NetworkInfo {
  return describeNetwork(config, fileTime(config));
}

export async function listNetworkInfo(ctx: NetworkScope, filters: NetworkFilters = {}): Promise<NetworkInfoListing> {
  const { networks, problems } = await ctx.cni.listNetworks();
  const matches = networkMatcher(filters);
  return {
    networks: networks
      .map(describeConfig)
      .filter(matches)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    problems: problems.map((p) => p.message),
  };
}

/** In the order asked; the first unknown name fails the whole call (NetworkNotFoundError, exit 2). */
export async function inspectNetworks(ctx: NetworkScope, names: readonly string[]): Promise<NetworkInfo[]> {
  const out: NetworkInfo[] = [];
  for (const name of names) out.push(describeConfig(await ctx.cni.loadNetwork(name)));
  return out;
}

export async function networkExists(ctx: NetworkScope, name: string): Promise<boolean> {
  validateName("network name", name);
  const { networks } = await ctx.cni.listNetworks();
  return networks.some((n) => n.name === name);
}
