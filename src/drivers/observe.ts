// What a network namespace holds, read from it over rtnetlink: for a netns ctrnet joined and did not
// configure (inspect), and for drivers whose helper configures the netns itself (pasta copies the host's
// addresses, which only the netns then knows).
import { Netlink } from "../netlink/index.ts";
import type { NetworkStatus } from "../schema/network-status.ts";

/**
 * The interfaces (not loopback) of a netns with their MAC and global addresses, and its default routes'
 * gateways given to the addresses of their family; undefined when it cannot be read (gone, or closed to
 * this user), for inspect still to show the rest.
 */
export function observeNetns(path: string): NetworkStatus | undefined {
  let nl: Netlink;
  try {
    nl = Netlink.open({ netns: path });
  } catch {
    return undefined;
  }
  try {
    const gateways = new Map<number, string>();
    for (const family of [4, 6] as const) {
      const route = nl.routes({ family }).find((r) => r.dst === "default" && r.gateway !== undefined);
      if (route) gateways.set(family, route.gateway!);
    }
    const addresses = nl.addresses().filter((a) => a.scope === 0);
    const interfaces = nl
      .links()
      .filter((l) => l.name !== "lo")
      .map((l) => ({
        name: l.name,
        ...(l.mac ? { mac: l.mac } : {}),
        addresses: addresses
          .filter((a) => a.index === l.index)
          .map((a) => {
            const gateway = gateways.get(a.family);
            return { address: `${a.address}/${a.prefixLength}`, ...(gateway ? { gateway } : {}) };
          }),
      }))
      .filter((i) => i.addresses.length > 0);
    return { interfaces, routes: [], dns: { nameservers: [], search: [], options: [] } };
  } catch {
    return undefined;
  } finally {
    nl.close();
  }
}
