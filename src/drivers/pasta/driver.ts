// The pasta driver, as podman 5's setupPasta: pasta configures the container's netns itself (the host's
// addresses, routes and MTU, copied onto an interface of the host's outbound interface's name, or -I's)
// and publishes the ports itself (-t/-u), so there is no forwarder of ctrnet's. What pasta set up is read
// back from the netns: inspect and /etc/hosts show pasta's addresses, as podman reads them.
import { dirname, join } from "node:path";
import { CtrnetError, UsageError } from "../../errors.ts";
import type { NetworkStatus } from "../../schema/network-status.ts";
import type { ContainerRecord, NetworkAttachment } from "../../state/index.ts";
import type { DriverTarget, NetworkDriver } from "../driver.ts";
import { observeNetns } from "../observe.ts";
import { checkPastaPorts, DNS_FORWARD_IPV4, MAP_GUEST_ADDR_IPV4 } from "./argv.ts";
import { hasOption, pastaBinary, probePasta } from "./features.ts";
import { parsePastaOptions, storedValues } from "./options.ts";
import type { Pasta } from "./start.ts";
import { pastaStatus } from "./status.ts";

/** The one network of the mode; no CNI network, so the record lists none. */
function attachment(options: readonly string[]): NetworkAttachment {
  const named = storedValues(options, "ns-ifname", "I").at(-1);
  return { network: "pasta", ifname: named && /^[^\s/:]{1,15}$/.test(named) ? named : "pasta", aliases: [], status: null };
}

/** options: as the record keeps them; featuresCache: where the binary's probe is kept. */
export function pastaDriver(options: readonly string[], featuresCache: string): NetworkDriver {
  /** pasta with the record's options and ports, written down once ready. */
  const start = async (target: DriverTarget): Promise<Pasta> => {
    // its start code loads with the first container of the mode: other modes never need it
    const { startPasta } = await import("./start.ts");
    const pasta = await startPasta({
      netnsPath: target.netnsPath!,
      options,
      ports: target.ports,
      // beside the container's other helper files
      pidFile: join(dirname(target.helpers.apiSocket()), `pasta-${crypto.randomUUID().slice(0, 12)}.pid`),
      featuresCache,
      tied: target.tied,
    });
    target.helpers.spawned("pasta", pasta.pid);
    target.helpers.started("pasta", pasta);
    return pasta;
  };
  /** Checked against the installed pasta: a bad option is refused before anything is made. */
  const parsed = () => parsePastaOptions(options, probePasta(pastaBinary(), featuresCache));
  return {
    name: "pasta",
    live: false,
    listensOnHostPorts: true,
    attachments: () => [attachment(options)],
    fixedStatus(rec: ContainerRecord) {
      // pasta's addresses are the host's, known only to the netns; its DNS forwarder from the options
      const observed = rec.netns ? observeNetns(rec.netns.path) : undefined;
      return pastaStatus(observed, dnsForwardOf(options, featuresCache));
    },
    async validate(req) {
      checkPastaPorts(req.ports);
      if (req.ips?.length || req.mac !== undefined || req.aliases.length) {
        throw new UsageError("--ip, --mac and --alias need a CNI network; network mode pasta has none (its options -a and --ns-mac-addr set them)");
      }
      parsed();
    },
    async setup(target) {
      const pasta = await start(target);
      return pastaStatus(observeNetns(target.netnsPath!), pasta.dnsForward);
    },
    async restartHelper(target, kind) {
      if (kind !== "pasta") throw new CtrnetError(`a pasta container has no ${kind} to restart: pasta publishes its ports itself`);
      // its tap went with it, addresses and routes too: --config-net makes them again
      await start(target);
    },
    async teardown(target) {
      return target.helpers.stop("pasta");
    },
  };
}

/** Where, in ctrnet's runtime dir, the probe of the installed pasta is kept between processes. */
export const PASTA_FEATURES_FILE = "pasta-features.json";

/**
 * The address pasta maps to the host for host.containers.internal: --map-guest-addr's, given or podman's
 * default where this pasta has the option; undefined where it has not.
 */
export function pastaMapGuestAddr(options: readonly string[], runtimeDir: string): string | undefined {
  const given = storedValues(options, "map-guest-addr");
  if (given.length) return given[0];
  try {
    return hasOption(probePasta(pastaBinary(), join(runtimeDir, PASTA_FEATURES_FILE)), "map-guest-addr") ? MAP_GUEST_ADDR_IPV4 : undefined;
  } catch {
    return undefined;
  }
}

/** The --dns-forward addresses pasta was given, as the record's options say; podman's default otherwise. */
function dnsForwardOf(options: readonly string[], featuresCache: string): string[] {
  const given = storedValues(options, "dns-forward");
  if (given.length) return given;
  try {
    return hasOption(probePasta(pastaBinary(), featuresCache), "dns-forward") ? [DNS_FORWARD_IPV4] : [];
  } catch {
    // pasta gone since: inspect still shows the rest
    return [];
  }
}
