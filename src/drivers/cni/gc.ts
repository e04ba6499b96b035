// Garbage collection of a network's attachments: CNI 1.1 GC, made to work with plugins older than 1.1.
import { ErrorList } from "../../errors.ts";
import { delAttachment } from "./attach.ts";
import { type CacheKey, listCache } from "./cache.ts";
import type { NetworkConfig } from "./config.ts";
import { type CniContext, validateAttachmentKey } from "./settings.ts";
import { execPlugin } from "./exec.ts";
import { buildPluginConfig, encodeConfig } from "./plugin-config.ts";
import { pluginVersions } from "./plugin-info.ts";
import { atLeast } from "./version.ts";

export interface ValidAttachment {
  containerId: string;
  ifName: string;
}

/**
 * Two steps, as libcni does, but only over what this runtime made: first DEL (with its cached result) every
 * cached attachment of the network that carries this runtime's owner mark and is not listed as valid, which
 * is all plugins older than CNI 1.1 can do; then send the spec's GC to the plugins whose VERSION includes the
 * network's version, when that is 1.1.0 or later, so they can drop what was never cached. The cache
 * directory and the networks are shared with podman, containerd and CRI-O: another runtime's attachment is
 * never DELed, and counts as valid in the GC sent to the plugins, so they keep its addresses and rules.
 * `disableGC` turns all of it off. Returns the attachments removed.
 */
export async function gcNetwork(ctx: CniContext, network: NetworkConfig, valid: readonly ValidAttachment[]): Promise<CacheKey[]> {
  for (const a of valid) validateAttachmentKey(network.name, a.containerId, a.ifName);
  if (network.disableGC) return [];
  const keep = new Set(valid.map((a) => `${a.containerId}\0${a.ifName}`));
  const errors: unknown[] = [];
  const removed: CacheKey[] = [];
  const cachedAll = await listCache(ctx.cacheDir, { network: network.name });
  const others = cachedAll.filter((c) => c.owner !== ctx.owner);

  for (const cached of cachedAll) {
    if (cached.owner !== ctx.owner || keep.has(`${cached.containerId}\0${cached.ifName}`)) continue;
    try {
      // The cache supplies netns, CNI_ARGS and capability args, as recorded at ADD.
      await delAttachment(ctx, { network, containerId: cached.containerId, ifName: cached.ifName });
      removed.push({ network: network.name, containerId: cached.containerId, ifName: cached.ifName });
    } catch (err) {
      errors.push(err);
    }
  }

  if (atLeast(network.cniVersion, "1.1.0")) {
    const attachments = [...valid, ...others].map((a) => ({ containerID: a.containerId, ifname: a.ifName }));
    // `cni.dev/attachments` is the name an earlier draft of the 1.1 spec used; libcni sends both.
    const inject = { "cni.dev/valid-attachments": attachments, "cni.dev/attachments": attachments };
    for (const plugin of network.plugins) {
      try {
        const { supportedVersions } = await pluginVersions(ctx, plugin.type);
        if (!supportedVersions.includes(network.cniVersion)) continue;
        const stdin = encodeConfig(buildPluginConfig(network, plugin, { inject }));
        await execPlugin({ type: plugin.type, command: "GC", network: network.name, stdin }, ctx.exec);
      } catch (err) {
        errors.push(err);
      }
    }
  }

  ErrorList.throwIfAny(`CNI GC of network ${network.name}`, errors);
  return removed;
}
