// `network update NAME --dns-add IP --dns-drop IP` (podman 4.5+): the network's own DNS servers, kept in
// its conflist's `args` (ctrnet_dns_servers) and nowhere else, so the file stays what every reader knows.
import { UsageError } from "../errors.ts";
import { DEFAULT_NETWORK } from "./default.ts";
import { updateDnsServers } from "./dns-servers.ts";
import { describeNetwork, type NetworkInfo, networkDnsServers } from "./model.ts";
import { type NetworkScope, replaceConflist, withNetworksLock } from "./store.ts";

export interface UpdateNetworkRequest {
  dnsAdd: readonly string[];
  dnsDrop: readonly string[];
}

/**
 * Rewrites the network's DNS servers; the caller tells ctrnet's DNS server (lifecycle syncDns). As podman's
 * NetworkUpdate, a change that changes nothing (no flag, or dropping a server it lacks) writes nothing and
 * is no error, once the network is found.
 */
export function updateNetwork(ctx: NetworkScope, nameOrId: string, request: UpdateNetworkRequest): Promise<NetworkInfo> {
  // listed even before a container made it (list.ts), so refused by name whether its file exists or not
  if (nameOrId === DEFAULT_NETWORK) throw new UsageError(`default network ${DEFAULT_NETWORK} cannot be modified`);
  return withNetworksLock(ctx, async () => {
    const config = await ctx.cni.resolveNetwork(nameOrId);
    if (config.name === DEFAULT_NETWORK) throw new UsageError(`default network ${DEFAULT_NETWORK} cannot be modified`);
    const before = networkDnsServers(config);
    const servers = updateDnsServers(before, request.dnsAdd, request.dnsDrop);
    if (servers.length === before.length && servers.every((server, i) => server === before[i])) return describeNetwork(config, new Date());
    const json = JSON.parse(new TextDecoder().decode(config.bytes)) as Record<string, unknown>;
    const args = { ...((json.args as Record<string, unknown> | undefined) ?? {}) };
    if (servers.length) args.ctrnet_dns_servers = servers;
    else delete args.ctrnet_dns_servers;
    const { args: _, ...rest } = json;
    replaceConflist(config.source, { ...rest, ...(Object.keys(args).length ? { args } : {}) });
    return describeNetwork(await ctx.cni.loadNetwork(config.name), new Date());
  });
}
