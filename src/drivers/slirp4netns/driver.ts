// The slirp4netns driver, as the seed's setupSlirp4netns: slirp4netns on the container's netns (tap0 at
// cidr + 100), then its published ports, by ctrnet's forwarder (port_handler=rootlesskit, the default) or
// by slirp4netns's add_hostfwd (port_handler=slirp4netns). Each helper is written down the moment it exists.
// Starting slirp4netns and its API load when a container of the mode is set up: other modes never do.
import { rmSync } from "../../../ffi/fs.ts";
import { CtrnetError, ErrorList, UsageError } from "../../errors.ts";
import type { NetworkStatus } from "../../schema/network-status.ts";
import type { NetworkAttachment } from "../../state/index.ts";
import type { DriverTarget, NetworkDriver, PortPublisher } from "../driver.ts";
import { forwarderPublisher } from "../portfwd/publisher.ts";
import { hostLookup } from "./host-lookup.ts";
import { checkSlirp4netnsPorts, hostFwds, slirp4netnsAddressesOf, storedSlirp4netnsOptions } from "./network.ts";
import { parseSlirp4netnsOptions } from "./options.ts";
import type { Slirp4netns } from "./start.ts";

/** slirp4netns's forwards live in slirp4netns itself: they go when it is stopped. */
const hostFwdPublisher: PortPublisher = {
  async publish(target, address) {
    const { addHostFwd } = await import("./api.ts");
    for (const fwd of hostFwds(target.ports, address)) await addHostFwd(target.helpers.apiSocket(), fwd);
  },
  unpublish: async () => [],
};

/** slirp4netns's own IPv6 address, whose router advertisement comes from fe80::2: the host, as 10.0.2.2 is. */
const SLIRP4NETNS_HOST6 = "fd00::2";

const intoContainer = forwarderPublisher((target) => target.netnsPath!, SLIRP4NETNS_HOST6);

/** The one network of the mode; it is no CNI network, so the record lists none. */
const TAP: NetworkAttachment = { network: "slirp4netns", ifname: "tap0", aliases: [], status: null };

/** options: as the record keeps them (`cidr=…`); featuresCache: where the binary's feature probe is kept. */
export function slirp4netnsDriver(options: readonly string[], featuresCache: string): NetworkDriver {
  /**
   * slirp4netns on the target's netns, written down the moment it exists. replaceApiSocket: the socket of
   * a slirp4netns that died is in the way of its successor.
   */
  async function startFor(target: DriverTarget, opts: { replaceApiSocket?: boolean } = {}): Promise<{ slirp: Slirp4netns; viaApi: boolean }> {
    // Checked again where slirp4netns will run: an outbound_addr interface may have gone since parsing.
    const parsed = parseSlirp4netnsOptions(options, hostLookup);
    const viaApi = parsed.portHandler === "slirp4netns";
    const apiSocket = viaApi && target.ports.length ? target.helpers.apiSocket() : undefined;
    if (apiSocket !== undefined && opts.replaceApiSocket) rmSync(apiSocket, { force: true });
    const { startSlirp4netns } = await import("./start.ts");
    const slirp = await startSlirp4netns({
      netnsPath: target.netnsPath!,
      options: parsed,
      apiSocket,
      exitFd: target.tied,
      onSpawn: (pid) => target.helpers.spawned("slirp4netns", pid),
      featuresCache,
    });
    target.helpers.started("slirp4netns", slirp);
    return { slirp, viaApi };
  }

  return {
    name: "slirp4netns",
    live: false,
    listensOnHostPorts: true,
    attachments: () => [TAP],
    fixedStatus() {
      const slirp = slirp4netnsAddressesOf(options);
      return {
        interfaces: [{ name: TAP.ifname, addresses: [{ address: `${slirp.ip}/${slirp.prefixLength}`, gateway: slirp.gateway }] }],
        routes: [{ destination: "0.0.0.0/0", gateway: slirp.gateway }],
        dns: { nameservers: [slirp.dns], search: [], options: [] },
      };
    },
    async validate(req) {
      checkSlirp4netnsPorts(req.ports);
      if (req.ips?.length || req.mac !== undefined || req.aliases.length) {
        throw new UsageError("--ip, --mac and --alias need a CNI network; network mode slirp4netns has none");
      }
    },
    async setup(target) {
      const { slirp, viaApi } = await startFor(target);
      const status: NetworkStatus = {
        interfaces: [{ name: slirp.tap, addresses: [{ address: `${slirp.ip}/${slirp.prefixLength}`, gateway: slirp.gateway }] }],
        routes: [{ destination: "0.0.0.0/0", gateway: slirp.gateway }],
        dns: { nameservers: [slirp.dns], search: [], options: [] },
      };
      if (target.ports.length === 0) return status;
      try {
        // With enable_ipv6 the forwarder leads IPv6 clients to the tap's own IPv6 address, so they keep theirs.
        await (viaApi ? hostFwdPublisher : intoContainer).publish(target, slirp.ip, slirp.ip6);
      } catch (err) {
        const undo = await this.teardown(target, status);
        throw undo.length ? ErrorList.undoing(err, undo) : err;
      }
      return status;
    },
    async restartHelper(target, kind) {
      if (kind === "portForwarder") {
        if (!target.ports.length || parseSlirp4netnsOptions(options, hostLookup).portHandler === "slirp4netns") {
          throw new CtrnetError("this slirp4netns container has no port forwarder to restart");
        }
        const ip6 = storedSlirp4netnsOptions(options).enableIPv6 ? (await import("./start.ts")).slirp4netnsIPv6(target.netnsPath!, TAP.ifname) : undefined;
        await intoContainer.publish(target, slirp4netnsAddressesOf(options).ip, ip6);
        return;
      }
      const { slirp, viaApi } = await startFor(target, { replaceApiSocket: true });
      if (target.ports.length === 0) return;
      if (!viaApi) {
        // The forwarder lives on: it connects to the container's IPv4 address, back once tap0 is. The IPv6 one
        // comes from the new tap's MAC address, a new one: the forwarder is started again to lead there.
        if (slirp.ip6 === undefined) return;
        await target.helpers.stop("portForwarder");
        await intoContainer.publish(target, slirp.ip, slirp.ip6);
        return;
      }
      try {
        await hostFwdPublisher.publish(target, slirp.ip);
      } catch (err) {
        const undo = await target.helpers.stop("slirp4netns");
        throw undo.length ? ErrorList.undoing(err, undo) : err;
      }
    },
    async teardown(target) {
      return [...(await target.helpers.stop("portForwarder")), ...(await target.helpers.stop("slirp4netns"))];
    },
  };
}
