// planNetwork: what `network create` writes, and every refusal, decided without touching the machine.
import { describe, expect, test } from "bun:test";
import { parseNetworkConfig } from "../../src/drivers/cni/config.ts";
import { type Cidr, parseCidr } from "../../src/ip/codec.ts";
import { type ExistingNetwork, planNetwork, type Surroundings } from "../../src/networks/plan.ts";
import type { CreateNetworkRequest } from "../../src/networks/options.ts";

const cidr = (text: string): Cidr => parseCidr(text)!;
const BASE_PLUGINS = ["bridge", "host-local", "portmap", "firewall", "tuning", "macvlan", "ipvlan"];

function around(change: Partial<Surroundings> & { existing?: ExistingNetwork[] } = {}): Surroundings {
  const { existing, ...rest } = change;
  return {
    networks: existing ?? [{ name: "ctrnet", subnets: [cidr("10.88.0.0/16")], bridge: "ctrnet0" }],
    hostRoutes: [],
    hostAddresses: [],
    hostLinks: new Map<string, string | null>([["lo", null], ["eth0", null], ["br-free", "bridge"], ["veth9", "veth"]]),
    randomBytes: () => Uint8Array.of(0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde),
    plugins: new Set(BASE_PLUGINS),
    pluginPath: ["/opt/plugins"],
    ipamDataDir: "/cache/networks",
    now: new Date("2026-01-02T03:04:05.000Z"),
    ...rest,
  };
}

const plan = (request: CreateNetworkRequest, a: Surroundings = around()) => planNetwork(request, a);
type Plugin = Record<string, unknown> & { ipam?: { ranges?: unknown } };
const plugins = (request: CreateNetworkRequest, a?: Surroundings) => plan(request, a).conflist.plugins as Plugin[];

describe("planNetwork", () => {
  test("a bridge network with nothing but a name: ctrnet's own plugin, a free subnet and bridge, its id and time", () => {
    const { name, conflist } = plan({ name: "web" });
    expect(name).toBe("web");
    expect(conflist).toEqual({
      cniVersion: "1.0.0",
      name: "web",
      plugins: [
        {
          type: "ctrnet",
          bridge: "ctrnet1",
          isGateway: true,
          ipMasq: true,
          capabilities: { portMappings: true, ips: true, mac: true },
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: "/cache/networks",
          },
        },
      ],
      args: { ctrnet_created: "2026-01-02T03:04:05.000Z", ctrnet_dns: true },
    });
    expect(parseNetworkConfig(JSON.stringify(conflist), "planned").name).toBe("web");
  });

  test("-o plugin=cni: podman's reference chain, with the option kept for inspect", () => {
    const { conflist } = plan({ name: "web", options: { plugin: "cni" } });
    expect(conflist).toEqual({
      cniVersion: "1.0.0",
      name: "web",
      plugins: [
        {
          type: "bridge",
          bridge: "ctrnet1",
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          capabilities: { ips: true },
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: "/cache/networks",
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
        { type: "firewall" },
        { type: "tuning", capabilities: { mac: true } },
      ],
      args: { ctrnet_created: "2026-01-02T03:04:05.000Z", podman_options: { plugin: "cni" }, ctrnet_dns: true },
    });
    expect(parseNetworkConfig(JSON.stringify(conflist), "planned").name).toBe("web");
  });

  test("ctrnet's own plugin needs no binary on the plugin path: its runtime runs it in-process, root or rootless", () => {
    const a = around({ plugins: new Set<string>() });
    expect(plugins({ name: "n" }, a).map((p) => p.type)).toEqual(["ctrnet"]);
  });

  test("podman's reserved names are refused with podman's words", () => {
    for (const name of ["none", "host", "bridge", "private", "slirp4netns", "pasta", "container", "ns", "default"]) {
      expect(() => plan({ name })).toThrow(`cannot create network with name "${name}" because it conflicts with a valid network mode`);
    }
    expect(plan({ name: "hosts" }).name).toBe("hosts");
  });

  test("a name is at most 128 characters, so every path made from it fits", () => {
    expect(plan({ name: "n".repeat(128) }).name).toHaveLength(128);
    expect(() => plan({ name: "n".repeat(129) })).toThrow("is longer than 128 characters");
    expect(() => plan({ name: "n".repeat(253) })).toThrow("is longer than 128 characters");
  });

  test("the picked subnet skips other networks' subnets and host routes", () => {
    const a = around({
      existing: [
        { name: "ctrnet", subnets: [cidr("10.88.0.0/16")], bridge: "ctrnet0" },
        { name: "a", subnets: [cidr("10.89.0.0/24")], bridge: "ctrnet1" },
        { name: "b", subnets: [cidr("10.89.2.0/23")], bridge: "ctrnet2" },
      ],
      hostRoutes: [cidr("10.89.1.0/24"), cidr("192.168.0.0/16")],
    });
    expect(plugins({ name: "n" }, a)[0]!.ipam!.ranges).toEqual([[{ subnet: "10.89.4.0/24", gateway: "10.89.4.1" }]]);
  });

  test("a host route covering the whole candidate range leaves nothing to pick", () => {
    expect(() => plan({ name: "n" }, around({ hostRoutes: [cidr("10.0.0.0/8")] }))).toThrow(
      "no free IPv4 subnet left from 10.89.0.0/24 to 10.255.255.0/24: give one with --subnet",
    );
  });

  test("--ipv6 is dual stack as podman: a random ULA /64 and a picked IPv4 subnet, each where none is given", () => {
    expect(plugins({ name: "n", ipv6: true })[0]!.ipam!.ranges).toEqual([
      [{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }],
      [{ subnet: "fd12:3456:789a:bcde::/64", gateway: "fd12:3456:789a:bcde::1" }],
    ]);
    expect(plugins({ name: "n", ipv6: true, subnets: ["fd12::/64"] })[0]!.ipam!.ranges).toEqual([
      [{ subnet: "fd12::/64", gateway: "fd12::1" }],
      [{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }],
    ]);
    expect(plugins({ name: "n", ipv6: true, subnets: ["10.7.0.0/24"] })[0]!.ipam!.ranges).toEqual([
      [{ subnet: "10.7.0.0/24", gateway: "10.7.0.1" }],
      [{ subnet: "fd12:3456:789a:bcde::/64", gateway: "fd12:3456:789a:bcde::1" }],
    ]);
    expect(plugins({ name: "n", subnets: ["fd12::/64"] })[0]!.ipam!.ranges).toEqual([[{ subnet: "fd12::/64", gateway: "fd12::1" }]]);
  });

  test("a random IPv6 subnet that is taken is drawn again", () => {
    const draws = [Uint8Array.of(0, 0x88, 0, 0, 0, 0, 0, 1), Uint8Array.of(0, 0x99, 0, 0, 0, 0, 0, 2)];
    const a = around({ existing: [{ name: "v6", subnets: [cidr("fd88::/16")] }], randomBytes: () => draws.shift()! });
    expect(plugins({ name: "n", ipv6: true }, a)[0]!.ipam!.ranges).toContainEqual([{ subnet: "fd99:0:0:2::/64", gateway: "fd99:0:0:2::1" }]);
  });

  test("gateways and ranges pair with subnets by position, as podman's repeated flags", () => {
    const bridge = plugins({
      name: "n",
      subnets: ["10.20.0.0/16", "fd20::/64", "10.21.0.0/24"],
      gateways: ["10.20.0.254", "fd20::fe"],
      ipRanges: ["10.20.5.0/24", "fd20::100/120"],
    })[0]!;
    expect(bridge.ipam!.ranges).toEqual([
      [{ subnet: "10.20.0.0/16", gateway: "10.20.0.254", rangeStart: "10.20.5.1", rangeEnd: "10.20.5.255" }],
      [{ subnet: "fd20::/64", gateway: "fd20::fe", rangeStart: "fd20::101", rangeEnd: "fd20::1ff" }],
      [{ subnet: "10.21.0.0/24", gateway: "10.21.0.1" }],
    ]);
  });

  test("--ip-range runs from the range's first address after its network address to its last, as podman", () => {
    const range = (subnet: string, ipRange: string) => plugins({ name: "n", subnets: [subnet], ipRanges: [ipRange] })[0]!.ipam!.ranges;
    expect(range("10.11.12.0/24", "10.11.12.0/26")).toEqual([[{ subnet: "10.11.12.0/24", gateway: "10.11.12.1", rangeStart: "10.11.12.1", rangeEnd: "10.11.12.63" }]]);
    expect(range("10.11.12.0/24", "10.11.12.64/26")).toEqual([[{ subnet: "10.11.12.0/24", gateway: "10.11.12.1", rangeStart: "10.11.12.65", rangeEnd: "10.11.12.127" }]]);
    // Host bits of the range are cleared as Go's ParseCIDR does; the subnet's broadcast is never handed out.
    expect(range("10.11.12.0/24", "10.11.12.200/26")).toEqual([[{ subnet: "10.11.12.0/24", gateway: "10.11.12.1", rangeStart: "10.11.12.193", rangeEnd: "10.11.12.254" }]]);
  });

  test("a subnet with host bits set is normalised to its network, as podman", () => {
    expect(plugins({ name: "n", subnets: ["10.50.0.9/24", "fd20::5/64"] })[0]!.ipam!.ranges).toEqual([
      [{ subnet: "10.50.0.0/24", gateway: "10.50.0.1" }],
      [{ subnet: "fd20::/64", gateway: "fd20::1" }],
    ]);
  });

  test("a subnet the host already has an address in, or a route to, is refused", () => {
    const a = around({
      hostAddresses: [{ subnet: cidr("192.168.250.0/24"), address: "192.168.250.1/24", link: "eth1" }],
      hostRoutes: [cidr("10.0.0.0/8")],
    });
    expect(() => plan({ name: "n", subnets: ["192.168.250.0/24"] }, a)).toThrow(
      "subnet 192.168.250.0/24 is already used on the host: it overlaps address 192.168.250.1/24 of interface eth1",
    );
    expect(() => plan({ name: "n", subnets: ["192.168.250.128/25"] }, a)).toThrow("overlaps address 192.168.250.1/24");
    expect(() => plan({ name: "n", subnets: ["10.3.0.0/16"] }, a)).toThrow("subnet 10.3.0.0/16 is already used on the host: it overlaps the host's route to 10.0.0.0/8");
    // Picked subnets avoid them too.
    const picked = around({ hostAddresses: [{ subnet: cidr("10.89.0.0/24"), address: "10.89.0.7/24", link: "eth1" }] });
    expect(plugins({ name: "n" }, picked)[0]!.ipam!.ranges).toEqual([[{ subnet: "10.89.1.0/24", gateway: "10.89.1.1" }]]);
    // A macvlan network shares its parent's LAN, which the host is on by design.
    const lan = around({ hostAddresses: [{ subnet: cidr("192.168.1.0/24"), address: "192.168.1.5/24", link: "eth0" }] });
    expect(plan({ name: "lan", driver: "macvlan", options: { parent: "eth0" }, subnets: ["192.168.1.0/24"] }, lan).name).toBe("lan");
  });

  test("--interface-name: an existing bridge no network owns is taken, any other existing interface refused", () => {
    expect(plugins({ name: "n", interfaceName: "br-free" })[0]!.bridge).toBe("br-free");
    expect(() => plan({ name: "n", interfaceName: "lo" })).toThrow("interface lo exists on the host and is not a bridge (a physical or loopback device)");
    expect(() => plan({ name: "n", interfaceName: "veth9" })).toThrow("interface veth9 exists on the host and is not a bridge (a veth)");
    expect(() => plan({ name: "n", interfaceName: "brü" })).toThrow('invalid bridge name "brü": must be printable ASCII');
  });

  test("the bridge name is the lowest ctrnetN that no network and no host link has", () => {
    const a = around({
      existing: [
        { name: "ctrnet", subnets: [cidr("10.88.0.0/16")], bridge: "ctrnet0" },
        { name: "x", subnets: [], bridge: "ctrnet1" },
      ],
      hostLinks: new Map([["ctrnet2", "bridge"]]),
    });
    expect(plugins({ name: "n" }, a)[0]!.bridge).toBe("ctrnet3");
    expect(plugins({ name: "n", interfaceName: "br-mine" }, a)[0]!.bridge).toBe("br-mine");
  });

  test("a missing name is the lowest free ctrnetN", () => {
    const a = around({ existing: [{ name: "ctrnet1", subnets: [] }] });
    expect(plan({}, a).name).toBe("ctrnet2");
  });

  test("options, labels, internal", () => {
    const { conflist } = plan({ name: "n", internal: true, options: { mtu: "1400", vlan: "7" }, labels: { team: "a", empty: "" } });
    const bridge = (conflist.plugins as Plugin[])[0]!;
    expect(bridge).toMatchObject({ mtu: 1400, vlan: 7, isGateway: false, ipMasq: false });
    expect(conflist.args).toMatchObject({ podman_labels: { team: "a", empty: "" }, podman_options: { mtu: "1400", vlan: "7" } });
  });

  test("ctrnet's own DNS server (args.ctrnet_dns) on both bridge kinds unless --disable-dns; never dnsname, even where it is installed", () => {
    const a = { ...around({ plugins: new Set([...BASE_PLUGINS, "dnsname"]) }), ownPluginInProcess: true };
    const cni = { plugin: "cni" };
    expect(plugins({ name: "n", options: cni }, a).map((p) => p.type)).not.toContain("dnsname");
    expect(plan({ name: "n", options: cni }, a).conflist.args).toMatchObject({ ctrnet_dns: true });
    expect(plan({ name: "n", options: cni, disableDns: true }, a).conflist.args).not.toHaveProperty("ctrnet_dns");
    expect(plan({ name: "n" }, a).conflist.args).toMatchObject({ ctrnet_dns: true });
    expect(plan({ name: "n", disableDns: true }, a).conflist.args).not.toHaveProperty("ctrnet_dns");
    expect(plan({ name: "lan", driver: "macvlan", options: { parent: "eth0" }, subnets: ["192.168.1.0/24"] }).conflist.args).not.toHaveProperty("ctrnet_dns");
  });

  test("macvlan and ipvlan: ctrnet's own plugin by default, on the parent from --opt parent or --interface-name, host-local on the given subnet", () => {
    const ipam = {
      type: "host-local",
      ranges: [[{ subnet: "192.168.1.0/24", gateway: "192.168.1.1" }]],
      routes: [{ dst: "0.0.0.0/0" }],
      dataDir: "/cache/networks",
    };
    const native = plan({ name: "lan", driver: "macvlan", options: { parent: "eth0", mode: "private", mtu: "1500" }, subnets: ["192.168.1.0/24"] }).conflist;
    expect(native.plugins).toEqual([{ type: "ctrnet", driver: "macvlan", master: "eth0", mode: "private", mtu: 1500, capabilities: { ips: true, mac: true }, ipam }]);
    // an ipvlan link has its parent's MAC: no mac capability
    expect(plugins({ name: "lan", driver: "ipvlan", options: { parent: "eth0", mode: "l3" }, subnets: ["192.168.1.0/24"] })).toEqual([
      { type: "ctrnet", driver: "ipvlan", master: "eth0", mode: "l3", capabilities: { ips: true }, ipam },
    ]);
    expect(plugins({ name: "lan", driver: "ipvlan", options: { parent: "eth0", plugin: "cni" }, subnets: ["192.168.1.0/24"] })).toEqual([
      { type: "ipvlan", master: "eth0", capabilities: { ips: true }, ipam },
    ]);
    const conf = plan({ name: "lan", driver: "macvlan", options: { parent: "eth0", mode: "private", mtu: "1500", plugin: "cni" }, subnets: ["192.168.1.0/24"] }).conflist;
    expect(conf.plugins).toEqual([
      {
        type: "macvlan",
        master: "eth0",
        mode: "private",
        mtu: 1500,
        capabilities: { ips: true },
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: "192.168.1.0/24", gateway: "192.168.1.1" }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: "/cache/networks",
        },
      },
      { type: "tuning", capabilities: { mac: true } },
    ]);
    expect(plugins({ name: "lan", driver: "macvlan", interfaceName: "eth0", subnets: ["192.168.1.0/24"] })[0]!.master).toBe("eth0");
    // podman's: no parent names none (the default route's interface at each attach); the parent is no option
    const noParent = plan({ name: "lan", driver: "macvlan", subnets: ["192.168.1.0/24"] }).conflist;
    expect((noParent.plugins as Record<string, unknown>[])[0]).not.toHaveProperty("master");
    expect(plan({ name: "lan", driver: "macvlan", options: { parent: "eth0", mode: "vepa" }, subnets: ["192.168.1.0/24"] }).conflist.args).toMatchObject({ podman_options: { mode: "vepa" } });
    expect(plan({ name: "lan", driver: "macvlan", options: { parent: "eth0" }, subnets: ["192.168.1.0/24"] }).conflist.args).not.toHaveProperty("podman_options");
  });

  test("-o bclim=N (podman's, macvlan only): ctrnet's plugin carries it; ipvlan, a bad number, the reference plugin and dhcp refuse it", () => {
    const mv = plan({ name: "lan", driver: "macvlan", options: { parent: "eth0", bclim: "-1" }, subnets: ["192.168.1.0/24"] }).conflist;
    expect((mv.plugins as Record<string, unknown>[])[0]).toMatchObject({ type: "ctrnet", driver: "macvlan", bclim: -1 });
    expect(mv.args).toMatchObject({ podman_options: { bclim: "-1" } });
    expect(() => plan({ name: "n", driver: "ipvlan", options: { parent: "eth0", bclim: "2" }, subnets: ["192.168.1.0/24"] })).toThrow("unsupported ipvlan network option: bclim");
    expect(() => plan({ name: "n", driver: "macvlan", options: { parent: "eth0", bclim: "x" }, subnets: ["192.168.1.0/24"] })).toThrow('failed to parse "bclim" option: strconv.ParseInt: parsing "x": invalid syntax');
    expect(() => plan({ name: "n", driver: "macvlan", options: { parent: "eth0", bclim: "2", plugin: "cni" }, subnets: ["192.168.1.0/24"] })).toThrow("--opt bclim needs ctrnet's own plugin");
    expect(() => plan({ name: "n", driver: "macvlan", options: { parent: "eth0", bclim: "2" } })).toThrow("--opt bclim needs ctrnet's own plugin");
  });

  test("a macvlan or ipvlan network may share a subnet with another network, as podman's (only a bridge's must be free)", () => {
    const taken = around({ existing: [{ name: "lan1", subnets: [cidr("10.10.0.0/24")] }, { name: "br", subnets: [cidr("10.25.40.0/24")], bridge: "br0" }] });
    for (const driver of ["macvlan", "ipvlan"]) {
      expect(plan({ name: `${driver}2`, driver, options: { parent: "eth0" }, subnets: ["10.10.0.0/24"] }, taken).name).toBe(`${driver}2`);
      expect(plan({ name: `${driver}3`, driver, options: { parent: "eth0" }, subnets: ["10.25.40.0/24"] }, taken).name).toBe(`${driver}3`);
    }
    expect(() => plan({ name: "n", subnets: ["10.10.0.0/24"] }, taken)).toThrow("subnet 10.10.0.0/24 is already used on the host or by another config");
  });

  test("refuses bad input with one line naming the problem", () => {
    const taken = around({
      existing: [
        { name: "ctrnet", subnets: [cidr("10.88.0.0/16")], bridge: "ctrnet0" },
        { name: "other", subnets: [cidr("10.50.0.0/16")], bridge: "br-other" },
      ],
    });
    const cases: [CreateNetworkRequest, string][] = [
      [{ name: "-bad" }, 'Invalid characters in network name "-bad": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
      [{ name: "a/b" }, 'Invalid characters in network name "a/b"'],
      [{ name: "other" }, "network name other already used: network already exists other"],
      [{ name: "n", driver: "overlay" }, 'failed to find driver or plugin "overlay": use bridge, macvlan, ipvlan'],
      [{ name: "n", driver: "ipvlan", options: { parent: "eth0", mode: "vepa" }, subnets: ["192.168.1.0/24"] }, "invalid --opt mode=vepa for the ipvlan driver: use one of l2, l3, l3s"],
      [{ name: "n", driver: "ipvlan", options: { parent: "eth9" }, subnets: ["192.168.1.0/24"] }, "parent interface eth9 of the ipvlan network does not exist"],
      [{ name: "n", subnets: ["10.50.3.0/24"] }, "subnet 10.50.3.0/24 is already used on the host or by another config: it overlaps subnet 10.50.0.0/16 of network other"],
      [{ name: "n", subnets: ["10.60.0.0/16", "10.60.1.0/24"] }, "overlapping subnets 10.60.0.0/16 and 10.60.1.0/24"],
      [{ name: "n", subnets: ["10.60.0.0"] }, 'invalid subnet "10.60.0.0"'],
      [{ name: "n", subnets: ["10.60.0.0/31"] }, 'invalid subnet "10.60.0.0/31": a /31 leaves no room for a gateway and a container (use /30 or shorter)'],
      [{ name: "n", subnets: ["10.60.0.0/32"] }, 'invalid subnet "10.60.0.0/32": a /32 leaves no room'],
      [{ name: "n", subnets: ["fd60::/127"] }, 'invalid subnet "fd60::/127": a /127 leaves no room for a gateway and a container (use /126 or shorter)'],
      [{ name: "n", subnets: ["::/0"] }, 'invalid subnet "::/0": it covers every address'],
      [{ name: "n", subnets: ["0.0.0.0/0"] }, 'invalid subnet "0.0.0.0/0": it covers every address'],
      [{ name: "n", subnets: ["224.1.0.0/16"] }, 'invalid subnet "224.1.0.0/16": it overlaps the multicast range 224.0.0.0/4'],
      [{ name: "n", subnets: ["ff05::/64"] }, "it overlaps the multicast range ff00::/8"],
      [{ name: "n", subnets: ["127.5.0.0/16"] }, "it overlaps the loopback range 127.0.0.0/8"],
      [{ name: "n", subnets: ["::/126"] }, "it overlaps the unspecified and loopback addresses ::/127"],
      [{ name: "n", subnets: ["169.254.3.0/24"] }, "it overlaps the link-local range 169.254.0.0/16"],
      [{ name: "n", subnets: ["fe80:0:0:1::/64"] }, "it overlaps the link-local range fe80::/10"],
      [{ name: "n", subnets: ["255.0.0.0/24"] }, "it overlaps the reserved range 240.0.0.0/4"],
      [{ name: "n", subnets: ["0.1.0.0/16"] }, 'it overlaps the "this network" range 0.0.0.0/8'],
      [{ name: "n", subnets: ["8.0.0.0/4"] }, "it overlaps the"],
      [{ name: "n", subnets: ["10.60.0.0/16"], gateways: ["10.61.0.1"] }, "gateway 10.61.0.1 not in subnet 10.60.0.0/16"],
      [{ name: "n", subnets: ["10.60.0.0/16", "10.61.0.0/16"], gateways: ["10.61.0.1"] }, "gateway 10.61.0.1 not in subnet 10.60.0.0/16"],
      [{ name: "n", subnets: ["10.60.0.0/24"], gateways: ["10.60.0.255"] }, "gateway 10.60.0.255 is not a host address of 10.60.0.0/24"],
      [{ name: "n", subnets: ["10.60.0.0/24"], gateways: ["nope"] }, 'invalid argument "nope" for "--gateway" flag: invalid string being converted to IP address: nope'],
      // podman's e2e: a gateway that is no address is named before the missing subnet
      [{ name: "n", gateways: ["10.11.12.256"] }, 'invalid argument "10.11.12.256" for "--gateway" flag: invalid string being converted to IP address: 10.11.12.256'],
      [{ name: "n", subnets: ["10.60.0.0/24"], gateways: ["10.60.0.1", "10.60.0.2"] }, "cannot set more gateways than subnets"],
      [{ name: "n", subnets: ["10.60.0.0/24"], ipRanges: ["10.60.0.0/25", "10.60.0.128/25"] }, "cannot set more ranges than subnets"],
      [{ name: "n", gateways: ["10.89.0.1"] }, "cannot set gateway or range without subnet"],
      [{ name: "n", ipRanges: ["10.89.0.0/25"] }, "cannot set gateway or range without subnet"],
      [{ name: "n", subnets: ["10.60.0.0/24"], ipRanges: ["10.61.0.0/24"] }, "IP range 10.61.0.0/24 not in subnet 10.60.0.0/24"],
      [{ name: "n", subnets: ["10.60.0.0/24"], ipRanges: ["10.60.0.0/23"] }, "IP range 10.60.0.0/23 is larger than its subnet 10.60.0.0/24"],
      [{ name: "n", subnets: ["10.60.0.0/24"], ipRanges: ["banana"] }, 'invalid IP range "banana"'],
      [{ name: "n", interfaceName: "br-other" }, "bridge name br-other already used by network other"],
      [{ name: "n", interfaceName: "a-name-far-too-long" }, 'invalid bridge name "a-name-far-too-long"'],
      [{ name: "n", options: { mtu: "big" } }, "invalid --opt mtu=big: expected an integer"],
      [{ name: "n", options: { mtu: "20" } }, "invalid MTU 20"],
      [{ name: "n", options: { vlan: "4095" } }, "invalid VLAN 4095"],
      [{ name: "n", options: { parent: "eth0" } }, 'unsupported bridge network option: parent (use mtu, vlan'],
      [{ name: "n", driver: "macvlan", options: { parent: "eth9" }, subnets: ["192.168.1.0/24"] }, "parent interface eth9 of the macvlan network does not exist"],
      [{ name: "n", driver: "macvlan", options: { parent: "eth0" }, ipamDriver: "host-local" }, "a macvlan network needs --subnet"],
      [{ name: "n", driver: "macvlan", options: { parent: "eth0" } }, "plugin binary \"dhcp\" needed by network n not found"],
      [{ name: "n", driver: "ipvlan", options: { parent: "eth0" }, ipamDriver: "dhcp", routes: ["10.1.0.0/16,10.0.0.1"] }, "the dhcp ipam driver takes no --route"],
      [{ name: "n", driver: "macvlan", options: { parent: "eth0", mode: "weird" }, subnets: ["192.168.1.0/24"] }, "invalid --opt mode=weird"],
      [{ name: "n", driver: "macvlan", options: { parent: "eth0" }, interfaceName: "lo", subnets: ["192.168.1.0/24"] }, "disagree"],
      [{ name: "n", driver: "macvlan", options: { parent: "eth0" }, internal: true, subnets: ["192.168.1.0/24"] }, "--internal is supported by the bridge driver only"],
      [{ name: "n", driver: "macvlan", options: { parent: "eth0" }, ipv6: true, subnets: ["192.168.1.0/24"] }, "--ipv6 on a macvlan network needs an IPv6 --subnet"],
    ];
    for (const [request, message] of cases) {
      let error: unknown;
      try {
        plan(request, taken);
      } catch (err) {
        error = err;
      }
      expect({ request, error: String(error) }).toEqual({ request, error: expect.stringContaining(message) });
      expect((error as { exitCode?: number }).exitCode).toBe(2);
      expect(String(error)).not.toContain("\n");
    }
  });

  test("a malformed flag value is named before what exists (podman's CLI reads --subnet, --ip-range, --gateway and --route before its backend): before a name or subnet taken, a reserved name, a bad option", () => {
    const taken = around({ existing: [{ name: "used", subnets: [cidr("10.11.12.0/24")], bridge: "ctrnet7" }] });
    for (const [request, words] of [
      [{ name: "used", subnets: ["10.11.12.0/24"], ipRanges: ["10.11.12.345-10.11.12.999"] }, 'range start ip "10.11.12.345" is not a ip address'],
      [{ subnets: ["10.11.12.0/24"], ipRanges: ["10.11.12.3-10.11.12.999"] }, 'range end ip "10.11.12.999" is not a ip address'],
      [{ name: "used", subnets: ["10.11.12.0/17000"] }, "invalid CIDR address: 10.11.12.0/17000"],
      [{ name: "host", subnets: ["10.11.12.0/24"], routes: ["10.21.0.0/24,nope"] }, "invalid route gateway nope"],
      [{ name: "n", subnets: ["10.11.12.0/24"], gateways: ["10.11.12.1", "fd00::1"], options: { foo: "bar" } }, "cannot set more gateways than subnets"],
      [{ name: "n", ipRanges: ["10.11.12.0/26"], options: { foo: "bar" } }, "cannot set gateway or range without subnet"],
    ] as const) {
      expect(() => plan(request, taken)).toThrow(words);
    }
    // well-formed: what exists decides, as before
    expect(() => plan({ name: "used" }, taken)).toThrow("network already exists used");
    expect(() => plan({ name: "n", subnets: ["10.11.12.0/24"], ipRanges: ["10.11.12.3-10.11.12.9"] }, taken)).toThrow("subnet 10.11.12.0/24 is already used on the host or by another config");
  });

  test("a plugin the conflist needs and the plugin path lacks is named, with the path", () => {
    const a = around({ plugins: new Set(["bridge", "host-local", "portmap", "tuning"]) });
    expect(() => plan({ name: "n", options: { plugin: "cni" } }, a)).toThrow('plugin binary "firewall" needed by network n not found in /opt/plugins');
    const noIpam = around({ plugins: new Set(["macvlan", "tuning"]) });
    // ctrnet's own plugin (the default) runs in-process: nothing to find
    expect(plan({ name: "n", driver: "macvlan", options: { parent: "eth0" }, subnets: ["192.168.1.0/24"] }, noIpam).name).toBe("n");
    expect(() => plan({ name: "n", driver: "macvlan", options: { parent: "eth0", plugin: "cni" }, subnets: ["192.168.1.0/24"] }, noIpam)).toThrow(
      'plugin binary "host-local" needed by network n not found',
    );
  });

  test("podman's bridge options vrf and mode: written on ctrnet's plugin (vrf, mode unmanaged, ctrnetDns), kept as options; refused with the reference chain or a bad value", () => {
    const vrf = plugins({ name: "v", options: { vrf: "vrf-blue" } })[0]!;
    expect(vrf).toMatchObject({ type: "ctrnet", vrf: "vrf-blue" });
    expect(vrf).not.toHaveProperty("mode");
    expect(plan({ name: "v", options: { vrf: "vrf-blue", mode: "managed" } }).conflist.args).toMatchObject({ podman_options: { vrf: "vrf-blue", mode: "managed" } });
    // unmanaged: the host's bridge, whose subnet the host has and another network may name too
    const busy = around({
      existing: [{ name: "other", subnets: [cidr("10.60.0.0/24")], bridge: "br-free" }],
      hostAddresses: [{ address: "10.60.0.1", subnet: cidr("10.60.0.0/24"), link: "br-free" }],
    });
    const um = plugins({ name: "u", options: { mode: "unmanaged" }, interfaceName: "br-free", subnets: ["10.60.0.0/24"] }, busy)[0]!;
    expect(um).toMatchObject({ type: "ctrnet", bridge: "br-free", mode: "unmanaged", ctrnetDns: true });
    expect(plugins({ name: "u", options: { mode: "unmanaged" }, interfaceName: "br-free", subnets: ["10.60.0.0/24"], disableDns: true }, busy)[0]).not.toHaveProperty("ctrnetDns");
    // managed, the same is refused
    expect(() => plan({ name: "m", interfaceName: "br-free", subnets: ["10.60.0.0/24"] }, busy)).toThrow("bridge name br-free already used by network other");
    expect(() => plan({ name: "m", subnets: ["10.60.0.0/24"] }, busy)).toThrow("subnet 10.60.0.0/24 is already used");
    expect(() => plan({ name: "n", options: { mode: "bogus" } })).toThrow('unknown bridge mode "bogus"');
    expect(() => plan({ name: "n", options: { vrf: "" } })).toThrow("invalid vrf name");
    expect(() => plan({ name: "n", options: { vrf: "a/b" } })).toThrow('invalid vrf name "a/b"');
    expect(() => plan({ name: "n", options: { vrf: "v", plugin: "cni" } })).toThrow("--opt vrf needs ctrnet's own plugin");
    expect(() => plan({ name: "n", options: { mode: "unmanaged", plugin: "cni" } })).toThrow("--opt mode=unmanaged needs ctrnet's own plugin");
  });

  test("docker's bridge option names, as podman maps them: com.docker.network.driver.mtu is mtu, com.docker.network.bridge.name the interface (neither kept among the options)", () => {
    const { conflist } = plan({ name: "d", options: { "com.docker.network.driver.mtu": "1400", "com.docker.network.bridge.name": "brd" } });
    expect((conflist.plugins as Plugin[])[0]).toMatchObject({ bridge: "brd", mtu: 1400 });
    expect(conflist.args).toMatchObject({ podman_options: { mtu: "1400" } });
    expect(JSON.stringify(conflist.args)).not.toContain("com.docker");
  });

  test("-o isolate takes podman's values: strict, or a boolean as Go reads one (false, 0 or empty: no isolation, kept as false; 1: true), also beside the reference chain when false", () => {
    expect(plugins({ name: "i", options: { isolate: "1" } })[0]).toMatchObject({ isolate: "true" });
    expect(plan({ name: "i", options: { isolate: "1" } }).conflist.args).toMatchObject({ podman_options: { isolate: "true" } });
    expect(plugins({ name: "i", options: { isolate: "strict" } })[0]).toMatchObject({ isolate: "strict" });
    for (const off of ["false", "0", "F", ""]) {
      expect(plugins({ name: "i", options: { isolate: off } })[0]).not.toHaveProperty("isolate");
      expect(plan({ name: "i", options: { isolate: off } }).conflist.args).toMatchObject({ podman_options: { isolate: "false" } });
    }
    expect(plan({ name: "i", options: { isolate: "false", plugin: "cni" } }).name).toBe("i");
    expect(() => plan({ name: "i", options: { isolate: "yes" } })).toThrow("invalid --opt isolate=yes: use true, false or strict");
  });

  test("-o mtu=0 or -o mtu= is the default MTU, as podman's ParseMTU reads it (bridge, macvlan); -o vlan= or 0 no VLAN", () => {
    for (const mtu of ["0", ""]) {
      expect(plugins({ name: "m", options: { mtu } })[0]).not.toHaveProperty("mtu");
      expect(plugins({ name: "m", driver: "macvlan", subnets: ["192.168.1.0/24"], options: { parent: "eth0", mtu } })[0]).not.toHaveProperty("mtu");
    }
    expect(plugins({ name: "m", options: { mtu: "1400" } })[0]).toMatchObject({ mtu: 1400 });
    // and -o vlan= (or 0) no VLAN, as its ParseVlan
    expect(plugins({ name: "m", options: { vlan: "" } })[0]).not.toHaveProperty("vlan");
    expect(plugins({ name: "m", options: { vlan: "0" } })[0]).not.toHaveProperty("vlan");
    expect(() => plan({ name: "m", options: { mtu: "-1" } })).toThrow("invalid --opt mtu=-1: expected an integer");
  });

  test("-o metric takes any 32-bit unsigned integer, as podman's ParseUint(…, 32)", () => {
    expect(plugins({ name: "m", options: { metric: "4294967295" } })[0]).toMatchObject({ ipam: { routes: [{ dst: "0.0.0.0/0", priority: 4294967295 }] } });
    expect(() => plan({ name: "m", options: { metric: "4294967296" } })).toThrow("invalid --opt metric=4294967296: expected an integer from 0 to 4294967295");
  });

  test("a bridge with the dhcp ipam driver: unmanaged only (netavark's words otherwise), the reference bridge plugin on the host's bridge with CNI's dhcp IPAM, no DNS; no subnet, route, isolation, VRF or ctrnet plugin", () => {
    expect(() => plan({ name: "d", ipamDriver: "dhcp" })).toThrow("cannot use dhcp ipam driver without using the option mode=unmanaged");
    const withDhcp = around({ plugins: new Set([...BASE_PLUGINS, "dhcp"]) });
    const { conflist } = plan({ name: "d", ipamDriver: "dhcp", options: { mode: "unmanaged" }, interfaceName: "br-free" }, withDhcp);
    expect(conflist.plugins).toEqual([
      { type: "bridge", bridge: "br-free", isGateway: false, ipMasq: false, hairpinMode: true, mode: "unmanaged", ipam: { type: "dhcp" } },
      { type: "tuning", capabilities: { mac: true } },
    ]);
    expect(conflist.args).toEqual({ ctrnet_created: "2026-01-02T03:04:05.000Z", podman_options: { mode: "unmanaged" } });
    expect(() => plan({ name: "d", ipamDriver: "dhcp", options: { mode: "unmanaged" } })).toThrow('plugin binary "dhcp" needed by network d not found');
    const unmanaged = { ipamDriver: "dhcp", options: { mode: "unmanaged" } };
    expect(() => plan({ name: "d", ...unmanaged, subnets: ["10.1.0.0/24"] })).toThrow("the dhcp ipam driver takes no --subnet");
    expect(() => plan({ name: "d", ...unmanaged, routes: ["10.2.0.0/16,10.1.0.1"] })).toThrow("the dhcp ipam driver takes no --route");
    expect(() => plan({ name: "d", ipamDriver: "dhcp", options: { mode: "unmanaged", plugin: "ctrnet" } })).toThrow("the dhcp ipam driver needs the reference bridge plugin");
    expect(() => plan({ name: "d", ipamDriver: "dhcp", options: { mode: "unmanaged", isolate: "true" } })).toThrow("--opt isolate needs a managed bridge");
    expect(() => plan({ name: "d", ipamDriver: "dhcp", options: { mode: "unmanaged", vrf: "v" } })).toThrow("--opt vrf needs a managed bridge");
  });
});
