// What a pasta container's network looks like: the interfaces and addresses pasta gave the netns (read
// back from it), default routes through their gateways, and pasta's DNS forwarder as the nameserver, as
// podman puts it first in resolv.conf (where the container has an address of its family).
import type { NetworkStatus } from "../../schema/network-status.ts";

export function pastaStatus(observed: NetworkStatus | undefined, dnsForward: readonly string[]): NetworkStatus {
  const interfaces = observed?.interfaces ?? [];
  // podman's filterIpFamily: a forwarder of a family the container has no global address of is left out
  // (pasta -6 has no IPv4, so 169.254.1.1 is unreachable; resolv.conf then names the host's servers)
  const families = new Set(interfaces.flatMap((i) => i.addresses).map((a) => (a.address.includes(":") ? 6 : 4)));
  const nameservers = observed === undefined ? [...dnsForward] : dnsForward.filter((ns) => families.has(ns.includes(":") ? 6 : 4));
  const gateways = new Map<string, string>();
  for (const a of interfaces.flatMap((i) => i.addresses)) {
    if (a.gateway !== undefined) gateways.set(a.gateway.includes(":") ? "::/0" : "0.0.0.0/0", a.gateway);
  }
  return {
    interfaces,
    routes: [...gateways].map(([destination, gateway]) => ({ destination, gateway })),
    dns: { nameservers, search: [], options: [] },
  };
}
