// The generated bridge conflist.
import { describe, expect, test } from "bun:test";
import { parseNetworkConfig } from "../../src/drivers/cni/config.ts";
import { bridgeConflist, macvlanConflist } from "../../src/drivers/cni/conflist.ts";

describe("bridgeConflist", () => {
  test("podman's shape: bridge with host-local, portmap, firewall, tuning", () => {
    expect(bridgeConflist({ name: "mynet", bridge: "cni-podman1", subnets: ["10.89.0.0/24"] })).toEqual({
      cniVersion: "1.0.0",
      name: "mynet",
      plugins: [
        {
          type: "bridge",
          bridge: "cni-podman1",
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          capabilities: { ips: true },
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
        { type: "firewall" },
        { type: "tuning", capabilities: { mac: true } },
      ],
    });
  });

  test("dual stack, gateways and IP ranges go to the subnet in the same position, options carried through", () => {
    const conf = bridgeConflist({
      name: "dual",
      bridge: "br-dual",
      subnets: ["10.90.0.0/16", "fd00:90::/64"],
      gateways: ["10.90.0.9", "fd00:90::fe"],
      ipRanges: ["10.90.8.0/22"],
      mtu: 1400,
      vlan: 12,
      ipMasq: false,
      ipamDataDir: "/tmp/ipam",
    });
    const bridge = (conf.plugins as Record<string, unknown>[])[0]!;
    expect(bridge).toMatchObject({ mtu: 1400, vlan: 12, ipMasq: false, isGateway: true });
    expect(bridge.ipam).toEqual({
      type: "host-local",
      ranges: [
        [{ subnet: "10.90.0.0/16", gateway: "10.90.0.9", rangeStart: "10.90.8.1", rangeEnd: "10.90.11.255" }],
        [{ subnet: "fd00:90::/64", gateway: "fd00:90::fe" }],
      ],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
      dataDir: "/tmp/ipam",
    });
  });

  test("an IP range at the subnet's edge skips the network and broadcast addresses", () => {
    const conf = bridgeConflist({ name: "n", bridge: "b", subnets: ["10.0.0.0/24"], ipRanges: ["10.0.0.0/24"] });
    const ipam = (conf.plugins as { ipam?: { ranges: unknown } }[])[0]?.ipam;
    expect(ipam?.ranges).toEqual([[{ subnet: "10.0.0.0/24", gateway: "10.0.0.1", rangeStart: "10.0.0.1", rangeEnd: "10.0.0.254" }]]);
  });

  test("an IP range START-END (podman 5's --ip-range sip-eip) is taken as it is", () => {
    const conf = bridgeConflist({ name: "n", bridge: "b", subnets: ["10.11.16.0/24"], ipRanges: ["10.11.16.11-10.11.16.12"] });
    const ipam = (conf.plugins as { ipam?: { ranges: unknown } }[])[0]?.ipam;
    expect(ipam?.ranges).toEqual([[{ subnet: "10.11.16.0/24", gateway: "10.11.16.1", rangeStart: "10.11.16.11", rangeEnd: "10.11.16.12" }]]);
  });

  test("internal: no gateway on the bridge, no masquerade, no default route", () => {
    const conf = bridgeConflist({ name: "n", bridge: "b", subnets: ["10.0.0.0/24"], internal: true, isGateway: true, ipMasq: true });
    const bridge = (conf.plugins as Record<string, unknown>[])[0]!;
    expect(bridge).toMatchObject({ isGateway: false, ipMasq: false });
    expect(bridge.ipam).toEqual({ type: "host-local", ranges: [[{ subnet: "10.0.0.0/24" }]] });
  });

  test("the output loads as a network configuration", () => {
    const conf = bridgeConflist({ name: "roundtrip", bridge: "b0", subnets: ["10.0.0.0/24"] });
    expect(parseNetworkConfig(JSON.stringify(conf), "generated").plugins.map((p) => p.type)).toEqual(["bridge", "portmap", "firewall", "tuning"]);
  });

  test("refuses bad input", () => {
    const base = { name: "n", bridge: "b", subnets: ["10.0.0.0/24"] };
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "bad name" }, 'Invalid characters in network name "bad name"'],
      [{ bridge: "a-bridge-name-too-long" }, 'invalid bridge name "a-bridge-name-too-long"'],
      [{ subnets: [] }, "at least one subnet"],
      [{ subnets: ["10.0.0.0"] }, 'invalid subnet "10.0.0.0"'],
      [{ subnets: ["10.0.0.0/33"] }, 'invalid subnet "10.0.0.0/33"'],
      [{ subnets: ["10.0.0.7/24"] }, "host bits are set (the network is 10.0.0.0/24)"],
      [{ gateways: ["10.0.0.x"] }, 'invalid gateway "10.0.0.x"'],
      [{ subnets: ["10.0.0.0/16", "10.0.5.0/24"] }, "overlapping subnets 10.0.0.0/16 and 10.0.5.0/24"],
      [{ gateways: ["10.1.0.1"] }, "gateway 10.1.0.1 not in subnet 10.0.0.0/24"],
      [{ gateways: ["10.0.0.255"] }, "gateway 10.0.0.255 is not a host address of 10.0.0.0/24"],
      [{ gateways: ["10.0.0.1", "10.0.0.2"] }, "cannot set more gateways than subnets"],
      [{ ipRanges: ["10.1.0.0/24"] }, "IP range 10.1.0.0/24 not in subnet 10.0.0.0/24"],
      [{ ipRanges: ["10.0.0.0/26", "10.0.0.64/26"] }, "cannot set more ranges than subnets"],
      [{ ipRanges: ["10.0.0.345-10.0.0.9"] }, 'range start ip "10.0.0.345" is not a ip address'],
      [{ ipRanges: ["10.0.0.3-10.0.0.999"] }, 'range end ip "10.0.0.999" is not a ip address'],
      [{ ipRanges: ["10.0.0.3-10.0.1.9"] }, "IP range 10.0.0.3-10.0.1.9: 10.0.1.9 not in subnet 10.0.0.0/24"],
      [{ ipRanges: ["10.0.0.9-10.0.0.3"] }, "IP range 10.0.0.9-10.0.0.3: its start is after its end"],
      [{ subnets: ["10.0.0.0/25"], ipRanges: ["10.0.0.0/24"] }, "IP range 10.0.0.0/24 is larger than its subnet"],
      [{ mtu: 20 }, "invalid MTU 20"],
      [{ vlan: 5000 }, "invalid VLAN 5000"],
    ];
    for (const [change, message] of cases) expect(() => bridgeConflist({ ...base, ...change } as never)).toThrow(message);
  });

  test("dnsname last, and network facts in the list's args where no plugin reads them", () => {
    const conf = bridgeConflist({
      name: "n",
      bridge: "b",
      subnets: ["10.0.0.0/24"],
      dnsDomain: "dns.ctrnet",
      args: { created: "2026-01-01T00:00:00.000Z", labels: { a: "1" }, options: {} },
    });
    expect((conf.plugins as Record<string, unknown>[]).at(-1)).toEqual({ type: "dnsname", domainName: "dns.ctrnet", capabilities: { aliases: true } });
    expect(conf.args).toEqual({ ctrnet_created: "2026-01-01T00:00:00.000Z", podman_labels: { a: "1" } });
    expect("args" in bridgeConflist({ name: "n", bridge: "b", subnets: ["10.0.0.0/24"], args: {} })).toBe(false);
  });
});

describe("macvlanConflist", () => {
  test("macvlan on its parent with host-local, then tuning", () => {
    const conf = macvlanConflist({ name: "lan", master: "eth0", subnets: ["192.168.1.0/24"], gateways: ["192.168.1.254"], mode: "bridge" });
    expect(conf).toEqual({
      cniVersion: "1.0.0",
      name: "lan",
      plugins: [
        {
          type: "macvlan",
          master: "eth0",
          mode: "bridge",
          capabilities: { ips: true },
          ipam: { type: "host-local", ranges: [[{ subnet: "192.168.1.0/24", gateway: "192.168.1.254" }]], routes: [{ dst: "0.0.0.0/0" }] },
        },
        { type: "tuning", capabilities: { mac: true } },
      ],
    });
    expect(parseNetworkConfig(JSON.stringify(conf), "generated").plugins.map((p) => p.type)).toEqual(["macvlan", "tuning"]);
  });

  test("refuses bad input", () => {
    const base = { name: "lan", master: "eth0", subnets: ["192.168.1.0/24"] };
    expect(() => macvlanConflist({ ...base, master: "" })).toThrow('invalid parent interface name ""');
    expect(() => macvlanConflist({ ...base, mode: "x" as never })).toThrow('invalid macvlan mode "x"');
    expect(() => macvlanConflist({ ...base, mtu: 70000 })).toThrow("invalid MTU 70000");
    expect(() => macvlanConflist({ ...base, subnets: [] })).toThrow("a network needs at least one subnet");
  });
});
