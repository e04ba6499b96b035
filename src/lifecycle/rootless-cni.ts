// The CNI runtime of a rootless user: ADD, CHECK, DEL and GC run their plugins inside the rootless netns
// (made on first use), under its lock, so that no other ctrnet process removes it meanwhile and the
// plugins' iptables calls never run two at a time. Everything else (configs, cache, VERSION) is as for root.
import { close } from "../../ffi/libc.ts";
import { type CniRuntime, type CniRuntimeOptions, createCniRuntime } from "../drivers/cni/index.ts";
import { openNetns } from "../netns/index.ts";
import { rootlessNetnsMounts, rootlessNetnsSpawner } from "./rootless-netns-exec.ts";
import { type RootlessNetnsPaths, withRootlessNetns } from "./rootless-netns.ts";
import { netnsUsable } from "./sandbox.ts";

export function rootlessCniRuntime(options: CniRuntimeOptions, paths: RootlessNetnsPaths, netnsDir: string): CniRuntime {
  const plain = createCniRuntime(options);
  const inNetns = <T>(fn: (cni: CniRuntime) => Promise<T>): Promise<T> =>
    withRootlessNetns(paths, async () => {
      const fd = openNetns(paths.netns);
      try {
        const mounts = rootlessNetnsMounts(paths, { netnsDir, cacheDir: plain.cacheDir });
        return await fn(createCniRuntime({ ...options, spawnPlugin: rootlessNetnsSpawner(fd, mounts) }));
      } finally {
        close(fd);
      }
    });
  return {
    ...plain,
    add: (req) => inNetns((cni) => cni.add(req)),
    check: (req) => inNetns((cni) => cni.check(req)),
    del: (req) => inNetns((cni) => cni.del(req)),
    gc: async (network, valid) => {
      // Without the namespace nothing the plugins made is left; only stale cache entries need a DEL.
      if (!netnsUsable(paths.netns)) {
        const keep = new Set(valid.map((a) => `${a.containerId}\0${a.ifName}`));
        const cached = await plain.cachedAttachments({ network: network.name });
        if (cached.every((c) => c.owner !== plain.owner || keep.has(`${c.containerId}\0${c.ifName}`))) return [];
      }
      return inNetns((cni) => cni.gc(network, valid));
    },
  };
}
