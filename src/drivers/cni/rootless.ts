// The CNI runtime of a rootless user: ADD, CHECK, DEL and GC run their plugins inside the rootless netns
// (src/rootless hands in the way there). Everything else (configs, cache, VERSION) is as for root.
import { join } from "node:path";
import type { PluginSpawner } from "./exec.ts";
import { type CniRuntime, type CniRuntimeOptions, createCniRuntime } from "./runtime.ts";

/** The rootless netns as the driver needs it (src/rootless/netns-exec.ts makes one). */
export interface RootlessNetnsAccess {
  /**
   * Runs fn with a spawner whose plugins run inside the namespace, made first if need be, under its lock,
   * and an fd of the namespace (open while fn runs) for ctrnet's own plugin, which runs in-process.
   */
  run<T>(fn: (spawn: PluginSpawner, netnsFd: number) => Promise<T>): Promise<T>;
  exists(): boolean;
}

/** host-local's default dataDir as the plugins spawned in the rootless netns see it: /var/lib/cni is the cache dir there. */
function ipamDataDir(cni: CniRuntime): string {
  return join(cni.cacheDir, "networks");
}

export function rootlessCniRuntime(options: CniRuntimeOptions, netns: RootlessNetnsAccess): CniRuntime {
  const plain = createCniRuntime(options);
  const inNetns = <T>(fn: (cni: CniRuntime) => Promise<T>): Promise<T> =>
    netns.run((spawnPlugin, hostNetnsFd) => fn(createCniRuntime({ ...options, spawnPlugin, ownPlugin: { hostNetnsFd, ipamDataDir: ipamDataDir(plain) } })));
  return {
    ...plain,
    add: (req) => inNetns((cni) => cni.add(req)),
    check: (req) => inNetns((cni) => cni.check(req)),
    del: async (req) => {
      // Without the namespace, an attachment with no cache entry left nothing anywhere (its ADD never ran:
      // the namespace's way out could not start): no namespace to make for it, which would fail the same way.
      if (!netns.exists()) {
        const cached = await plain.cachedAttachments({ network: req.network.name, containerId: req.containerId });
        if (!cached.some((c) => c.ifName === req.ifName)) return;
      }
      return inNetns((cni) => cni.del(req));
    },
    gc: async (network, valid) => {
      // Without the namespace nothing the plugins made is left; only stale cache entries need a DEL.
      if (!netns.exists()) {
        const keep = new Set(valid.map((a) => `${a.containerId}\0${a.ifName}`));
        const cached = await plain.cachedAttachments({ network: network.name });
        if (cached.every((c) => c.owner !== plain.owner || keep.has(`${c.containerId}\0${c.ifName}`))) return [];
      }
      return inNetns((cni) => cni.gc(network, valid));
    },
  };
}
