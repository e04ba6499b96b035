// Who ctrnet's DNS server answers for: the DNS-enabled networks, and per container (a member file of its own)
// its name, aliases and short id with its addresses on each of them, and the gateways the server listens on
// there. Pure: built from the records.
import { type NetworkStatus, statusAddresses } from "../schema/network-status.ts";
import type { DnsContainer, DnsMemberInput, DnsNetwork } from "../schema/dns.ts";
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
 * What the server's configuration says of each served network itself (its containers are in member files,
 * dnsMemberOf).
 */
export function dnsNetworkFrames(served: readonly ServedNetwork[]): DnsNetwork[] {
  return served.map((network) => {
    const upstreams = (network.dnsServers ?? []).map((address) => ({ address, port: 53 }));
    return { name: network.name, gateways: [], subnets: [...network.subnets], internal: network.internal ?? false, containers: [], ...(upstreams.length ? { upstreams } : {}) };
  });
}

/**
 * The container's member file: its names and addresses on each served network it is attached to, with the
 * gateways there; undefined when it has none. A record being removed and what is `leaving` are left out:
 * their names stop resolving before their addresses are released.
 */
export function dnsMemberOf(rec: ContainerRecord, served: readonly ServedNetwork[], leaving?: Leaving): DnsMemberInput | undefined {
  if (rec.state === "removing" || (rec.id === leaving?.id && leaving.network === undefined)) return undefined;
  const networks: DnsMemberInput["networks"] = [];
  for (const attachment of rec.networks) {
    if (rec.id === leaving?.id && leaving.network === attachment.network) continue;
    if (!attachment.status || !served.some((n) => n.name === attachment.network)) continue;
    const addresses = statusAddresses(attachment.status);
    if (addresses.length === 0) continue;
    const id = rec.id.slice(0, SHORT_ID_LENGTH);
    const container: DnsContainer = {
      name: rec.name ?? id,
      id,
      // an explicit --hostname is an alias too, as podman's (getExtraNetworkAliases)
      aliases: [...new Set([...attachment.aliases, ...(rec.etc?.hostname ? [rec.etc.hostname] : [])])].filter((a) => a !== rec.name && a !== id),
      ipv4: addresses.filter((a) => !a.includes(":")),
      ipv6: addresses.filter((a) => a.includes(":")),
      ...(rec.etc?.dns?.length ? { dnsServers: [...rec.etc.dns] } : {}),
    };
    networks.push({ network: attachment.network, gateways: gatewaysOf(attachment.status), container });
  }
  return networks.length ? { networks } : undefined;
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
