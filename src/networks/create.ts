// `network create` and the default network, under the networks lock so that concurrent creates see each
// other's subnets, bridges and names.
import { unlinkSync } from "../../ffi/fs.ts";
import type { NetworkConfig } from "../drivers/cni/config.ts";
import { hostUid } from "../identity.ts";
import { log } from "../log.ts";
import { errorMessage } from "../errors.ts";
import { Netlink } from "../netlink/index.ts";
import type { NetworkScope } from "./store.ts";
import { DEFAULT_NETWORK, defaultNetworkRequest } from "./default.ts";
import { describeNetwork, type NetworkInfo } from "./model.ts";
import type { CreateNetworkRequest } from "./options.ts";
import { checkRequest, planNetwork } from "./plan.ts";
import { reservationOf, reserve } from "./reserve.ts";
import { withNetworksLock, writeConflist } from "./store.ts";
import { surroundings } from "./surroundings.ts";

/**
 * Root's native bridge networks hold their gateway addresses on the host from creation on, so podman's
 * CNI backend takes their subnets as used (reserve.ts). The new network's reservation must succeed (its
 * conflist goes if not); the others' (gone after a reboot) are made again on the way, as far as they can be.
 * A rootless user's bridges live in the rootless netns, which podman does not look into.
 */
function reserveSubnets(created: NetworkConfig, others: readonly NetworkConfig[]): void {
  if (hostUid() !== 0) return;
  using nl = Netlink.open();
  for (const other of others) {
    const r = reservationOf(other);
    try {
      if (r) reserve(nl, r);
    } catch (err) {
      log.warn(`network ${other.name}: ${errorMessage(err)}`);
    }
  }
  const mine = reservationOf(created);
  if (mine === undefined) return;
  try {
    reserve(nl, mine);
  } catch (err) {
    unlinkSync(created.source);
    throw err;
  }
}

/** Writes the default network's conflist if it has none; true if it did. Call with the lock held. */
async function ensureDefaultLocked(ctx: NetworkScope): Promise<boolean> {
  const listing = await ctx.cni.listNetworks();
  if (listing.networks.some((n) => n.name === DEFAULT_NETWORK)) return false;
  const plan = planNetwork(defaultNetworkRequest(), surroundings(ctx, listing));
  writeConflist(ctx.cniConfigDir, plan.name, plan.conflist);
  reserveSubnets(await ctx.cni.loadNetwork(plan.name), listing.networks);
  return true;
}

/** Creates the default network `ctrnet` (bridge ctrnet0, a free subnet) if it is missing; true if it did. */
export function ensureDefaultNetwork(ctx: NetworkScope): Promise<boolean> {
  return withNetworksLock(ctx, () => ensureDefaultLocked(ctx));
}

/** Creates a network; the default one is made only when a container uses it. */
export async function createNetwork(ctx: NetworkScope, request: CreateNetworkRequest): Promise<NetworkInfo> {
  // bad flags are refused before the lock: nothing made on a host that had no state yet
  checkRequest(request);
  return withNetworksLock(ctx, async () => {
    const listing = await ctx.cni.listNetworks();
    const plan = planNetwork(request, surroundings(ctx, listing));
    writeConflist(ctx.cniConfigDir, plan.name, plan.conflist);
    const created = await ctx.cni.loadNetwork(plan.name);
    reserveSubnets(created, listing.networks);
    return describeNetwork(created, new Date());
  });
}
