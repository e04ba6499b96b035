// The CNI chain driver: each of a container's networks is a conflist whose plugins ADD and DEL it, with
// what podman's getPodNetwork hands ocicni (args.ts). DEL is made as thorough for a broken container as
// for an intact one (recover.ts). Ports go to the portmap plugin as a capability argument; a rootless
// user's bridges live in the rootless netns, out of the host's reach, so a publisher (ctrnet's forwarder)
// carries them there as well.
import { existsSync } from "../../../ffi/fs.ts";
import { hostUid } from "../../identity.ts";
import { Netlink } from "../../netlink/index.ts";
import { CtrnetError, ErrorList, UsageError } from "../../errors.ts";
import { isVlanPluginEntry } from "../../schema/ctrnet-plugin.ts";
import { OWN_PLUGIN_TYPE } from "./exec.ts";
import { ipFamily } from "../../ip/codec.ts";
import { type NetworkStatus, statusAddresses } from "../../schema/network-status.ts";
import type { NetworkDriver, PortPublisher } from "../driver.ts";
import { addNetwork, type CniDriverEnv, delNetwork, networkForDel } from "./args.ts";
export { isMissingChainError } from "./missing-chain.ts";
import { prepareDel } from "./recover.ts";
import { checkRequestedIP } from "./requested-ip.ts";

/** The address ports are published to: the first IPv4 one, else the first. */
export function publishAddress(status: NetworkStatus): string | undefined {
  const ips = statusAddresses(status);
  return ips.find((ip) => ipFamily(ip) === 4) ?? ips[0];
}

/** Where ports published on an IPv6 host address go: the first IPv6 address. */
function publishAddress6(status: NetworkStatus): string | undefined {
  return statusAddresses(status).find((ip) => ipFamily(ip) === 6);
}

/** CNI's dhcp plugin asks its daemon; the socket path is the plugin's default unless its ipam names one. */
const DHCP_DAEMON_SOCKET = "/run/cni/dhcp.sock";

/**
 * podman 5's unmanaged bridge served by the reference bridge plugin (a dhcp network): the plugin would make
 * a missing bridge, so its absence is found first, in netavark's words. (ctrnet's own plugin checks it itself.)
 */
function checkUnmanagedBridge(plugins: readonly Record<string, unknown>[]): void {
  const main = plugins[0];
  if (main?.type !== "bridge" || main.mode !== "unmanaged" || typeof main.bridge !== "string" || hostUid() !== 0) return;
  using nl = Netlink.open();
  const link = nl.links().find((l) => l.name === main.bridge);
  if (link === undefined) throw new CtrnetError(`in unmanaged mode, the bridge must already exist on the host: ${main.bridge}: no such device`);
  if (link.kind !== "bridge") throw new CtrnetError(`in unmanaged mode, ${main.bridge} must be a bridge: it is ${link.kind === undefined ? "a physical or loopback device" : `a ${link.kind}`}`);
}

/**
 * A network with dhcp IPAM (podman's macvlan without a subnet) needs the dhcp plugin's daemon: without it
 * both its ADD and its DEL fail, leaving a container half made that no DEL can undo, so it is checked first.
 */
function checkDhcpDaemon(network: string, plugins: readonly { ipam?: unknown }[]): void {
  for (const plugin of plugins) {
    const ipam = plugin.ipam as { type?: unknown; daemonSocketPath?: unknown } | undefined;
    if (ipam?.type !== "dhcp") continue;
    const socket = typeof ipam.daemonSocketPath === "string" ? ipam.daemonSocketPath : DHCP_DAEMON_SOCKET;
    if (!existsSync(socket)) {
      throw new CtrnetError(`network ${network} gets its addresses from DHCP, and CNI's dhcp daemon is not running (no ${socket}): start it, e.g. /usr/lib/cni/dhcp daemon`);
    }
  }
}

/**
 * A failed ADD undoes itself (a DEL over the whole chain, as CNI asks); what setup adds beyond the ADD
 * (the publisher) it undoes here. release: what the driver shares between containers (a rootless
 * user's netns), checked after a container's last network of it went.
 */
export function cniDriver(env: CniDriverEnv, publisher: PortPublisher | undefined, release?: () => Promise<unknown[]>): NetworkDriver {
  return {
    name: "cni",
    live: true,
    listensOnHostPorts: publisher !== undefined,
    release,
    attachments: (rec) => rec.networks,
    async validate(req) {
      const network = await env.cni.loadNetwork(req.attachment.network);
      checkUnmanagedBridge(network.plugins);
      checkDhcpDaemon(network.name, network.plugins);
      for (const ip of req.ips ?? []) checkRequestedIP(network, ip);
      const main = network.plugins[0];
      if (req.attachment.hostIfname !== undefined && (main?.type !== OWN_PLUGIN_TYPE || isVlanPluginEntry(main as { driver?: unknown }))) {
        throw new UsageError(`host_interface_name needs a bridge network of ctrnet's own plugin; network ${network.name} is not one (its plugin: ${main?.type ?? "none"}${isVlanPluginEntry((main ?? {}) as { driver?: unknown }) ? `, driver ${String((main as { driver?: unknown }).driver)}` : ""})`);
      }
    },
    async setup(target) {
      const { rec, attachment, netnsPath } = target;
      const status = await addNetwork(env, rec, attachment, netnsPath!, { ports: target.ports, ips: target.ips, mac: target.mac });
      const address = publishAddress(status);
      if (publisher && target.ports.length && address !== undefined) {
        try {
          await publisher.publish(target, address, publishAddress6(status));
        } catch (err) {
          const undo = await this.teardown(target, status);
          if (undo.length) throw ErrorList.undoing(err, undo);
          throw err;
        }
      }
      return status;
    },
    // The forwarder a rootless user's bridge ports go through (the rootless netns's own slirp4netns is
    // no container's: the supervisor restarts it through rootless/netns.ts's restartWayOut).
    async restartHelper(target, kind) {
      const address = target.attachment.status ? publishAddress(target.attachment.status) : undefined;
      if (!publisher || kind !== "portForwarder" || !target.ports.length || address === undefined) {
        throw new CtrnetError(`network ${target.attachment.network} has no ${kind} to restart`);
      }
      await publisher.publish(target, address);
    },
    // ctrnet's own bridge plugin removes only host-side state at DEL; a macvlan or ipvlan link, or another
    // plugin's work, may need the netns
    async tearsDownFromHost(rec) {
      for (const attachment of rec.networks) {
        const plugins = (await networkForDel(env, rec.id, attachment))?.plugins;
        const main = plugins?.[0];
        if (plugins?.length !== 1 || main?.type !== OWN_PLUGIN_TYPE || isVlanPluginEntry(main as { driver?: unknown })) return false;
      }
      return true;
    },
    async teardown(target) {
      const errors = publisher && target.ports.length ? await publisher.unpublish(target) : [];
      try {
        const del = await prepareDel(env, target.rec, target.attachment, target.netnsPath);
        try {
          await delNetwork(env, target.rec, target.attachment, del.netnsPath, { ports: target.ports });
        } finally {
          del.cleanup();
        }
      } catch (err) {
        errors.push(err);
      }
      return errors;
    },
  };
}
