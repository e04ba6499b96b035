// `network create` and the default network, under the networks lock so that concurrent creates see each
// other's subnets, bridges and names.
import type { NetworkScope } from "./store.ts";
import { DEFAULT_NETWORK, defaultNetworkRequest } from "./default.ts";
import { describeNetwork, type NetworkInfo } from "./model.ts";
import type { CreateNetworkRequest } from "./options.ts";
import { planNetwork } from "./plan.ts";
import { withNetworksLock, writeConflist } from "./store.ts";
import { surroundings } from "./surroundings.ts";

/** Writes the default network's conflist if it has none; true if it did. Call with the lock held. */
async function ensureDefaultLocked(ctx: NetworkScope): Promise<boolean> {
  const listing = await ctx.cni.listNetworks();
  if (listing.networks.some((n) => n.name === DEFAULT_NETWORK)) return false;
  const plan = planNetwork(defaultNetworkRequest(), surroundings(ctx, listing));
  writeConflist(ctx.cniConfigDir, plan.name, plan.conflist);
  return true;
}

/** Creates the default network `ctrnet` (bridge ctrnet0, a free subnet) if it is missing; true if it did. */
export function ensureDefaultNetwork(ctx: NetworkScope): Promise<boolean> {
  return withNetworksLock(ctx, () => ensureDefaultLocked(ctx));
}

/** Creates a network; the default one is made only when a container uses it. */
export function createNetwork(ctx: NetworkScope, request: CreateNetworkRequest): Promise<NetworkInfo> {
  return withNetworksLock(ctx, async () => {
    const plan = planNetwork(request, surroundings(ctx, await ctx.cni.listNetworks()));
    writeConflist(ctx.cniConfigDir, plan.name, plan.conflist);
    return describeNetwork(await ctx.cni.loadNetwork(plan.name), new Date());
  });
}
