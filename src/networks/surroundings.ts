// Gathers what planNetwork needs to know about the machine: the networks already configured, the host's
// routes and links, and the plugins installed.
import { readdirSync, statSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import type { NetworkListing } from "../drivers/cni/config.ts";
import type { NetworkScope } from "./store.ts";
import { readHost } from "./host.ts";
import { networkBridge, networkSubnets } from "./model.ts";
import type { Surroundings } from "./plan.ts";

/** Plugin types (file names) in the plugin path; unreadable or missing directories hold none. */
function installedPlugins(dirs: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      try {
        if (statSync(join(dir, name)).isFile()) out.add(name);
      } catch {
        // a dangling link: not a plugin anyone can run
      }
    }
  }
  return out;
}

/** host-local keeps its allocations next to the CNI cache, so tests and rootless users get their own. */
function ipamDataDir(ctx: NetworkScope): string {
  return join(ctx.cni.cacheDir, "networks");
}

export function surroundings(ctx: NetworkScope, listing: NetworkListing): Surroundings {
  const host = readHost();
  return {
    networks: listing.networks.map((n) => ({ name: n.name, subnets: networkSubnets(n), bridge: networkBridge(n) })),
    hostRoutes: host.routes,
    hostAddresses: host.addresses,
    hostLinks: host.links,
    plugins: installedPlugins(ctx.cni.pluginPath),
    pluginPath: ctx.cni.pluginPath,
    ipamDataDir: ipamDataDir(ctx),
    now: new Date(),
  };
}
