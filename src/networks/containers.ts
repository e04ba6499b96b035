// The containers attached to a network, as podman 5's `network inspect` lists them under `containers`:
// each container's name and, per interface, its addresses with their gateway and its MAC.
import { type CniResult, parseResult } from "../drivers/cni/result.ts";
import type { NetworkAttachment } from "../state/index.ts";

export interface NetAddress {
  /** The container's address with the subnet's prefix length: 10.89.0.2/24. */
  ipnet: string;
  gateway?: string;
}

export interface NetInterface {
  subnets?: NetAddress[];
  mac_address: string;
}

export interface NetworkContainerInfo {
  name: string;
  /** By interface name inside the container; absent while nothing is attached yet. */
  interfaces?: Record<string, NetInterface>;
}

/** As podman converts a CNI result: addresses grouped by the interface they are on. */
function interfacesOf(result: CniResult, fallbackName: string): Record<string, NetInterface> {
  const out: Record<string, NetInterface> = {};
  for (const ip of result.ips) {
    const iface = ip.interface === undefined ? result.interfaces.find((i) => i.sandbox) : result.interfaces[ip.interface];
    const name = iface?.name ?? fallbackName;
    const entry = (out[name] ??= { mac_address: iface?.mac ?? "" });
    (entry.subnets ??= []).push({ ipnet: ip.address, ...(ip.gateway !== undefined ? { gateway: ip.gateway } : {}) });
  }
  return out;
}

/** A record whose stored result cannot be read still shows as attached, with no interfaces. */
export function containerInfo(name: string, attachment: NetworkAttachment): NetworkContainerInfo {
  if (attachment.result == null) return { name };
  let result: CniResult;
  try {
    result = parseResult(attachment.result);
  } catch {
    return { name };
  }
  const interfaces = interfacesOf(result, attachment.ifname);
  return Object.keys(interfaces).length ? { name, interfaces } : { name };
}
