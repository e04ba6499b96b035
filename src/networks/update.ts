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

/** Rewrites the network's DNS servers; the caller tells ctrnet's DNS server (lifecycle syncDns). */
export function updateNetwork(ctx: NetworkScope, nameOrId: string, request: UpdateNetworkRequest): Promise<NetworkInfo> {
  if (request.dnsAdd.length === 0 && request.dnsDrop.length === 0) throw new UsageError("network update needs --dns-add or --dns-drop");
  // listed even before a container made it (list.ts), so refused by name whether its file exists or not
  if (nameOrId === DEFAULT_NETWORK) throw new UsageError(`default network ${DEFAULT_NETWORK} cannot be modified`);
  return withNetworksLock(ctx, async () => {
    const config = await ctx.cni.resolveNetwork(nameOrId);
    if (config.name === DEFAULT_NETWORK) throw new UsageError(`default network ${DEFAULT_NETWORK} cannot be modified`);
    const servers = updateDnsServers(networkDnsServers(config), request.dnsAdd, request.dnsDrop);
    const json = JSON.parse(new TextDecoder().decode(config.bytes)) as Record<string, unknown>;
    const args = { ...((json.args as Record<string, unknown> | undefined) ?? {}) };
    if (servers.length) args.ctrnet_dns_servers = servers;
    else delete args.ctrnet_dns_servers;
    const { args: _, ...rest } = json;
    replaceConflist(config.source, { ...rest, ...(Object.keys(args).length ? { args } : {}) });
    return describeNetwork(await ctx.cni.loadNetwork(config.name), new Date());
  });
}
