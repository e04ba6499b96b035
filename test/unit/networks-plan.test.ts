// planNetwork: what `network create` writes, and every refusal, decided without touching the machine.
import { describe, expect, test } from "bun:test";
import { parseNetworkConfig } from "../../src/drivers/cni/config.ts";
import { type Cidr, parseCidr } from "../../src/ip/codec.ts";
import { type ExistingNetwork, planNetwork, type Surroundings } from "../../src/networks/plan.ts";
import type { CreateNetworkRequest } from "../../src/networks/options.ts";

const cidr = (text: string): Cidr => parseCidr(text)!;
const BASE_PLUGINS = ["bridge", "host-local", "portmap", "firewall", "tuning", "macvlan"];

function around(change: Partial<Surroundings> & { existing?: ExistingNetwork[] } = {}): Surroundings {
  const { existing, ...rest } = change;
  return {
    networks: existing ?? [{ name: "ctrnet", subnets: [cidr("10.88.0.0/16")], bridge: "ctrnet0" }],
    hostRoutes: [],
    hostLinks: new Set(["lo", "eth0"]),
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
  test("a bridge network with nothing but a name: podman's plugins, a free subnet and bridge, its id and time", () => {
    const { name, conflist } = plan({ name: "web" });
    expect(name).toBe("web");
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
      args: { ctrnet_id: expect.stringMatching(/^[0-9a-f]{64}$/), ctrnet_created: "2026-01-02T03:04:05.000Z" },
    });
    expect(parseNetworkConfig(JSON.stringify(conflist), "planned").name).toBe("web");
  });

  test("ids differ for the same name created at the same time", () => {
    const id = () => (plan({ name: "same" }).conflist.args as { ctrnet_id: string }).ctrnet_id;
    expect(id()).not.toBe(id());
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

  test("--ipv6 adds a free IPv6 /64, next to a given or picked IPv4 subnet", () => {
    const a = around({ existing: [{ name: "v6", subnets: [cidr("fd00::/64")] }] });
    expect(plugins({ name: "n", ipv6: true }, a)[0]!.ipam!.ranges).toEqual([
      [{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }],
      [{ subnet: "fd00:0:0:1::/64", gateway: "fd00:0:0:1::1" }],
    ]);
    expect(plugins({ name: "n", ipv6: true, subnets: ["fd12::/64"] })[0]!.ipam!.ranges).toEqual([[{ subnet: "fd12::/64", gateway: "fd12::1" }]]);
  });

  test("given subnets, gateway and range are used as given", () => {
    const bridge = plugins({ name: "n", subnets: ["10.20.0.0/16", "fd20::/64"], gateway: "10.20.0.254", ipRange: "10.20.5.0/24" })[0]!;
    expect(bridge.ipam!.ranges).toEqual([
      [{ subnet: "10.20.0.0/16", gateway: "10.20.0.254", rangeStart: "10.20.5.1", rangeEnd: "10.20.5.254" }],
      [{ subnet: "fd20::/64", gateway: "fd20::1" }],
    ]);
  });

  test("the bridge name is the lowest ctrnetN that no network and no host link has", () => {
    const a = around({
      existing: [
        { name: "ctrnet", subnets: [cidr("10.88.0.0/16")], bridge: "ctrnet0" },
        { name: "x", subnets: [], bridge: "ctrnet1" },
      ],
      hostLinks: new Set(["ctrnet2"]),
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

  test("dnsname when it is installed, unless --disable-dns", () => {
    const a = around({ plugins: new Set([...BASE_PLUGINS, "dnsname"]) });
    expect(plugins({ name: "n" }, a).at(-1)).toEqual({ type: "dnsname", domainName: "dns.ctrnet", capabilities: { aliases: true } });
    expect(plugins({ name: "n", disableDns: true }, a).map((p) => p.type)).not.toContain("dnsname");
    expect(plugins({ name: "n" }).map((p) => p.type)).not.toContain("dnsname");
  });

  test("macvlan: the parent from --opt parent or --interface-name, host-local on the given subnet", () => {
    const conf = plan({ name: "lan", driver: "macvlan", options: { parent: "eth0", mode: "private", mtu: "1500" }, subnets: ["192.168.1.0/24"] }).conflist;
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
  });

  test("refuses bad input with one line naming the problem", () => {
    const taken = around({
      existing: [
        { name: "ctrnet", subnets: [cidr("10.88.0.0/16")], bridge: "ctrnet0" },
        { name: "other", subnets: [cidr("10.50.0.0/16")], bridge: "br-other" },
      ],
    });
    const cases: [CreateNetworkRequest, string][] = [
      [{ name: "-bad" }, 'invalid network name "-bad": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
      [{ name: "a/b" }, 'invalid network name "a/b"'],
      [{ name: "other" }, "network name other already used: network already exists"],
      [{ name: "n", driver: "ipvlan" }, 'unsupported network driver "ipvlan": use bridge or macvlan'],
      [{ name: "n", subnets: ["10.50.3.0/24"] }, "subnet 10.50.3.0/24 overlaps subnet 10.50.0.0/16 of network other"],
      [{ name: "n", subnets: ["10.60.0.0/16", "10.60.1.0/24"] }, "subnets 10.60.0.0/16 and 10.60.1.0/24 overlap"],
      [{ name: "n", subnets: ["10.60.0.0"] }, 'invalid subnet "10.60.0.0"'],
      [{ name: "n", subnets: ["10.60.0.1/16"] }, 'invalid subnet "10.60.0.1/16": host bits are set'],
      [{ name: "n", subnets: ["10.60.0.0/16"], gateway: "10.61.0.1" }, "gateway 10.61.0.1 is in none of the subnets 10.60.0.0/16"],
      [{ name: "n", subnets: ["10.60.0.0/24"], gateway: "10.60.0.255" }, "gateway 10.60.0.255 is not a host address of 10.60.0.0/24"],
      [{ name: "n", subnets: ["10.60.0.0/24"], gateway: "nope" }, 'invalid gateway "nope"'],
      [{ name: "n", gateway: "10.89.0.1" }, "--gateway needs --subnet"],
      [{ name: "n", ipRange: "10.89.0.0/25" }, "--ip-range needs --subnet"],
      [{ name: "n", subnets: ["10.60.0.0/24"], ipRange: "10.61.0.0/24" }, "IP range 10.61.0.0/24 is in none of the subnets"],
      [{ name: "n", interfaceName: "br-other" }, "bridge name br-other already used by network other"],
      [{ name: "n", interfaceName: "a-name-far-too-long" }, 'invalid bridge name "a-name-far-too-long"'],
      [{ name: "n", options: { mtu: "big" } }, "invalid --opt mtu=big: expected an integer"],
      [{ name: "n", options: { mtu: "20" } }, "invalid MTU 20"],
      [{ name: "n", options: { vlan: "4095" } }, "invalid VLAN 4095"],
      [{ name: "n", options: { parent: "eth0" } }, 'unsupported option "parent" for the bridge driver: use mtu, vlan'],
      [{ name: "n", driver: "macvlan", subnets: ["192.168.1.0/24"] }, "a macvlan network needs its parent interface: --opt parent=IFACE"],
      [{ name: "n", driver: "macvlan", options: { parent: "eth9" }, subnets: ["192.168.1.0/24"] }, "parent interface eth9 of the macvlan network does not exist"],
      [{ name: "n", driver: "macvlan", options: { parent: "eth0" } }, "a macvlan network needs --subnet"],
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

  test("a plugin the conflist needs and the plugin path lacks is named, with the path", () => {
    const a = around({ plugins: new Set(["bridge", "host-local", "portmap", "tuning"]) });
    expect(() => plan({ name: "n" }, a)).toThrow('plugin binary "firewall" needed by network n not found in /opt/plugins');
    const noIpam = around({ plugins: new Set(["macvlan", "tuning"]) });
    expect(() => plan({ name: "n", driver: "macvlan", options: { parent: "eth0" }, subnets: ["192.168.1.0/24"] }, noIpam)).toThrow(
      'plugin binary "host-local" needed by network n not found',
    );
  });
});
