// What the server knows, in the shape queries need it: per network, names -> containers and addresses ->
// containers; and which networks a client belongs to. Built from the configuration and the member files
// (one per container, see schema/dns.ts DnsMember), then changed one member at a time on reload: a create or
// rm costs the server the same with a thousand containers as with one. Queries run between changes, never
// during one (one thread); a query forwarded meanwhile answers from the upstream, not from here.
import { type Cidr, formatIP, parseCidr, parseIP } from "../../ip/codec.ts";
import type { DnsConfig, DnsContainer, DnsMember, DnsUpstream } from "../../schema/dns.ts";
import { subnetContains } from "../../schema/ip.ts";

/** ctrnet's own search domain: `web.dns.ctrnet` is `web`. */
export const SEARCH_DOMAIN = "dns.ctrnet";
/** Answered as ctrnet's own: podman's domain too, which images and scripts made for podman ask for (`web.dns.podman`). */
const DOMAINS = [SEARCH_DOMAIN, "dns.podman"];

export interface Addresses {
  ipv4: string[];
  ipv6: string[];
}

/** One container on one network. */
interface Entry {
  net: ZoneNetwork;
  container: DnsContainer;
  /** Its name, aliases and short id, the name first, as written (PTR answers). */
  names: string[];
  /** The network's gateways as this container has them. */
  gateways: readonly string[];
}

interface ZoneNetwork {
  name: string;
  /** Its place in the configuration: a client's networks come in this order. */
  order: number;
  internal: boolean;
  subnets: Cidr[];
  /** lowercased name, alias or short id -> the entries that have it */
  names: Map<string, Entry[]>;
  /** canonical address -> the entries that have it, the first listed first */
  reverse: Map<string, Entry[]>;
  /** The network's own DNS servers (podman's network `--dns`), if it has any. */
  upstreams?: DnsUpstream[];
  /** Gateways the configuration names, listened on whether or not a container is there. */
  fixedGateways: string[];
  /** Gateways its members name -> how many of them do: listened on while one does. */
  gateways: Map<string, number>;
  /** Containers on it: a client is refused on a network with none. */
  size: number;
}

export interface ClientView {
  networks: ZoneNetwork[];
  /** Every network the client is on is internal: nothing is forwarded for it. */
  internal: boolean;
  /** Its own `--dns` servers, else its networks' own DNS servers in order, when there are some (aardvark-dns's). */
  upstreams?: DnsUpstream[];
}

/** Distinct client addresses remembered per zone; beyond it, lookups are computed each time. */
const CLIENT_CACHE_LIMIT = 4096;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function drop<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (!list) return;
  const rest = list.filter((x) => x !== value);
  if (rest.length) map.set(key, rest);
  else map.delete(key);
}

export class Zone {
  private readonly networks: ZoneNetwork[] = [];
  private readonly byName = new Map<string, ZoneNetwork>();
  /** member key (a container's id) -> its entries, one per network it is served on */
  private readonly members = new Map<string, Entry[]>();
  /** A container's address (on any network) -> the members that have it: their networks are the client's, as aardvark-dns counts membership. */
  private readonly owners = new Map<string, string[]>();
  private readonly clients = new Map<string, ClientView | null>();

  /** The configuration's networks, with the containers it lists itself, and then each member given. */
  constructor(config: DnsConfig, members: Iterable<[string, DnsMember]> = []) {
    for (const [order, n] of config.networks.entries()) {
      const net: ZoneNetwork = {
        name: n.name,
        order,
        internal: n.internal,
        subnets: n.subnets.map((s) => parseCidr(s)!),
        names: new Map(),
        reverse: new Map(),
        ...(n.upstreams?.length ? { upstreams: n.upstreams } : {}),
        fixedGateways: n.gateways,
        gateways: new Map(),
        size: 0,
      };
      this.networks.push(net);
      this.byName.set(n.name, net);
    }
    // the configuration's own containers: one member per short id, as it lists them under each network
    const listed = new Map<string, DnsMember>();
    for (const n of config.networks) {
      for (const c of n.containers) {
        const m = listed.get(c.id) ?? { networks: [] };
        m.networks.push({ network: n.name, gateways: [], container: c });
        listed.set(c.id, m);
      }
    }
    for (const [id, m] of listed) this.setMember(`config:${id}`, m);
    for (const [key, m] of members) this.setMember(key, m);
  }

  /** How many members (containers) it serves. */
  get size(): number {
    return this.members.size;
  }

  /** Replaces what member `key` says (none: it is gone). Entries for networks not configured are left out. */
  setMember(key: string, member: DnsMember | undefined): void {
    this.clients.clear();
    const before = this.members.get(key);
    if (before) {
      this.members.delete(key);
      for (const e of before) {
        const c = e.container;
        for (const name of e.names) drop(e.net.names, name.toLowerCase(), e);
        for (const ip of [...c.ipv4, ...c.ipv6]) {
          drop(e.net.reverse, ip, e);
          drop(this.owners, ip, key);
        }
        countGateways(e.net, e.gateways, -1);
        e.net.size--;
      }
    }
    if (!member) return;
    const entries: Entry[] = [];
    for (const { network, gateways, container: c } of member.networks) {
      const net = this.byName.get(network);
      if (!net) continue;
      const e: Entry = { net, container: c, names: [...new Set([c.name, ...c.aliases, c.id])], gateways };
      entries.push(e);
      for (const name of e.names) {
        push(net.names, name.toLowerCase(), e);
      }
      for (const ip of [...c.ipv4, ...c.ipv6]) {
        push(net.reverse, ip, e);
        if (!this.owners.get(ip)?.includes(key)) push(this.owners, ip, key);
      }
      countGateways(net, gateways, 1);
      net.size++;
    }
    if (entries.length) this.members.set(key, entries);
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
    const owners = (this.owners.get(canonical) ?? []).map((key) => this.members.get(key)!);
    let networks: ZoneNetwork[];
    let own: DnsUpstream[] | undefined;
    if (owners.length) {
      const set = new Set<ZoneNetwork>();
      for (const entries of owners) {
        for (const e of entries) {
          set.add(e.net);
          // a container's own `--dns` servers answer for its addresses, except on an internal network
          const c = e.container;
          if (c.dnsServers?.length && !e.net.internal && (c.ipv4.includes(canonical) || c.ipv6.includes(canonical))) own = c.dnsServers.map((a) => ({ address: a, port: 53 }));
        }
      }
      networks = [...set].sort((a, b) => a.order - b.order);
    } else networks = this.networks.filter((n) => n.size > 0 && n.subnets.some((s) => subnetContains(s, bytes)));
    if (networks.length === 0) return null;
    const upstreams: DnsUpstream[] = [];
    for (const u of own ?? networks.flatMap((n) => n.upstreams ?? [])) {
      if (!upstreams.some((x) => x.address === u.address && x.port === u.port)) upstreams.push(u);
    }
    return { networks, internal: networks.every((n) => n.internal), ...(upstreams.length ? { upstreams } : {}) };
  }

  /** A query name without its final dot, lowercased, and whether it was under the search domain. */
  static localName(name: string): { name: string; inDomain: boolean } {
    const lower = name.toLowerCase();
    for (const domain of DOMAINS) {
      if (lower === domain) return { name: "", inDomain: true };
      if (lower.endsWith(`.${domain}`)) return { name: lower.slice(0, -domain.length - 1), inDomain: true };
    }
    return { name: lower, inDomain: false };
  }

  /** The addresses of a name on the client's networks, or undefined when none of them has it. */
  lookup(view: ClientView, name: string): Addresses | undefined {
    let found: Addresses | undefined;
    for (const net of view.networks) {
      const entries = net.names.get(name);
      if (!entries) continue;
      const ipv4 = entries.flatMap((e) => e.container.ipv4);
      const ipv6 = entries.flatMap((e) => e.container.ipv6);
      if (!found) found = { ipv4, ipv6 };
      else {
        found.ipv4.push(...ipv4.filter((ip) => !found!.ipv4.includes(ip)));
        found.ipv6.push(...ipv6.filter((ip) => !found!.ipv6.includes(ip)));
      }
    }
    return found;
  }

  /** The names of the container that has this address on one of the client's networks. */
  reverse(view: ClientView, address: string): string[] | undefined {
    for (const net of view.networks) {
      const entries = net.reverse.get(address);
      if (entries) return entries.flatMap((e) => e.names);
    }
    return undefined;
  }

  /** Every gateway to listen on: the configuration's, and those of the networks' members. */
  gateways(): string[] {
    const out = new Set<string>();
    for (const n of this.networks) {
      for (const g of n.fixedGateways) out.add(g);
      for (const g of n.gateways.keys()) out.add(g);
    }
    return [...out];
  }
}

function countGateways(net: ZoneNetwork, gateways: readonly string[], by: 1 | -1): void {
  for (const g of new Set(gateways)) {
    const n = (net.gateways.get(g) ?? 0) + by;
    if (n > 0) net.gateways.set(g, n);
    else net.gateways.delete(g);
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
