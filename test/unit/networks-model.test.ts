// describeNetwork: podman 4's `network inspect` shape, read back from ctrnet's conflists and from others.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { parseNetworkConfig } from "../../src/drivers/cni/config.ts";
import { bridgeConflist, macvlanConflist, nativeConflist } from "../../src/drivers/cni/conflist.ts";
import { describeNetwork, networkBridge, networkSubnets } from "../../src/networks/model.ts";
import { formatCidr } from "../../src/ip/codec.ts";

const FILE_TIME = new Date("2025-05-05T05:05:05.000Z");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const load = (conf: unknown) => parseNetworkConfig(JSON.stringify(conf), "test.conflist");

describe("describeNetwork", () => {
  test("a ctrnet bridge network: every field, the id the name's sha256 as podman's, time from the conflist", () => {
    const conf = bridgeConflist({
      name: "web",
      bridge: "ctrnet3",
      subnets: ["10.89.3.0/24", "fd00:0:0:3::/64"],
      ipRanges: ["10.89.3.128/25"],
      dnsDomain: "dns.ctrnet",
      args: { created: "2026-01-01T00:00:00.000Z", labels: { team: "a" }, options: { mtu: "1400" } },
      mtu: 1400,
    });
    expect(describeNetwork(load(conf), FILE_TIME)).toEqual({
      name: "web",
      id: sha256("web"),
      driver: "bridge",
      network_interface: "ctrnet3",
      created: "2026-01-01T00:00:00.000Z",
      subnets: [
        { subnet: "10.89.3.0/24", gateway: "10.89.3.1", lease_range: { start_ip: "10.89.3.129", end_ip: "10.89.3.254" } },
        { subnet: "fd00:0:0:3::/64", gateway: "fd00:0:0:3::1" },
      ],
      ipv6_enabled: true,
      internal: false,
      dns_enabled: true,
      labels: { team: "a" },
      options: { mtu: "1400" },
      ipam_options: { driver: "host-local" },
    });
  });

  test("internal bridge and macvlan networks", () => {
    const internal = describeNetwork(load(bridgeConflist({ name: "i", bridge: "b", subnets: ["10.1.0.0/24"], internal: true })), FILE_TIME);
    expect(internal).toMatchObject({ internal: true, subnets: [{ subnet: "10.1.0.0/24" }], ipv6_enabled: false, dns_enabled: false });
    const mac = describeNetwork(load(macvlanConflist({ name: "m", master: "eth0", subnets: ["192.168.7.0/24"] })), FILE_TIME);
    expect(mac).toMatchObject({ driver: "macvlan", network_interface: "eth0", internal: false });
  });

  test("a network of ctrnet's own plugin is a bridge network to podman's eyes, internal as the chain's", () => {
    const spec = { name: "n", bridge: "b", subnets: ["10.1.0.0/24"] };
    for (const internal of [false, true]) {
      const [native, chain] = [nativeConflist({ ...spec, internal }), bridgeConflist({ ...spec, internal })].map((c) => describeNetwork(load(c), FILE_TIME));
      expect({ ...native, subnets: [] }).toEqual({ ...chain!, subnets: [] });
      // without DNS an internal network has no gateway with either (podman: "add gateway when not internal or dns enabled")
      expect(native!.subnets).toEqual([{ subnet: "10.1.0.0/24", ...(internal ? {} : { gateway: "10.1.0.1" }) }]);
      expect(chain!.subnets).toEqual([{ subnet: "10.1.0.0/24", ...(internal ? {} : { gateway: "10.1.0.1" }) }]);
      expect(native).toMatchObject({ driver: "bridge", network_interface: "b", internal });
    }
    // with DNS, ctrnet's plugin keeps the gateway on an internal network's bridge for its DNS server (netavark's rule)
    const dns = describeNetwork(load(nativeConflist({ ...spec, internal: true, args: { dns: true } })), FILE_TIME);
    expect(dns!.subnets).toEqual([{ subnet: "10.1.0.0/24", gateway: "10.1.0.1" }]);
    expect(dns).toMatchObject({ internal: true, dns_enabled: true });
  });

  test("a file ctrnet did not write: id from the name, time from the file, legacy host-local keys", () => {
    const config = load({
      cniVersion: "0.4.0",
      name: "legacy",
      plugins: [{ type: "bridge", isGateway: true, ipam: { type: "host-local", subnet: "10.5.0.0/16", gateway: "10.5.0.1", rangeStart: "10.5.1.1" } }],
      // An id an earlier ctrnet wrote is not podman's: the name's hash wins.
      args: { ctrnet_id: "ab".repeat(32), podman_labels: { bad: 1 } },
    });
    expect(describeNetwork(config, FILE_TIME)).toEqual({
      name: "legacy",
      id: sha256("legacy"),
      driver: "bridge",
      network_interface: "cni0",
      created: FILE_TIME.toISOString(),
      subnets: [{ subnet: "10.5.0.0/16", gateway: "10.5.0.1", lease_range: { start_ip: "10.5.1.1" } }],
      ipv6_enabled: false,
      internal: false,
      dns_enabled: false,
      labels: {},
      options: {},
      ipam_options: { driver: "host-local" },
    });
    expect(networkBridge(config)).toBe("cni0");
    expect(networkSubnets(config).map(formatCidr)).toEqual(["10.5.0.0/16"]);
  });

  test("other plugins and IPAMs: no subnets, no bridge", () => {
    const config = load({ cniVersion: "1.0.0", name: "p", plugins: [{ type: "ptp", ipam: { type: "dhcp" } }] });
    expect(describeNetwork(config, FILE_TIME)).toMatchObject({ driver: "ptp", network_interface: "", subnets: [], ipam_options: { driver: "dhcp" } });
    expect(networkBridge(config)).toBeUndefined();
    expect(networkSubnets(config)).toEqual([]);
  });
});
