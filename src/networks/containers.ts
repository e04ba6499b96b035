// The containers attached to a network, as podman 5's `network inspect` lists them under `containers`:
// each container's name and, per interface, its addresses with their gateway and its MAC, from its status.
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

/** A record's status, as podman lists it: addresses grouped by the interface they are on. */
export function containerInfo(name: string, attachment: NetworkAttachment): NetworkContainerInfo {
  const interfaces: Record<string, NetInterface> = {};
  for (const iface of attachment.status?.interfaces ?? []) {
    if (iface.addresses.length === 0) continue;
    interfaces[iface.name] = {
      subnets: iface.addresses.map((a) => ({ ipnet: a.address, ...(a.gateway !== undefined ? { gateway: a.gateway } : {}) })),
      mac_address: iface.mac ?? "",
    };
  }
  return Object.keys(interfaces).length ? { name, interfaces } : { name };
}
