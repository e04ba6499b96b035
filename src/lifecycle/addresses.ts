// The addresses a container holds or asks for on a network: a --ip checked against the network's subnets
// before anything is set up, and the IP and MAC read back from a result to keep them across a re-ADD.
import type { CniResult, NetworkConfig } from "../drivers/cni/index.ts";
import { parseResult } from "../drivers/cni/result.ts";
import { UsageError } from "../errors.ts";
import { formatCidr, ipFamily, parseIP } from "../ip/codec.ts";
import { parseSubnet, subnetContains } from "../schema/ip.ts";

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
 * A requested address must lie in one of the network's subnets and not be its gateway; networks whose
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
    if (typeof range.gateway === "string" && parseIP(range.gateway)?.join() === bytes.join()) {
      throw new UsageError(`IP address ${ip} is the gateway of network "${network.name}"`);
    }
    return;
  }
  throw new UsageError(`IP address ${ip} is outside the subnets of network "${network.name}" (${subnets.join(", ")})`);
}

export function storedResult(result: unknown): CniResult | undefined {
  return result == null ? undefined : parseResult(result);
}

export interface HeldAddresses {
  ips: string[];
  mac?: string;
}

/** What the container holds on a network: every address, and the MAC of the interface inside the netns. */
export function heldAddresses(result: CniResult | undefined): HeldAddresses {
  if (!result) return { ips: [] };
  const ips = result.ips.map((ip) => ip.address.split("/")[0]!).filter((ip) => ipFamily(ip) !== 0);
  const index = result.ips.find((ip) => ip.interface !== undefined)?.interface;
  const inside = index === undefined ? result.interfaces.find((i) => i.sandbox) : result.interfaces[index];
  return inside?.mac ? { ips, mac: inside.mac } : { ips };
}
