// What networks and published ports put into the table's sets and maps: one element per subnet, bridge
// and host port (a published range is one element per port, sent in the same batch).
import * as nf from "../../netlink/nftables/index.ts";
import { parseCidr } from "../../ip/codec.ts";
import { SETS } from "./ruleset.ts";

export interface FirewallNetwork {
  /** The bridge device. */
  bridge: string;
  /** CIDRs, IPv4 and IPv6. */
  subnets: readonly string[];
  /** No traffic leaves the bridge (podman's --internal): no masquerade, forward drops. */
  internal?: boolean;
  /** podman's `-o isolate=true|strict`. */
  isolate?: "true" | "strict";
}

export type Protocol = "tcp" | "udp" | "sctp";

/** One host port DNATed to one container port. */
export interface PublishedPort {
  protocol: Protocol;
  /** Published on this host address only; on every host address when absent. */
  hostIP?: string;
  hostPort: number;
  containerIP: string;
  containerPort: number;
}

type SetRef = (typeof SETS)[keyof typeof SETS];

export interface ElementGroup {
  set: SetRef;
  elements: nf.SetElement[];
}

const isV6 = (text: string): boolean => text.includes(":");

/** The first and last address of a CIDR, as bytes. */
function bounds(cidr: string): [Uint8Array, Uint8Array] {
  const parsed = parseCidr(cidr);
  if (parsed === null) throw new RangeError(`"${cidr}" is not a CIDR`);
  const first = parsed.address.slice();
  const last = parsed.address.slice();
  for (let bit = parsed.prefixLength; bit < first.length * 8; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    first[byte]! &= ~mask;
    last[byte]! |= mask;
  }
  return [first, last];
}

/** fd00::/8: IPv6 traffic from other subnets is routed as it is, as netavark does. */
function isUniqueLocal(cidr: string): boolean {
  return /^f[cd]/i.test(cidr);
}

export function networkElements(net: FirewallNetwork): ElementGroup[] {
  const groups: ElementGroup[] = [];
  const add = (set: SetRef, elements: nf.SetElement[]) => {
    if (elements.length) groups.push({ set, elements });
  };
  const ranges = (cidrs: readonly string[]) => cidrs.flatMap((c) => nf.intervalElements(...bounds(c)));
  const v4 = net.subnets.filter((s) => !isV6(s));
  const v6 = net.subnets.filter(isV6);
  add(SETS.subnets4, ranges(v4));
  add(SETS.subnets6, ranges(v6));
  if (!net.internal) {
    add(SETS.masq4, ranges(v4));
    add(SETS.masq6, ranges(v6.filter(isUniqueLocal)));
  }
  const bridge = [{ key: nf.ifname(net.bridge) }];
  add(SETS.bridges, bridge);
  if (net.internal) add(SETS.internal, bridge);
  if (net.isolate === "true") add(SETS.isolated, bridge);
  if (net.isolate === "strict") add(SETS.strict, bridge);
  return groups;
}

export function portElements(ports: readonly PublishedPort[]): ElementGroup[] {
  const groups = new Map<SetRef, nf.SetElement[]>();
  for (const p of ports) {
    const v6 = isV6(p.containerIP);
    if (p.hostIP !== undefined && isV6(p.hostIP) !== v6) throw new RangeError(`host address ${p.hostIP} and container address ${p.containerIP} differ in family`);
    const address = v6 ? nf.ipv6 : nf.ipv4;
    const key = [nf.inetProto(p.protocol), nf.inetService(p.hostPort)];
    const set = p.hostIP === undefined ? (v6 ? SETS.ports6 : SETS.ports4) : v6 ? SETS.hostports6 : SETS.hostports4;
    const element: nf.SetElement = {
      key: p.hostIP === undefined ? nf.concat(...key) : nf.concat(address(p.hostIP), ...key),
      data: nf.concat(address(p.containerIP), nf.inetService(p.containerPort)),
    };
    const list = groups.get(set) ?? [];
    list.push(element);
    groups.set(set, list);
  }
  return [...groups].map(([set, elements]) => ({ set, elements }));
}
