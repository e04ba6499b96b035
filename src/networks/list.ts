// Reading networks back: ls, inspect, exists.
import { statSync } from "node:fs";
import { type NetworkConfig, NetworkNotFoundError } from "../drivers/cni/config.ts";
import type { NetworkScope } from "./store.ts";
import { containerInfo, type NetworkContainerInfo } from "./containers.ts";
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

export interface NetworkInspectInfo extends NetworkInfo {
  /** The containers attached, by id, as podman 5 shows them. */
  containers: Record<string, NetworkContainerInfo>;
}

function attachedContainers(ctx: NetworkScope, network: string): Record<string, NetworkContainerInfo> {
  const out: Record<string, NetworkContainerInfo> = {};
  for (const rec of ctx.state().list()) {
    const attachment = rec.networks.find((n) => n.network === network);
    if (attachment) out[rec.id] = containerInfo(rec.name ?? "", attachment);
  }
  return out;
}

/** In the order asked, by name, id or unique id prefix; the first unknown one fails the call (exit 2). */
export async function inspectNetworks(ctx: NetworkScope, namesOrIds: readonly string[]): Promise<NetworkInspectInfo[]> {
  const out: NetworkInspectInfo[] = [];
  for (const nameOrId of namesOrIds) {
    const config = await ctx.cni.resolveNetwork(nameOrId);
    out.push({ ...describeConfig(config), containers: attachedContainers(ctx, config.name) });
  }
  return out;
}

export async function networkExists(ctx: NetworkScope, nameOrId: string): Promise<boolean> {
  try {
    await ctx.cni.resolveNetwork(nameOrId);
    return true;
  } catch (err) {
    if (err instanceof NetworkNotFoundError) return false;
    throw err;
  }
}
