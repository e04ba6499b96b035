// ctrnet's forwarder as a port publisher: `ctrnet _rootlessport` listens on the host and connects from
// inside a netns to the container's address, from the client's own address (return-path.ts). Its start
// code loads with the first port it publishes: a command that publishes none (root's on a bridge) never does.
import { selfCommand } from "../../rootless/self.ts";
import type { DriverTarget, PortPublisher } from "../driver.ts";
import { forwarderPorts } from "../slirp4netns/network.ts";

/**
 * netnsOf: where the forwarder connects from (the container's netns, or the rootless netns its bridge is in).
 * loopbackAs6: what a client on the host's IPv6 loopback appears as, where the netns's own IPv6 gateway is
 * link-local (see PortForwarderConfig).
 */
export function forwarderPublisher(netnsOf: (target: DriverTarget) => string, loopbackAs6?: string): PortPublisher {
  return {
    async publish(target, address, address6) {
      const [binary, ...args] = selfCommand();
      const { startPortForwarder } = await import("./start.ts");
      const forwarder = await startPortForwarder({
        binary: binary!,
        args,
        netnsPath: netnsOf(target),
        childIP: address,
        childIP6: address6,
        // only where the ports lead to an IPv6 address: a v4-only netns has no IPv6 gateway to stand for
        loopbackAs6: address6 === undefined ? undefined : loopbackAs6,
        ports: forwarderPorts(target.ports),
        detached: !target.tied,
        onSpawn: (pid) => target.helpers.spawned("portForwarder", pid),
      });
      target.helpers.started("portForwarder", forwarder);
    },
    unpublish: (target) => target.helpers.stop("portForwarder"),
  };
}
