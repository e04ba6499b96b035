// The network a container gets when none is named. Its subnet is picked as any other network's, free of
// the host's and of every configured network's, so it never takes podman's 10.88.0.0/16 or anything in use.
import type { CreateNetworkRequest } from "./options.ts";

export const DEFAULT_NETWORK = "ctrnet";
export const DEFAULT_BRIDGE = "ctrnet0";

/** As podman's default network: no dnsname, which answers only on user-created networks. */
export function defaultNetworkRequest(): CreateNetworkRequest {
  return { name: DEFAULT_NETWORK, interfaceName: DEFAULT_BRIDGE, disableDns: true };
}
