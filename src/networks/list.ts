// Reading networks back: ls, inspect, exists.
import { statSync } from "../../ffi/fs.ts";
import { type NetworkConfig, type NetworkListing, NetworkNotFoundError, networkId, parseNetworkConfig } from "../drivers/cni/config.ts";
import type { NetworkScope } from "./store.ts";
import { DEFAULT_NETWORK, defaultNetworkRequest } from "./default.ts";
import { planNetwork } from "./plan.ts";
import { surroundings } from "./surroundings.ts";
import { containerInfo, type NetworkContainerInfo } from "./containers.ts";
import { networkMatcher, type NetworkFilters } from "./filters.ts";
import { describeNetwork, type NetworkInfo } from "./model.ts";

export interface NetworkInfoListing {
  /** Sorted by name. */
  networks: NetworkInfo[];
  /** One line per configuration file that could not be read, naming the file. */
  problems: string[];
}

export function fileTime(config: NetworkConfig): Date {
  try {
    return statSync(config.source).mtime;
  } catch {
    return new Date(0);
  }
}

/** Where the default network's configuration says it comes from while it is not written yet. */
const UNWRITTEN = "(default network, written when a container first uses it)";

function describeConfig(config: NetworkConfig): NetworkInfo {
  return describeNetwork(config, config.source === UNWRITTEN ? new Date() : fileTime(config));
}

/**
 * The default network as it would be made now, while no conflist names it: podman's default network is
 * always listed (kept in memory until used), and ctrnet's is shown the same way in ls, inspect and exists,
 * without writing anything. Undefined when it is written already, or could not be planned (its plugins
 * missing: the first container using it says why).
 */
function unwrittenDefault(ctx: NetworkScope, listing: NetworkListing): NetworkConfig | undefined {
  if (listing.networks.some((n) => n.name === DEFAULT_NETWORK)) return undefined;
  try {
    const plan = planNetwork(defaultNetworkRequest(), surroundings(ctx, listing));
    return parseNetworkConfig(JSON.stringify(plan.conflist), UNWRITTEN);
  } catch {
    return undefined;
  }
}

/** ctx.cni.resolveNetwork, knowing the unwritten default network too. */
async function resolveWithDefault(ctx: NetworkScope, nameOrId: string): Promise<NetworkConfig> {
  try {
    return await ctx.cni.resolveNetwork(nameOrId);
  } catch (err) {
    if (!(err instanceof NetworkNotFoundError)) throw err;
    if (nameOrId !== DEFAULT_NETWORK && !networkId(DEFAULT_NETWORK).startsWith(nameOrId)) throw err;
    const unwritten = unwrittenDefault(ctx, await ctx.cni.listNetworks());
    if (!unwritten) throw err;
    return unwritten;
  }
}

function networksInUse(ctx: NetworkScope): Set<string> {
  return new Set(ctx.state().list().flatMap((r) => r.networks.map((n) => n.network)));
}

export async function listNetworkInfo(ctx: NetworkScope, filters: NetworkFilters = {}): Promise<NetworkInfoListing> {
  const listing = await ctx.cni.listNetworks();
  const { networks, problems } = listing;
  const unwritten = unwrittenDefault(ctx, listing);
  const matches = networkMatcher(filters, networksInUse(ctx));
  return {
    networks: [...networks, ...(unwritten ? [unwritten] : [])]
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
    const config = await resolveWithDefault(ctx, nameOrId);
    out.push({ ...describeConfig(config), containers: attachedContainers(ctx, config.name) });
  }
  return out;
}

export async function networkExists(ctx: NetworkScope, nameOrId: string): Promise<boolean> {
  try {
    await resolveWithDefault(ctx, nameOrId);
    return true;
  } catch (err) {
    if (err instanceof NetworkNotFoundError) return false;
    throw err;
  }
}
