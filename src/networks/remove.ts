// `network rm` and `network prune`: the configuration file, then what the network left on the host (its
// bridge, host-local's allocations). Removal keeps going past a failed step and reports them all.
import { rmSync, unlinkSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import type { NetworkConfig } from "../drivers/cni/config.ts";
import { OWN_PLUGIN_TYPE } from "../drivers/cni/exec.ts";
import { Firewall } from "../drivers/firewall/index.ts";
import { HOST_LOCAL_DATA_DIR } from "../drivers/ipam/index.ts";
import { hostUid } from "../identity.ts";
import { close } from "../../ffi/libc.ts";
import { netnsUsable, openNetns } from "../netns/index.ts";
import { withLock } from "../state/lock.ts";
import { ErrorList, UsageError } from "../errors.ts";
import type { NetworkScope } from "./store.ts";
import { DEFAULT_NETWORK } from "./default.ts";
import { deleteBridge } from "./host.ts";
import { type NetworkFilters, networkMatcher } from "./filters.ts";
import { fileTime } from "./list.ts";
import { describeNetwork, networkBridge } from "./model.ts";
import { withNetworksLock } from "./store.ts";

/** Takes one container off one network; the lifecycle's disconnect, passed in so this layer needs none of it. */
export type DetachContainer = (containerId: string, network: string) => Promise<void>;

export type RemoveOptions = { force?: false } | { force: true; detach: DetachContainer };

/** Ids of the containers whose records list the network, oldest first. */
export function containersUsing(ctx: NetworkScope, network: string): string[] {
  return ctx
    .state()
    .list()
    .filter((r) => r.networks.some((n) => n.network === network))
    .map((r) => r.id);
}

function ipamDir(config: NetworkConfig): string | undefined {
  const ipam = config.plugins[0]!.ipam as { type: string; dataDir?: unknown } | undefined;
  if (ipam?.type !== "host-local") return undefined;
  return join(typeof ipam.dataDir === "string" ? ipam.dataDir : HOST_LOCAL_DATA_DIR, config.name);
}

/**
 * A network of ctrnet's own plugin type has its subnets and bridge in ctrnet's nftables table (of the netns
 * its bridge is in); the table goes with the last such network.
 */
function removeFirewallElements(config: NetworkConfig, netnsFd: number | undefined): void {
  const plugin = config.plugins[0]!;
  if (plugin.type !== OWN_PLUGIN_TYPE || typeof plugin.bridge !== "string" || plugin.mode === "unmanaged") return;
  const ranges = ((plugin.ipam as { ranges?: unknown } | undefined)?.ranges ?? []) as { subnet?: unknown }[][];
  const subnets = ranges.flat().flatMap((r) => (typeof r.subnet === "string" ? [r.subnet] : []));
  const fw = Firewall.open(netnsFd === undefined ? {} : { netns: netnsFd });
  try {
    // its bridge's place in the internal and isolate sets goes too (attach.ts firewallNetworkOf's reading)
    const internal = plugin.internal === true || (plugin.ipMasq === false && plugin.isGateway === false);
    const isolate = plugin.isolate === "true" || plugin.isolate === "strict" ? plugin.isolate : undefined;
    fw.removeNetwork({ bridge: plugin.bridge, subnets, ...(internal ? { internal } : {}), ...(isolate ? { isolate } : {}) });
    fw.dropIfUnused();
  } finally {
    fw.close();
  }
}

/**
 * Runs the steps where the network's bridge and firewall are: root's in the host's netns; a rootless
 * user's in the rootless netns (ctrnet runs as uid 0 of its user namespace there, hence the host's uid),
 * under its lock, if it is there: it goes with its last container, and all of them with it. Every error.
 */
async function inBridgeNetns(ctx: NetworkScope, steps: readonly ((netnsFd: number | undefined) => void)[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  const run = (netnsFd: number | undefined) => {
    for (const step of steps) {
      try {
        step(netnsFd);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  if (hostUid() === 0) {
    run(undefined);
    return errors;
  }
  const paths = ctx.rootlessNetns;
  if (paths === undefined || !netnsUsable(paths.netns)) return errors;
  await withLock(paths.lockFile, () => {
    if (!netnsUsable(paths.netns)) return;
    const fd = openNetns(paths.netns);
    try {
      run(fd);
    } finally {
      close(fd);
    }
  });
  return errors;
}

async function detachAll(network: string, ids: readonly string[], detach: DetachContainer): Promise<void> {
  const errors: unknown[] = [];
  for (const id of ids) {
    try {
      await detach(id, network);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw new ErrorList(`network ${network}: removing containers from it`, errors);
}

/** Removes the file, then the bridge unless another network uses it too, then the address allocations. */
async function removeLocked(ctx: NetworkScope, config: NetworkConfig): Promise<void> {
  const others = (await ctx.cni.listNetworks()).networks.filter((n) => n.name !== config.name);
  const bridge = networkBridge(config);
  const steps: (() => void)[] = [
    () => unlinkSync(config.source),
    () => {
      const dir = ipamDir(config);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  ];
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      errors.push(err);
    }
  }
  const bridgeSteps = [
    (netnsFd: number | undefined) => {
      // an unmanaged network's bridge is the host's: never deleted (podman 5's mode=unmanaged)
      if (bridge !== undefined && config.plugins[0]?.mode !== "unmanaged" && !others.some((n) => networkBridge(n) === bridge)) deleteBridge(bridge, netnsFd);
    },
    (netnsFd: number | undefined) => removeFirewallElements(config, netnsFd),
  ];
  errors.push(...(await inBridgeNetns(ctx, bridgeSteps).catch((err: unknown) => [err])));
  if (errors.length) throw new ErrorList(`removing network ${config.name}`, errors);
}

/** `nameOrId` as a user gives it: a name, an id or a unique id prefix. */
export async function removeNetwork(ctx: NetworkScope, nameOrId: string, options: RemoveOptions = {}): Promise<void> {
  // podman's words for its default network, written or not (it is listed either way)
  if (nameOrId === DEFAULT_NETWORK) throw new UsageError(`default network ${DEFAULT_NETWORK} cannot be removed`);
  const config = await ctx.cni.resolveNetwork(nameOrId);
  const name = config.name;
  if (name === DEFAULT_NETWORK) throw new UsageError(`default network ${DEFAULT_NETWORK} cannot be removed`);
  const users = containersUsing(ctx, name);
  if (users.length) {
    if (!options.force) {
      // podman's words, though ctrnet's -f disconnects the containers rather than deleting them
      throw new UsageError(`"${name}" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used by ${users.join(" ")}`);
    }
    await detachAll(name, users, options.detach);
  }
  await withNetworksLock(ctx, () => removeLocked(ctx, config));
}

/** Removes every network no container uses, except the default one; returns their names, sorted. */
export async function pruneNetworks(ctx: NetworkScope, filters: NetworkFilters = {}): Promise<string[]> {
  const { networks } = await ctx.cni.listNetworks();
  const inUse = new Set(ctx.state().list().flatMap((r) => r.networks.map((n) => n.network)));
  const matches = networkMatcher(filters, inUse);
  const unused = networks
    .filter((n) => n.name !== DEFAULT_NETWORK && !inUse.has(n.name) && matches(describeNetwork(n, fileTime(n))))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const removed: string[] = [];
  const errors: unknown[] = [];
  for (const config of unused) {
    try {
      await withNetworksLock(ctx, () => removeLocked(ctx, config));
      removed.push(config.name);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw new ErrorList(`pruning networks (removed: ${removed.join(" ") || "none"})`, errors);
  return removed;
}
