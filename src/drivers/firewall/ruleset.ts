// The one table ctrnet keeps, `inet ctrnet`. Its rules never change after the table is made: everything
// that grows with networks and containers lives in sets and maps, so the rule count stays flat and an
// attach or detach is a few elements in one batch.
//
//   sets   subnets4/6   every ctrnet subnet (internal ones too)
//          masq4/6      subnets whose traffic to the outside is masqueraded (not internal; IPv6: ULA only)
//          bridges      every ctrnet bridge; internal, isolated, strict: bridges with podman's options
//   maps   ports4/6     meta l4proto . th dport : container address . port (published on every host address)
//          hostports4/6 host address . meta l4proto . th dport : container address . port
//   nat    prerouting, output (dstnat): fib daddr type local jump hostports, which DNATs through the maps
//          postrouting (srcnat): masquerade to the outside; localhost and hairpin connections to a
//          published port, so replies come back through conntrack
//   filter forward: established and DNATed traffic passes; internal networks reach nothing outside their
//          bridge; isolated networks do not reach each other; strict ones reach no other network
import * as nf from "../../netlink/nftables/index.ts";
import { accept, addressIn, dnatThroughMap, dnatted, drop, established, interfaceIn, jump, masquerade, nfproto, prefix, toLocalAddress } from "./match.ts";

export const TABLE = { family: "inet" as const, name: "ctrnet" };
const T = { family: TABLE.family, table: TABLE.name };

export const SETS = {
  subnets4: { ...T, name: "subnets4" },
  subnets6: { ...T, name: "subnets6" },
  masq4: { ...T, name: "masq4" },
  masq6: { ...T, name: "masq6" },
  bridges: { ...T, name: "bridges" },
  internal: { ...T, name: "internal" },
  isolated: { ...T, name: "isolated" },
  strict: { ...T, name: "strict" },
  ports4: { ...T, name: "ports4" },
  ports6: { ...T, name: "ports6" },
  hostports4: { ...T, name: "hostports4" },
  hostports6: { ...T, name: "hostports6" },
} as const;

const { ipv4_addr, ipv6_addr, inet_proto, inet_service, ifname } = nf.TYPES;

/** What queueSkeleton needs of a client: a counting stand-in measures the skeleton (skeletonShape). */
export type SkeletonSink = Pick<nf.Nftables, "addTable" | "addSet" | "addChain" | "appendRule">;

/** Queues the whole table, empty of elements: sets, maps, chains and every rule. */
export function queueSkeleton(nft: SkeletonSink): void {
  nft.addTable(TABLE);
  nft.addSet({ ...SETS.subnets4, key: ipv4_addr, flags: ["interval"] });
  nft.addSet({ ...SETS.subnets6, key: ipv6_addr, flags: ["interval"] });
  nft.addSet({ ...SETS.masq4, key: ipv4_addr, flags: ["interval"] });
  nft.addSet({ ...SETS.masq6, key: ipv6_addr, flags: ["interval"] });
  for (const set of [SETS.bridges, SETS.internal, SETS.isolated, SETS.strict]) nft.addSet({ ...set, key: ifname });
  nft.addSet({ ...SETS.ports4, key: nf.concatType(inet_proto, inet_service), data: nf.concatType(ipv4_addr, inet_service) });
  nft.addSet({ ...SETS.ports6, key: nf.concatType(inet_proto, inet_service), data: nf.concatType(ipv6_addr, inet_service) });
  nft.addSet({ ...SETS.hostports4, key: nf.concatType(ipv4_addr, inet_proto, inet_service), data: nf.concatType(ipv4_addr, inet_service) });
  nft.addSet({ ...SETS.hostports6, key: nf.concatType(ipv6_addr, inet_proto, inet_service), data: nf.concatType(ipv6_addr, inet_service) });

  nft.addChain({ ...T, name: "prerouting", base: { type: "nat", hook: "prerouting", priority: -100, policy: "accept" } });
  nft.addChain({ ...T, name: "output", base: { type: "nat", hook: "output", priority: -100, policy: "accept" } });
  nft.addChain({ ...T, name: "postrouting", base: { type: "nat", hook: "postrouting", priority: 100, policy: "accept" } });
  nft.addChain({ ...T, name: "forward", base: { type: "filter", hook: "forward", priority: 0, policy: "accept" } });
  nft.addChain({ ...T, name: "hostports" });

  const rule = (chain: string, exprs: nf.Expr[]) => nft.appendRule({ ...T, chain, exprs });
  rule("prerouting", [...toLocalAddress(), jump("hostports")]);
  rule("output", [...toLocalAddress(), jump("hostports")]);
  // An address-specific publication wins over one on every address: it is looked up first.
  rule("hostports", [...nfproto("ip"), ...dnatThroughMap("ip", SETS.hostports4.name, true)]);
  rule("hostports", [...nfproto("ip"), ...dnatThroughMap("ip", SETS.ports4.name, false)]);
  rule("hostports", [...nfproto("ip6"), ...dnatThroughMap("ip6", SETS.hostports6.name, true)]);
  rule("hostports", [...nfproto("ip6"), ...dnatThroughMap("ip6", SETS.ports6.name, false)]);

  // A client on the host's loopback (route_localnet lets it be routed to the bridge) and a container
  // reaching a published port of its own network (hairpin) are masqueraded, or the replies would bypass
  // the DNAT's conntrack entry.
  rule("postrouting", [...nfproto("ip"), ...dnatted(), ...prefix("ip", "saddr", "127.0.0.0/8"), masquerade]);
  rule("postrouting", [...nfproto("ip"), ...dnatted(), ...addressIn("ip", "saddr", SETS.subnets4.name), ...addressIn("ip", "daddr", SETS.subnets4.name), masquerade]);
  rule("postrouting", [...nfproto("ip6"), ...dnatted(), ...addressIn("ip6", "saddr", SETS.subnets6.name), ...addressIn("ip6", "daddr", SETS.subnets6.name), masquerade]);
  rule("postrouting", [
    ...nfproto("ip"),
    ...addressIn("ip", "saddr", SETS.masq4.name),
    ...addressIn("ip", "daddr", SETS.subnets4.name, true),
    ...prefix("ip", "daddr", "224.0.0.0/4", "neq"),
    masquerade,
  ]);
  rule("postrouting", [
    ...nfproto("ip6"),
    ...addressIn("ip6", "saddr", SETS.masq6.name),
    ...addressIn("ip6", "daddr", SETS.subnets6.name, true),
    ...prefix("ip6", "daddr", "ff00::/8", "neq"),
    masquerade,
  ]);

  rule("forward", [...established(), accept]);
  // Published ports stay reachable from every network, isolated or not.
  rule("forward", [...dnatted(), accept]);
  rule("forward", [...interfaceIn("iifname", SETS.internal.name), drop]);
  rule("forward", [...interfaceIn("oifname", SETS.internal.name), drop]);
  rule("forward", [...interfaceIn("iifname", SETS.isolated.name), ...interfaceIn("oifname", SETS.isolated.name), drop]);
  rule("forward", [...interfaceIn("iifname", SETS.strict.name), ...interfaceIn("oifname", SETS.bridges.name), drop]);
  rule("forward", [...interfaceIn("iifname", SETS.bridges.name), ...interfaceIn("oifname", SETS.strict.name), drop]);
}

let skeleton: { chains: string[]; sets: string[]; rules: number } | undefined;

/**
 * The names of the skeleton's chains and sets and its rule count: what an intact table holds. Measured on
 * first use, not at load: building the rules costs about 1 ms that an attach does not need.
 */
export function skeletonShape(): { readonly chains: readonly string[]; readonly sets: readonly string[]; readonly rules: number } {
  if (skeleton) return skeleton;
  const shape = { chains: [] as string[], sets: [] as string[], rules: 0 };
  queueSkeleton({
    addTable: () => {},
    addSet: (spec) => (shape.sets.push(spec.name), 0),
    addChain: (spec) => void shape.chains.push(spec.name),
    appendRule: () => void shape.rules++,
  });
  return (skeleton = shape);
}
