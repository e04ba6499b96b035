// pasta as the rootless netns's way out (podman 5's rootless netns uses pasta the same way): the host's
// addresses on the namespace's side, pasta's DNS forwarder as the nameserver of the plugins and of the
// containers behind the bridges. No ports: ctrnet's forwarder publishes into the namespace.
import { CtrnetError } from "../../errors.ts";
import type { StartWayOut, WayOut } from "../../rootless/netns.ts";
import { observeNetns } from "../observe.ts";
import { startPasta } from "./start.ts";

export function pastaWayOut(options: readonly string[], pidFile: string, featuresCache: string): StartWayOut {
  return async (netnsPath, onSpawn): Promise<WayOut> => {
    const pasta = await startPasta({ netnsPath, options, ports: [], pidFile, featuresCache });
    try {
      onSpawn(pasta.pid, "pasta");
      const v4 = observeNetns(netnsPath)
        ?.interfaces.flatMap((i) => i.addresses)
        .find((a) => !a.address.includes(":"));
      if (v4 === undefined || v4.gateway === undefined) {
        throw new CtrnetError(`pasta gave the rootless netns no IPv4 address with a default route (options: ${JSON.stringify(options.join(","))})`);
      }
      const [ip, prefix] = v4.address.split("/");
      return { program: "pasta", pid: pasta.pid, ip: ip!, prefixLength: Number(prefix), gateway: v4.gateway, dns: pasta.dnsForward[0] ?? v4.gateway };
    } catch (err) {
      await pasta.stop();
      throw err;
    }
  };
}
