// What a container got from one network, in ctrnet's own shape (containers/common's StatusBlock is the
// model): its interfaces inside the netns with their MAC and addresses, routes, and DNS. Every driver
// returns one from setup and is handed it back at teardown; records store it. A CNI result becomes one
// at the CNI driver's boundary (statusFromCniResult), so nothing above src/drivers/cni reads CNI JSON.
import * as v from "valibot";
import { Cidr, IpAddress } from "./cni-result.ts";

export const StatusAddress = v.object({
  /** With prefix length: `10.88.0.2/16`. */
  address: Cidr,
  gateway: v.optional(IpAddress),
});
export type StatusAddress = v.InferOutput<typeof StatusAddress>;

export const StatusInterface = v.object({
  name: v.string(),
  mac: v.optional(v.string()),
  addresses: v.array(StatusAddress),
});
export type StatusInterface = v.InferOutput<typeof StatusInterface>;

export const StatusRoute = v.object({
  destination: Cidr,
  gateway: v.optional(IpAddress),
});
export type StatusRoute = v.InferOutput<typeof StatusRoute>;

export const StatusDns = v.object({
  nameservers: v.array(v.string()),
  /** The network's own domain (CNI's `domain`), searched first. */
  domain: v.optional(v.string()),
  search: v.array(v.string()),
  options: v.array(v.string()),
});
export type StatusDns = v.InferOutput<typeof StatusDns>;

export const NetworkStatus = v.object({
  /** Inside the container's netns only; host-side ends (bridge, veth peer) are the driver's business. */
  interfaces: v.array(StatusInterface),
  routes: v.array(StatusRoute),
  dns: StatusDns,
});
export type NetworkStatus = v.InferOutput<typeof NetworkStatus>;

/** A parsed CNI result of spec 0.3.0 or later (the CNI driver's internal form has this shape). */
export interface CniResultShape {
  interfaces?: readonly { name: string; mac?: string; sandbox?: string }[] | null;
  ips?: readonly { address: string; gateway?: string; interface?: number }[] | null;
  routes?: readonly { dst: string; gw?: string }[] | null;
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] } | null;
}

/**
 * The container side of a CNI result: interfaces with a sandbox, and the addresses on them. An address
 * naming no interface (0.2.0 results, some IPAM-only chains) belongs to `ifname`, the interface the
 * plugins were asked to make, or else to the first one inside, as podman takes it; one on a host-side
 * interface is left out.
 */
export function statusFromCniResult(result: CniResultShape, ifname: string): NetworkStatus {
  const all = result.interfaces ?? [];
  const inside = new Map<number, StatusInterface>();
  all.forEach((i, index) => {
    if (i.sandbox !== undefined) inside.set(index, { name: i.name, ...(i.mac ? { mac: i.mac } : {}), addresses: [] });
  });
  const interfaces = [...inside.values()];
  const named = (): StatusInterface => {
    let own = interfaces.find((i) => i.name === ifname) ?? interfaces[0];
    if (!own) {
      own = { name: ifname, addresses: [] };
      interfaces.push(own);
    }
    return own;
  };
  for (const ip of result.ips ?? []) {
    const target = ip.interface === undefined ? named() : inside.get(ip.interface);
    if (target) target.addresses.push({ address: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}) });
  }
  const dns = result.dns ?? {};
  return {
    interfaces,
    routes: (result.routes ?? []).map((r) => ({ destination: r.dst, ...(r.gw ? { gateway: r.gw } : {}) })),
    dns: {
      nameservers: dns.nameservers ?? [],
      ...(dns.domain ? { domain: dns.domain } : {}),
      search: dns.search ?? [],
      options: dns.options ?? [],
    },
  };
}

/** Every address of the status, without prefix length, in order. */
export function statusAddresses(status: NetworkStatus): string[] {
  return status.interfaces.flatMap((i) => i.addresses.map((a) => a.address.split("/")[0]!));
}
