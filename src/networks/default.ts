// The network a container gets when none is named, as podman's `podman` network (cni-podman0, 10.88.0.0/16).
import type { CreateNetworkRequest } from "./options.ts";

export const DEFAULT_NETWORK = "ctrnet";
export const DEFAULT_BRIDGE = "ctrnet0";
export const DEFAULT_SUBNET = "10.88.0.0/16";

/** As podman's default network: no dnsname, which answers only on user-created networks. */
export function defaultNetworkRequest(): CreateNetworkRequest {
  return { name: DEFAULT_NETWORK, interfaceName: DEFAULT_BRIDGE, subnets: [DEFAULT_SUBNET], gateway: "10.88.0.1", disableDns: true };
}
