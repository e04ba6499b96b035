// What a pasta container's network looks like: the interfaces and addresses pasta gave the netns (read
// back from it), default routes through their gateways, and pasta's DNS forwarder as the nameserver, as
// podman puts it first in resolv.conf.
import type { NetworkStatus } from "../../schema/network-status.ts";

export function pastaStatus(observed: NetworkStatus | undefined, dnsForward: readonly string[]): NetworkStatus {
  const interfaces = observed?.interfaces ?? [];
  const gateways = new Map<string, string>();
  for (const a of interfaces.flatMap((i) => i.addresses)) {
    if (a.gateway !== undefined) gateways.set(a.gateway.includes(":") ? "::/0" : "0.0.0.0/0", a.gateway);
  }
  return {
    interfaces,
    routes: [...gateways].map(([destination, gateway]) => ({ destination, gateway })),
    dns: { nameservers: [...dnsForward], search: [], options: [] },
  };
}
