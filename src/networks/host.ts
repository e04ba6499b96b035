// What the host (the netns ctrnet runs in) has that a new network must avoid, and the bridge a removed
// network leaves: read and changed over rtnetlink, never by spawning `ip`.
import { type Cidr, parseCidr } from "../ip/codec.ts";
import { isNetlinkError, Netlink } from "../netlink/index.ts";
import { maskAddress } from "../schema/ip.ts";

export interface HostAddress {
  /** The address's own subnet: 192.168.250.0/24 for 192.168.250.1/24. */
  subnet: Cidr;
  /** As the host has it, e.g. 192.168.250.1/24. */
  address: string;
  link: string;
}

export interface HostView {
  /** Destinations of the main table's routes, both families, the default routes left out. */
  routes: Cidr[];
  /** Every address of the host's interfaces, both families. */
  addresses: HostAddress[];
  /** Each link's kind ("bridge", "veth", …; null for physical and loopback devices), by name. */
  links: Map<string, string | null>;
}

function withNetlink<T>(fn: (nl: Netlink) => T, netnsFd?: number): T {
  const nl = Netlink.open(netnsFd === undefined ? {} : { netns: netnsFd });
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

export function readHost(): HostView {
  return withNetlink((nl) => {
    const links = nl.links();
    const names = new Map(links.map((l) => [l.index, l.name]));
    return {
      routes: nl
        .routes()
        .map((r) => (r.dst === "default" ? null : parseCidr(r.dst)))
        .filter((c): c is Cidr => c !== null),
      addresses: nl.addresses().flatMap((a) => {
        const cidr = parseCidr(`${a.address}/${a.prefixLength}`);
        if (cidr === null) return [];
        const subnet = { address: maskAddress(cidr.address, cidr.prefixLength), prefixLength: cidr.prefixLength };
        return [{ subnet, address: `${a.address}/${a.prefixLength}`, link: names.get(a.index) ?? `#${a.index}` }];
      }),
      links: new Map(links.map((l) => [l.name, l.kind ?? null])),
    };
  });
}

/** Deletes the bridge named `name` if there is one; another kind of link by that name is not ours to delete. */
/** In this netns, or the one netnsFd refers to (a rootless user's rootless netns). */
export function deleteBridge(name: string, netnsFd?: number): boolean {
  return withNetlink((nl) => {
    try {
      if (nl.link(name).kind !== "bridge") return false;
      nl.linkDelete(name);
      return true;
    } catch (err) {
      // No such link, or gone between the two calls: what was wanted.
      if (isNetlinkError(err, "ENODEV")) return false;
      throw err;
    }
  }, netnsFd);
}

/**
 * An address of the host that a container behind a user-mode stack (slirp4netns, a rootless user's
 * bridges) reaches it at, as podman's GetLocalIP picks host.containers.internal: the first global unicast
 * IPv4 address of a host interface, else the first global IPv6 one; undefined when the host has neither.
 */
export function hostReachableAddress(): string | undefined {
  return withNetlink((nl) => {
    let ipv6: string | undefined;
    for (const { address } of nl.addresses()) {
      if (!address.includes(":")) {
        if (!/^(127|169\.254|0)\./.test(address) && !/^(22[4-9]|2[3-5]\d)\./.test(address)) return address;
      } else if (ipv6 === undefined && !/^(::1?$|fe[89ab]|ff)/i.test(address)) {
        ipv6 = address;
      }
    }
    return ipv6;
  });
}
