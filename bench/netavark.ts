// netavark as podman drives it: `netavark --config DIR -f OPTIONS setup|teardown NETNS`, where OPTIONS is the
// network-options JSON podman writes for one container (format as in netavark's test/testfiles).
import { existsSync } from "node:fs";

export const NETAVARK = ["/usr/lib/podman/netavark", "/usr/libexec/podman/netavark"].find((p) => existsSync(p)) ?? "netavark";

export interface NetavarkContainer {
  containerId: string;
  network: string;
  bridge: string;
  /** IPv4 CIDR; the gateway is its first host, as podman picks it. */
  subnet: string;
  ip: string;
  hostPort: number;
  containerPort: number;
}

export function netavarkOptions(c: NetavarkContainer): unknown {
  const [base] = c.subnet.split("/") as [string];
  const gateway = base.replace(/\.\d+$/, ".1");
  return {
    container_id: new Bun.CryptoHasher("sha256").update(c.containerId).digest("hex"),
    container_name: c.containerId,
    port_mappings: [{ host_ip: "127.0.0.1", container_port: c.containerPort, host_port: c.hostPort, range: 1, protocol: "tcp" }],
    networks: { [c.network]: { static_ips: [c.ip], interface_name: "eth0" } },
    network_info: {
      [c.network]: {
        name: c.network,
        id: new Bun.CryptoHasher("sha256").update(c.network).digest("hex"),
        driver: "bridge",
        network_interface: c.bridge,
        subnets: [{ subnet: c.subnet, gateway }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
        ipam_options: { driver: "host-local" },
      },
    },
  };
}
