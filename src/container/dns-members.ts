// Who ctrnet's DNS server answers for: per DNS-enabled network, each container on it by name, aliases and
// short id with its addresses there, and the gateways the server listens on. Pure: built from the records.
import { type NetworkStatus, statusAddresses } from "../schema/network-status.ts";
import type { DnsContainer, DnsNetwork } from "../schema/dns.ts";
import type { ContainerRecord } from "../state/index.ts";

/** As docker and podman abbreviate ids; the abbreviation resolves as a name. */
export const SHORT_ID_LENGTH = 12;

/** A network the server serves, as its configuration says. */
export interface ServedNetwork {
  name: string;
  subnets: readonly string[];
  /** podman's --internal: names of its containers only, nothing forwarded for a client on internal networks only. */
  internal?: boolean;
  /** podman's network `--dns`: where the server forwards its containers' other names. */
  dnsServers?: readonly string[];
}

function gatewaysOf(status: NetworkStatus): string[] {
  return status.interfaces.flatMap((i) => i.addresses.flatMap((a) => (a.gateway ? [a.gateway] : [])));
}

/** What is about to go: a whole container (`id`), or one network of it (`id` and `network`). */
export interface Leaving {
  id: string;
  network?: string;
}

/**
 * The server's networks: only those with a container on them, and with a gateway to listen on. Records being removed and
 * what is `leaving` are left out: their names stop resolving before their addresses are released.
 */
export function dnsNetworks(records: readonly ContainerRecord[], served: readonly ServedNetwork[], leaving?: Leaving): DnsNetwork[] {
  const out: DnsNetwork[] = [];
  for (const network of served) {
    const containers: DnsContainer[] = [];
    const gateways = new Set<string>();
    for (const rec of records) {
      if (rec.state === "removing" || (rec.id === leaving?.id && (leaving.network === undefined || leaving.network === network.name))) continue;
      const attachment = rec.networks.find((n) => n.network === network.name);
      if (!attachment?.status) continue;
      const addresses = statusAddresses(attachment.status);
      if (addresses.length === 0) continue;
      for (const g of gatewaysOf(attachment.status)) gateways.add(g);
      const id = rec.id.slice(0, SHORT_ID_LENGTH);
      containers.push({
        name: rec.name ?? id,
        id,
        // an explicit --hostname is an alias too, as podman's (getExtraNetworkAliases)
        aliases: [...new Set([...attachment.aliases, ...(rec.etc?.hostname ? [rec.etc.hostname] : [])])].filter((a) => a !== rec.name && a !== id),
        ipv4: addresses.filter((a) => !a.includes(":")),
        ipv6: addresses.filter((a) => a.includes(":")),
        ...(rec.etc?.dns?.length ? { upstreams: rec.etc.dns.map((address) => ({ address, port: 53 })) } : {}),
      });
    }
    if (containers.length === 0 || gateways.size === 0) continue;
    const upstreams = (network.dnsServers ?? []).map((address) => ({ address, port: 53 }));
    out.push({ name: network.name, gateways: [...gateways], subnets: [...network.subnets], internal: network.internal ?? false, containers, ...(upstreams.length ? { upstreams } : {}) });
  }
  return out;
}

/** The gateway of the container's first DNS-served network, which its resolv.conf names first. */
export function dnsNameservers(rec: ContainerRecord, served: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const attachment of rec.networks) {
    if (!served.has(attachment.network) || !attachment.status) continue;
    for (const g of gatewaysOf(attachment.status)) if (!out.includes(g)) out.push(g);
  }
  return out;
}
