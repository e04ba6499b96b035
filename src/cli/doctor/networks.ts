// Subnets that collide: two networks handing out the same addresses (podman's default and ctrnet's both
// on 10.88.0.0/16, say), or a host route into a network's subnet through another interface, which makes
// those hosts unreachable from containers, or the containers from the host.
import type { NetworkConfig } from "../../drivers/cni/index.ts";
import { type Cidr, formatCidr, parseCidr } from "../../ip/codec.ts";
import { Netlink } from "../../netlink/index.ts";
import { networkBridge, networkSubnets } from "../../networks/model.ts";
import { subnetsOverlap } from "../../schema/ip.ts";
import { type Finding, info, ok, problem } from "./finding.ts";

export interface HostRoute {
  dst: Cidr;
  dev: string;
}

/** The main table's unicast routes with a destination, and the name of their interface. */
export function hostRoutes(): HostRoute[] {
  const nl = Netlink.open();
  try {
    const names = new Map(nl.links().map((l) => [l.index, l.name]));
    return nl.routes().flatMap((r) => {
      const dst = r.dst === "default" || r.type !== 1 || r.oif === undefined ? null : parseCidr(r.dst);
      return dst ? [{ dst, dev: names.get(r.oif!) ?? `#${r.oif}` }] : [];
    });
  } finally {
    nl.close();
  }
}

export function checkSubnets(networks: readonly NetworkConfig[], routes: readonly HostRoute[] | undefined): Finding[] {
  const out: Finding[] = [];
  const subnets = networks.flatMap((n) => networkSubnets(n).map((cidr) => ({ network: n.name, bridge: networkBridge(n), cidr })));
  for (let i = 0; i < subnets.length; i++) {
    for (let j = i + 1; j < subnets.length; j++) {
      const a = subnets[i]!;
      const b = subnets[j]!;
      if (a.network === b.network || !subnetsOverlap(a.cidr, b.cidr)) continue;
      out.push(
        problem(
          "subnets",
          `networks ${a.network} (${formatCidr(a.cidr)}) and ${b.network} (${formatCidr(b.cidr)}) overlap: their containers can be given the same address`,
          `remove one (ctrnet network rm ${b.network}) and create it again with another --subnet`,
        ),
      );
    }
  }
  if (routes === undefined) {
    out.push(info("routes", "the networks' bridges live in the rootless netns: host routes not compared"));
  } else {
    for (const s of subnets) {
      for (const r of routes) {
        if (r.dev === s.bridge || !subnetsOverlap(r.dst, s.cidr)) continue;
        out.push(
          problem(
            "routes",
            `host route ${formatCidr(r.dst)} dev ${r.dev} overlaps network ${s.network} (${formatCidr(s.cidr)})${s.bridge ? ` on ${s.bridge}` : ""}: one side cannot reach the other`,
            `give the network another subnet (ctrnet network rm ${s.network}; ctrnet network create --subnet …), or remove the route`,
          ),
        );
      }
    }
  }
  if (out.every((f) => f.status !== "problem")) out.push(ok("subnets", `${subnets.length} subnets of ${networks.length} networks: no overlaps`));
  return out;
}
