// What the server knows, in the shape queries need it: per network, names -> addresses and addresses -> names;
// and which networks a client belongs to. Built once per configuration and then only read, so a reload swaps
// in a new Zone while queries in flight finish on the old one.
import { type Cidr, formatIP, parseCidr, parseIP } from "../../ip/codec.ts";
import type { DnsConfig, DnsUpstream } from "../../schema/dns.ts";
import { subnetContains } from "../../schema/ip.ts";

/** ctrnet's own search domain: `web.dns.ctrnet` is `web`. */
export const SEARCH_DOMAIN = "dns.ctrnet";
const SUFFIX = `.${SEARCH_DOMAIN}`;

export interface Addresses {
  ipv4: string[];
  ipv6: string[];
}

interface ZoneNetwork {
  name: string;
  internal: boolean;
  subnets: Cidr[];
  /** lowercased name, alias or short id -> addresses on this network */
  names: Map<string, Addresses>;
  /** canonical address -> names, the container's name first */
  reverse: Map<string, string[]>;
  /** The network's own DNS servers (podman's network `--dns`), if it has any. */
  upstreams?: DnsUpstream[];
}

export interface ClientView {
  networks: ZoneNetwork[];
  /** Every network the client is on is internal: nothing is forwarded for it. */
  internal: boolean;
  /**
   * The client's own `--dns` servers when it has some, else its networks' own DNS servers, in order, when one
   * of them has some (aardvark-dns's per-container, then per-network servers).
   */
  upstreams?: DnsUpstream[];
}

/** Distinct client addresses remembered per zone; beyond it, lookups are computed each time. */
const CLIENT_CACHE_LIMIT = 4096;

export class Zone {
  private readonly networks: ZoneNetwork[] = [];
  /** A container's address -> every network that container (by id) is on, as aardvark-dns counts membership. */
  private readonly memberships = new Map<string, ZoneNetwork[]>();
  private readonly clients = new Map<string, ClientView | null>();
  /** A container's address -> its own `--dns` servers, which come before its networks' (aardvark-dns's order). */
  private readonly ownUpstreams = new Map<string, DnsUpstream[]>();

  constructor(config: DnsConfig) {
    const byContainer = new Map<string, { networks: ZoneNetwork[]; addresses: string[] }>();
    for (const n of config.networks) {
      const net: ZoneNetwork = {
        name: n.name,
        internal: n.internal,
        subnets: n.subnets.map((s) => parseCidr(s)!),
        names: new Map(),
        reverse: new Map(),
        ...(n.upstreams?.length ? { upstreams: n.upstreams } : {}),
      };
      this.networks.push(net);
      for (const c of n.containers) {
        const names = [...new Set([c.name, ...c.aliases, c.id])];
        for (const key of names.map((x) => x.toLowerCase())) {
          const entry = net.names.get(key) ?? { ipv4: [], ipv6: [] };
          entry.ipv4.push(...c.ipv4);
          entry.ipv6.push(...c.ipv6);
          net.names.set(key, entry);
        }
        const member = byContainer.get(c.id) ?? { networks: [], addresses: [] };
        if (!member.networks.includes(net)) member.networks.push(net);
        for (const ip of [...c.ipv4, ...c.ipv6]) {
          net.reverse.set(ip, [...(net.reverse.get(ip) ?? []), ...names]);
          member.addresses.push(ip);
          if (c.upstreams?.length) this.ownUpstreams.set(ip, c.upstreams);
        }
        byContainer.set(c.id, member);
      }
    }
    for (const { networks, addresses } of byContainer.values()) {
      for (const ip of addresses) {
        const list = this.memberships.get(ip) ?? [];
        for (const n of networks) if (!list.includes(n)) list.push(n);
        this.memberships.set(ip, list);
      }
    }
  }

  /** The networks a query from this address may see, or null when it comes from none of them (REFUSED). */
  client(address: string): ClientView | null {
    const cached = this.clients.get(address);
    if (cached !== undefined) return cached;
    const view = this.computeClient(address);
    if (this.clients.size < CLIENT_CACHE_LIMIT) this.clients.set(address, view);
    return view;
  }

  private computeClient(address: string): ClientView | null {
    const bytes = parseIP(address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address);
    if (bytes === null) return null;
    const canonical = formatIP(bytes);
    const networks = this.memberships.get(canonical) ?? this.networks.filter((n) => n.subnets.some((s) => subnetContains(s, bytes)));
    if (networks.length === 0) return null;
    const upstreams: DnsUpstream[] = [];
    for (const u of this.ownUpstreams.get(canonical) ?? networks.flatMap((n) => n.upstreams ?? [])) {
      if (!upstreams.some((x) => x.address === u.address && x.port === u.port)) upstreams.push(u);
    }
    return { networks, internal: networks.every((n) => n.internal), ...(upstreams.length ? { upstreams } : {}) };
  }

  /** A query name without its final dot, lowercased, and whether it was under the search domain. */
  static localName(name: string): { name: string; inDomain: boolean } {
    const lower = name.toLowerCase();
    if (lower === SEARCH_DOMAIN) return { name: "", inDomain: true };
    if (lower.endsWith(SUFFIX)) return { name: lower.slice(0, -SUFFIX.length), inDomain: true };
    return { name: lower, inDomain: false };
  }

  /** The addresses of a name on the client's networks, or undefined when none of them has it. */
  lookup(view: ClientView, name: string): Addresses | undefined {
    let found: Addresses | undefined;
    for (const net of view.networks) {
      const entry = net.names.get(name);
      if (!entry) continue;
      if (!found) found = { ipv4: [...entry.ipv4], ipv6: [...entry.ipv6] };
      else {
        found.ipv4.push(...entry.ipv4.filter((ip) => !found!.ipv4.includes(ip)));
        found.ipv6.push(...entry.ipv6.filter((ip) => !found!.ipv6.includes(ip)));
      }
    }
    return found;
  }

  /** The names of the container that has this address on one of the client's networks. */
  reverse(view: ClientView, address: string): string[] | undefined {
    for (const net of view.networks) {
      const names = net.reverse.get(address);
      if (names) return names;
    }
    return undefined;
  }

  /** Every gateway the configuration names, for the listeners. */
  static gateways(config: DnsConfig): string[] {
    return [...new Set(config.networks.flatMap((n) => n.gateways))];
  }
}

/** `2.0.89.10.in-addr.arpa` -> `10.89.0.2`; the 32-nibble ip6.arpa form -> canonical IPv6; else null. */
export function reverseAddress(name: string): string | null {
  const lower = name.toLowerCase();
  if (lower.endsWith(".in-addr.arpa")) {
    const parts = lower.slice(0, -".in-addr.arpa".length).split(".");
    if (parts.length !== 4) return null;
    const ip = parseIP(parts.reverse().join("."));
    return ip ? formatIP(ip) : null;
  }
  if (lower.endsWith(".ip6.arpa")) {
    const nibbles = lower.slice(0, -".ip6.arpa".length).split(".");
    if (nibbles.length !== 32 || nibbles.some((x) => !/^[0-9a-f]$/.test(x))) return null;
    const hex = nibbles.reverse().join("");
    const ip = parseIP(hex.match(/.{4}/g)!.join(":"));
    return ip ? formatIP(ip) : null;
  }
  return null;
}
