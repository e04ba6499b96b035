// What a slirp4netns container's network looks like from its record: its addresses, and its published
// ports as each port handler takes them. Pure.
//
// A mapping's hostIP "" ("every address" in a PortMapping) becomes 0.0.0.0 for both handlers, as podman's
// rootlessport and setupRootlessPortMappingViaSlirp do: such a port is published on IPv4 only, never
// on :: as well. `-p [::]:8080:80` publishes on IPv6.
import { type HostFwd } from "./api.ts";
import { type Slirp4netnsAddresses, slirp4netnsAddresses } from "./addresses.ts";
import { parseSlirp4netnsOptions, type Slirp4netnsOptions } from "./options.ts";
import { UsageError } from "../../errors.ts";
import type { PortForward } from "../../schema/portfwd.ts";
import type { PortMapping } from "../../schema/ports.ts";

/**
 * The options as stored in the record. They were checked against the host's interfaces when the
 * container was created; an interface named by outbound_addr that has gone since does not change them.
 */
export function storedSlirp4netnsOptions(options: readonly string[]): Slirp4netnsOptions {
  return parseSlirp4netnsOptions(options, { interfaceExists: () => true });
}

/** The tap's address (cidr + 100), gateway (+ 2) and DNS (+ 3). */
export function slirp4netnsAddressesOf(options: readonly string[]): Slirp4netnsAddresses {
  return slirp4netnsAddresses(storedSlirp4netnsOptions(options).cidr);
}

/** Neither handler forwards SCTP: refused before anything is made. */
export function checkSlirp4netnsPorts(ports: readonly PortMapping[]): void {
  const sctp = ports.find((p) => p.protocol === "sctp");
  if (sctp) throw new UsageError(`cannot publish ${sctp.containerPort}/sctp with slirp4netns: only tcp and udp are forwarded`);
}

function hostAddress(hostIP: string): string {
  return hostIP === "" ? "0.0.0.0" : hostIP;
}

/** port_handler=rootlesskit: the forwarder takes ranges as they are. */
export function forwarderPorts(ports: readonly PortMapping[]): PortForward[] {
  checkSlirp4netnsPorts(ports);
  return ports.map((p) => ({
    // "" as it is: the forwarder listens on both families for it (listeners.ts)
    hostIP: p.hostIP,
    hostPort: p.hostPort,
    containerPort: p.containerPort,
    protocol: p.protocol as PortForward["protocol"],
    range: p.range,
  }));
}

/** port_handler=slirp4netns: one add_hostfwd per port, a range spelled out, each to the tap's address. */
export function hostFwds(ports: readonly PortMapping[], guestIP: string): HostFwd[] {
  checkSlirp4netnsPorts(ports);
  return ports.flatMap((p) =>
    Array.from({ length: p.range }, (_, i) => ({
      proto: p.protocol as HostFwd["proto"],
      hostIP: hostAddress(p.hostIP),
      hostPort: p.hostPort + i,
      guestIP,
      guestPort: p.containerPort + i,
    })),
  );
}
