// CNI ADD and DEL of one of a container's networks, with what podman's getPodNetwork hands ocicni: the
// port mappings the network carries, a requested IP and MAC, the aliases, and the pod-name CNI_ARGS.
import type { CachedAttachment } from "./cache.ts";
import { NetworkNotFoundError, type NetworkConfig } from "./config.ts";
import type { CniRuntime } from "./runtime.ts";
import { readCache } from "./cache.ts";
import type { CniArgs } from "./settings.ts";
import { type NetworkStatus, statusFromCniResult } from "../../schema/network-status.ts";
import { type PortMapping, toCniPortMappings } from "../../schema/ports.ts";
import type { ContainerRecord, NetworkAttachment } from "../../state/index.ts";
import { networkAliases } from "../../container/aliases.ts";
import { HOST_IFNAME_ARG } from "../../schema/ctrnet-plugin.ts";

/** What the CNI driver needs of a command's context (the lifecycle's Context is one). */
export interface CniDriverEnv {
  readonly cni: CniRuntime;
  readonly netnsDir: string;
  readonly runtimeDir: string;
}

export interface AttachOptions {
  /** The published ports this network carries (portmap's capability argument). */
  ports?: readonly PortMapping[];
  /** Addresses to ask IPAM for (no prefix length), e.g. a --ip, or the ones kept across a reload. */
  ips?: readonly string[];
  mac?: string;
  /** podman 5's host_interface_name=: the host end's name (ctrnet's bridge plugin; CNI_ARGS CTRNET_HOST_IFNAME). */
  hostIfname?: string;
}

function declares(network: NetworkConfig, capability: string): boolean {
  return network.plugins.some((p) => p.capabilities?.[capability] === true);
}

/**
 * ocicni's CNI_ARGS; IP and MAC go there only for a network whose plugins don't take them as capability
 * arguments (IgnoreUnknown keeps plugins that don't know the keys from failing).
 */
function cniArgs(rec: ContainerRecord, network: NetworkConfig, opts: AttachOptions): CniArgs {
  const podName = rec.name ?? rec.id;
  const args: [string, string][] = [
    ["IgnoreUnknown", "1"],
    ["K8S_POD_NAMESPACE", podName],
    ["K8S_POD_NAME", podName],
    ["K8S_POD_INFRA_CONTAINER_ID", rec.id],
  ];
  const ip = opts.ips?.[0];
  if (ip !== undefined && !declares(network, "ips")) args.push(["IP", ip]);
  if (opts.mac !== undefined && !declares(network, "mac")) args.push(["MAC", opts.mac]);
  if (opts.hostIfname !== undefined) args.push([HOST_IFNAME_ARG, opts.hostIfname]);
  return args;
}


function withHostIfname(attachment: NetworkAttachment, opts: AttachOptions): AttachOptions {
  return attachment.hostIfname === undefined ? opts : { ...opts, hostIfname: attachment.hostIfname };
}

function capabilityArgs(rec: ContainerRecord, network: NetworkConfig, attachment: NetworkAttachment, opts: AttachOptions): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  if (opts.ports?.length) args.portMappings = toCniPortMappings(opts.ports);
  if (opts.ips?.length) args.ips = [...opts.ips];
  if (opts.mac !== undefined) args.mac = opts.mac;
  args.aliases = { [network.name]: networkAliases(rec, attachment) };
  return args;
}

export async function addNetwork(
  ctx: CniDriverEnv,
  rec: ContainerRecord,
  attachment: NetworkAttachment,
  netnsPath: string,
  opts: AttachOptions = {},
): Promise<NetworkStatus> {
  const network = await ctx.cni.loadNetwork(attachment.network);
  const result = await ctx.cni.add({
    network,
    containerId: rec.id,
    netnsPath,
    ifName: attachment.ifname,
    capabilityArgs: capabilityArgs(rec, network, attachment, opts),
    cniArgs: cniArgs(rec, network, withHostIfname(attachment, opts)),
  });
  return statusFromCniResult(result, attachment.ifname);
}

/**
 * The configuration the attachment was made with, as cached at ADD, so a network whose file was changed
 * or removed since is still torn down as it was set up; the current file when nothing was cached.
 */
export async function networkForDel(ctx: CniDriverEnv, containerId: string, attachment: NetworkAttachment): Promise<NetworkConfig | undefined> {
  const entry = await cachedAttachment(ctx, containerId, attachment);
  const fromCache = entry && ctx.cni.cachedNetwork(entry);
  if (fromCache) return fromCache;
  try {
    return await ctx.cni.loadNetwork(attachment.network);
  } catch (err) {
    if (err instanceof NetworkNotFoundError) return undefined;
    throw err;
  }
}

/** The attachment's cache file, if there is a usable one: one file read, not a scan of the cache. */
export async function cachedAttachment(ctx: CniDriverEnv, containerId: string, attachment: NetworkAttachment): Promise<CachedAttachment | undefined> {
  try {
    return await readCache(ctx.cni.cacheDir, { network: attachment.network, containerId, ifName: attachment.ifname });
  } catch {
    return undefined;
  }
}

/**
 * DEL with everything ADD was given, so plugins that need it (portmap's rules, the MAC) find it even when
 * the cache is gone. netnsPath undefined: the namespace is gone and only host-side state is released.
 * false when there was nothing to DEL with (no cached or current configuration of the network).
 */
export async function delNetwork(
  ctx: CniDriverEnv,
  rec: ContainerRecord,
  attachment: NetworkAttachment,
  netnsPath: string | undefined,
  opts: AttachOptions = {},
): Promise<boolean> {
  const network = await networkForDel(ctx, rec.id, attachment);
  if (!network) return false;
  await ctx.cni.del({
    network,
    containerId: rec.id,
    netnsPath: netnsPath ?? "",
    ifName: attachment.ifname,
    capabilityArgs: capabilityArgs(rec, network, attachment, opts),
    cniArgs: cniArgs(rec, network, withHostIfname(attachment, opts)),
  });
  return true;
}
