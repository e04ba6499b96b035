// Making a DEL as thorough for a broken container as for an intact one. Two plugin gaps would otherwise
// leave rules behind: the firewall plugin finds its rules only through prevResult, which a create killed
// mid-chain never cached; and the bridge plugin finds its masquerade rules through the addresses of the
// interface in the netns, which a reboot or an unmounted netns took away. So: a missing cache entry is
// written from the interface as it is (or the status the record holds), and a vanished netns is stood in
// for by a temporary one holding an interface of the same name with the same addresses.
import { basename } from "node:path";
import type { NetworkConfig } from "./config.ts";
import type { CniResult } from "./result.ts";
import { writeCache } from "./cache.ts";
import { parseResult, resultFromStatus, toWire } from "./result.ts";
import { isNetlinkError, Netlink } from "../../netlink/index.ts";
import { createNetns, plannedNetnsPath, removeOwnedNetns } from "../../netns/index.ts";
import type { ContainerRecord, NetworkAttachment } from "../../state/index.ts";
import { markNetns, unmarkNetns } from "../../state/ledger.ts";
import { cachedAttachment, type CniDriverEnv, networkForDel } from "./args.ts";
import { OWN_PLUGIN_TYPE } from "./exec.ts";

export interface DelTarget {
  /** The netns to give the DEL: the container's, a stand-in, or none. */
  netnsPath?: string;
  cleanup(): void;
}

/** The interface as the kernel has it, in CNI result form; undefined when it is not there. */
function resultFromNetns(network: NetworkConfig, netnsPath: string, ifname: string): CniResult | undefined {
  const nl = Netlink.open({ netns: netnsPath });
  try {
    const link = nl.link(ifname);
    const ips = nl
      .addresses({ link: link.index })
      .filter((a) => a.scope === 0)
      .map((a) => ({ address: `${a.address}/${a.prefixLength}`, interface: 0 }));
    return { cniVersion: network.cniVersion, interfaces: [{ name: ifname, ...(link.mac ? { mac: link.mac } : {}), sandbox: netnsPath }], ips, routes: [], dns: {} };
  } catch (err) {
    if (isNetlinkError(err, "ENODEV")) return undefined;
    throw err;
  } finally {
    nl.close();
  }
}

function standIn(ctx: CniDriverEnv, ifname: string, result: CniResult): DelTarget {
  const path = plannedNetnsPath(ctx.netnsDir);
  markNetns(ctx, path);
  createNetns({ name: basename(path), dir: ctx.netnsDir });
  const remove = () => {
    removeOwnedNetns(path);
    unmarkNetns(ctx, path);
  };
  try {
    const nl = Netlink.open({ netns: path });
    try {
      nl.linkAdd({ kind: "veth", name: ifname, peer: { name: "standin0" } });
      for (const ip of result.ips) nl.addressAdd(ifname, ip.address, { noDad: true });
    } finally {
      nl.close();
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { netnsPath: path, cleanup: remove };
}

export async function prepareDel(ctx: CniDriverEnv, rec: ContainerRecord, attachment: NetworkAttachment, netnsPath: string | undefined): Promise<DelTarget> {
  const none: DelTarget = { netnsPath, cleanup: () => {} };
  const network = await networkForDel(ctx, rec.id, attachment);
  if (!network) return none;
  const cached = await cachedAttachment(ctx, rec.id, attachment);
  // the netns is there and so is what ADD returned: DEL has all it needs (the usual rm)
  if (cached !== undefined && netnsPath !== undefined) return none;
  let result = cached?.result
    ? parseResult(cached.result)
    : attachment.status
      ? resultFromStatus(attachment.status, network.cniVersion, netnsPath)
      : undefined;
  if (!cached) {
    if (netnsPath !== undefined) result ??= resultFromNetns(network, netnsPath, attachment.ifname);
    if (result) {
      await writeCache(ctx.cni.cacheDir, {
        network: network.name,
        containerId: rec.id,
        ifName: attachment.ifname,
        owner: ctx.cni.owner,
        netnsPath: netnsPath ?? "",
        cniArgs: [],
        capabilityArgs: {},
        config: network.bytes,
        result: toWire(result, network.cniVersion),
      });
    }
  }
  // ctrnet's own plugin finds what it made in its own records, not in the netns
  if (netnsPath !== undefined || !result?.ips.length || network.plugins.every((p) => p.type === OWN_PLUGIN_TYPE)) return none;
  return standIn(ctx, attachment.ifname, result);
}
