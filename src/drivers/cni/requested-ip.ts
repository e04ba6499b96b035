// A --ip checked against the subnets a network's IPAM names, before anything is set up.
import type { NetworkConfig } from "./config.ts";
import { UsageError } from "../../errors.ts";
import { formatCidr, parseIP } from "../../ip/codec.ts";
import { parseSubnet, reservedAddressProblem, subnetContains } from "../../schema/ip.ts";

interface IpamRange {
  subnet?: unknown;
  gateway?: unknown;
}

/** host-local's `ranges` (range sets of ranges) and its older single `subnet`, whichever plugin has an ipam. */
function ipamRanges(network: NetworkConfig): IpamRange[] {
  const out: IpamRange[] = [];
  for (const plugin of network.plugins) {
    const ipam = plugin.ipam as { ranges?: unknown; subnet?: unknown; gateway?: unknown } | undefined;
    if (!ipam) continue;
    if (Array.isArray(ipam.ranges)) {
      for (const set of ipam.ranges) if (Array.isArray(set)) out.push(...(set as IpamRange[]));
    }
    if (ipam.subnet !== undefined) out.push({ subnet: ipam.subnet, gateway: ipam.gateway });
  }
  return out;
}

/**
 * A requested address must be a host address of one of the network's subnets and not its gateway; networks whose
 * IPAM doesn't name subnets (dhcp, static) are left to their plugin.
 */
export function checkRequestedIP(network: NetworkConfig, ip: string): void {
  const ranges = ipamRanges(network).filter((r): r is { subnet: string; gateway?: unknown } => typeof r.subnet === "string");
  if (ranges.length === 0) return;
  const bytes = parseIP(ip)!;
  const subnets: string[] = [];
  for (const range of ranges) {
    let subnet;
    try {
      subnet = parseSubnet(range.subnet);
    } catch {
      continue;
    }
    subnets.push(formatCidr(subnet));
    if (!subnetContains(subnet, bytes)) continue;
    const reserved = reservedAddressProblem(subnet, bytes);
    if (reserved !== null) throw new UsageError(`IP address ${ip} ${reserved}, which network "${network.name}" never hands out`);
    if (typeof range.gateway === "string" && parseIP(range.gateway)?.join() === bytes.join()) {
      throw new UsageError(`IP address ${ip} is the gateway of network "${network.name}"`);
    }
    return;
  }
  // podman's words (libnetwork's getStaticIPs), then the subnets
  throw new UsageError(`requested static ip ${ip} not in any subnet on network ${network.name} (${subnets.join(", ")})`);
}
