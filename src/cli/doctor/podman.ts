// Whether podman (4.x, CNI backend) can see the subnets of ctrnet's own networks before it picks one for
// a network of its own. It reads no subnet from a conflist of type ctrnet, only the addresses on the
// host's interfaces (src/networks/reserve.ts): a native bridge network is safe while its bridge holds
// its gateways. Said only where podman is installed and only when there is something to say.
import type { NetworkConfig } from "../../drivers/cni/index.ts";
import { formatCidr, parseCidr } from "../../ip/codec.ts";
import { Netlink } from "../../netlink/index.ts";
import { networkSubnets } from "../../networks/model.ts";
import { missingAddresses, reservationOf } from "../../networks/reserve.ts";
import { isVlanPluginEntry } from "../../schema/ctrnet-plugin.ts";
import { subnetsOverlap } from "../../schema/ip.ts";
import { type Finding, info, problem } from "./finding.ts";

const CHECK = "podman";
const UNSEEN = "podman 4's CNI backend cannot see its subnet";

function subnetsText(config: NetworkConfig): string {
  return networkSubnets(config).map(formatCidr).join(", ");
}

export function checkPodmanView(networks: readonly NetworkConfig[], rootless: boolean, podmanInstalled = Bun.which("podman") !== null): Finding[] {
  if (!podmanInstalled) return [];
  const native = networks.filter((n) => n.plugins[0]?.type === "ctrnet");
  if (native.length === 0) return [];
  if (rootless) {
    const names = native.map((n) => n.name).join(", ");
    return [info(CHECK, `networks ${names} are ctrnet's own type and their bridges live in the rootless netns: ${UNSEEN}s; give podman's networks a --subnet of their own`)];
  }
  const out: Finding[] = [];
  using nl = Netlink.open();
  const hostAddresses = nl.addresses().flatMap((a) => parseCidr(`${a.address}/${a.prefixLength}`) ?? []);
  for (const config of native) {
    const plugin = config.plugins[0] as Record<string, unknown>;
    const reservation = reservationOf(config);
    if (reservation !== undefined) {
      const missing = missingAddresses(nl, reservation);
      if (missing.length) {
        out.push(
          problem(
            CHECK,
            `network ${config.name}: bridge ${reservation.bridge} does not hold ${missing.join(", ")} (gone after a reboot?): ${UNSEEN} and may hand it out`,
            "ctrnet network create (of any network) makes it again, as does the network's next container",
          ),
        );
      }
      continue;
    }
    if (isVlanPluginEntry(plugin)) {
      // the host usually has an address of the parent's LAN, which podman does see
      const seen = networkSubnets(config).every((s) => hostAddresses.some((a) => subnetsOverlap(s, a)));
      if (!seen) out.push(info(CHECK, `network ${config.name} (${String(plugin.driver)}) on ${typeof plugin.master === "string" ? plugin.master : "the default route's interface"}: unless the host has an address in ${subnetsText(config)}, ${UNSEEN}`));
      continue;
    }
    if (plugin.mode === "unmanaged") {
      // the host's own bridge: podman sees its subnet when the bridge holds an address of it, as it usually does
      const seen = networkSubnets(config).every((s) => hostAddresses.some((a) => subnetsOverlap(s, a)));
      if (!seen) out.push(info(CHECK, `network ${config.name} (unmanaged, bridge ${String(plugin.bridge)}): unless the host has an address in ${subnetsText(config)}, ${UNSEEN}`));
      continue;
    }
    out.push(info(CHECK, `network ${config.name} (internal) holds no address on the host: ${UNSEEN} ${subnetsText(config)}; give podman's networks a --subnet of their own`));
  }
  return out;
}
