// podman's `network create --route`, `-o no_default_route`, `--dns` and `network update --dns-add/--dns-drop`:
// parsing with podman's words, the conflists they make (the ipam section's routes, as host-local reads
// them) and what `network inspect` reads back; and which routes ctrnet's drivers set from an ipam section.
import { describe, expect, test } from "bun:test";
import { parseNetworkConfig } from "../../src/drivers/cni/config.ts";
import { nativeConflist } from "../../src/drivers/cni/conflist.ts";
import { defaultRouteGateways, staticRoutesOf } from "../../src/drivers/static-routes.ts";
import { type Cidr, parseCidr } from "../../src/ip/codec.ts";
import { parseDnsServers, updateDnsServers } from "../../src/networks/dns-servers.ts";
import { describeNetwork } from "../../src/networks/model.ts";
import { parseBridgeOptions, parseMacvlanOptions, parseRoute } from "../../src/networks/options.ts";
import { planNetwork, type Surroundings } from "../../src/networks/plan.ts";
import type { CreateNetworkRequest } from "../../src/networks/options.ts";

const cidr = (text: string): Cidr => parseCidr(text)!;
const around: Surroundings = {
  networks: [],
  hostRoutes: [],
  hostAddresses: [],
  hostLinks: new Map<string, string | null>([["lo", null], ["eth0", null]]),
  randomBytes: () => Uint8Array.of(0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde),
  plugins: new Set(["bridge", "host-local", "portmap", "firewall", "tuning", "macvlan"]),
  pluginPath: ["/opt/plugins"],
  ipamDataDir: "/cache/networks",
  now: new Date("2026-01-02T03:04:05.000Z"),
};
const ipamOf = (request: CreateNetworkRequest) => (planNetwork(request, around).conflist.plugins as { ipam: Record<string, unknown> }[])[0]!.ipam;
const load = (conf: unknown) => parseNetworkConfig(JSON.stringify(conf), "test.conflist");

describe("--route", () => {
  test("DEST,GATEWAY[,METRIC], normalised", () => {
    expect(parseRoute("10.1.0.0/16,10.99.0.5")).toEqual({ destination: "10.1.0.0/16", gateway: "10.99.0.5" });
    expect(parseRoute("fd00:1::/64,fd00::0005,7")).toEqual({ destination: "fd00:1::/64", gateway: "fd00::5", metric: 7 });
  });

  test.each([
    ["10.1.0.0/16", "invalid route: 10.1.0.0/16: Format: --route <destination in CIDR>,<gateway>,<metric (optional)>"],
    ["10.1.0.0/16,10.99.0.5,1,2", "invalid route: 10.1.0.0/16,10.99.0.5,1,2: Format:"],
    ["10.1.0.0,10.99.0.5", "invalid route destination 10.1.0.0"],
    ["10.1.0.5/16,10.99.0.5", "invalid route destination 10.1.0.5/16: route destination invalid: host bits are set (the network is 10.1.0.0/16)"],
    ["10.1.0.0/16,gw", "invalid route gateway gw"],
    ["10.1.0.0/16,10.99.0.5,x", "invalid route metric x"],
    ["10.1.0.0/16,10.99.0.5,-1", "invalid route metric -1"],
    ["10.1.0.0/16,fd00::5", "gateway fd00::5 and destination 10.1.0.0/16 are of different IP versions"],
  ])("%s is refused", (text, message) => {
    expect(() => parseRoute(text)).toThrow(message);
  });

  test("host-local's ipam routes, after the default route; the metric as CNI's priority", () => {
    expect(ipamOf({ name: "r", subnets: ["10.99.0.0/24"], routes: ["10.1.0.0/16,10.99.0.5,7", "10.2.0.0/16,10.99.0.6"] }).routes).toEqual([
      { dst: "0.0.0.0/0" },
      { dst: "10.1.0.0/16", gw: "10.99.0.5", priority: 7 },
      { dst: "10.2.0.0/16", gw: "10.99.0.6" },
    ]);
    // the reference chain the same way
    expect(ipamOf({ name: "r", subnets: ["10.99.0.0/24"], routes: ["10.1.0.0/16,10.99.0.5"], options: { plugin: "cni" } }).routes).toEqual([
      { dst: "0.0.0.0/0" },
      { dst: "10.1.0.0/16", gw: "10.99.0.5" },
    ]);
  });

  test("a gateway outside the subnets is planned, as podman's (e2e: fd:1::/64,fd::1 on fd:ab04::/64); one of a family no subnet has is refused", () => {
    expect(ipamOf({ name: "r", subnets: ["fd00:9::/64"], routes: ["fd00:1::/64,fd00:8::1,120"] }).routes).toEqual([
      { dst: "::/0" },
      { dst: "fd00:1::/64", gw: "fd00:8::1", priority: 120 },
    ]);
    expect(() => planNetwork({ name: "r", subnets: ["10.99.0.0/24"], routes: ["fd00:1::/64,fd00:8::1"] }, around)).toThrow(
      "route gateway fd00:8::1 is of an IP family no subnet of the network has (10.99.0.0/24)",
    );
  });

  test("network inspect shows them as podman's routes", () => {
    const conf = planNetwork({ name: "r", subnets: ["10.99.0.0/24"], routes: ["10.1.0.0/16,10.99.0.5,7"], dnsServers: ["1.1.1.1"] }, around).conflist;
    const info = describeNetwork(load(conf), new Date());
    expect(info.routes).toEqual([{ destination: "10.1.0.0/16", gateway: "10.99.0.5", metric: 7 }]);
    expect(info.network_dns_servers).toEqual(["1.1.1.1"]);
    expect(Object.keys(info)).toEqual([
      "name", "id", "driver", "network_interface", "created", "subnets", "routes", "ipv6_enabled", "internal", "dns_enabled", "network_dns_servers", "labels", "options", "ipam_options",
    ]);
    const plain = describeNetwork(load(planNetwork({ name: "p" }, around).conflist), new Date());
    expect("routes" in plain || "network_dns_servers" in plain).toBe(false);
  });
});

describe("-o no_default_route", () => {
  test("read as Go's ParseBool, for bridge and macvlan", () => {
    expect(parseBridgeOptions({ no_default_route: "true" }).noDefaultRoute).toBe(true);
    expect(parseBridgeOptions({ no_default_route: "0" }).noDefaultRoute).toBe(false);
    expect(parseMacvlanOptions({ no_default_route: "T" }).noDefaultRoute).toBe(true);
    expect(() => parseBridgeOptions({ no_default_route: "maybe" })).toThrow("invalid --opt no_default_route=maybe: use true or false");
  });

  test("the ipam routes keep only the static ones (an empty list says: no default route); the option shows in inspect", () => {
    const request = { name: "n", subnets: ["10.99.0.0/24", "fd00:9::/64"], options: { no_default_route: "true" } };
    expect(ipamOf(request).routes).toEqual([]);
    expect(ipamOf({ ...request, routes: ["10.1.0.0/16,10.99.0.5"] }).routes).toEqual([{ dst: "10.1.0.0/16", gw: "10.99.0.5" }]);
    expect(describeNetwork(load(planNetwork(request, around).conflist), new Date()).options).toEqual({ no_default_route: "true" });
    // kept as podman keeps it
    expect(describeNetwork(load(planNetwork({ ...request, options: { no_default_route: "1" } }, around).conflist), new Date()).options).toEqual({ no_default_route: "true" });
  });
});

describe("the drivers' routes from an ipam section", () => {
  const ipam = (extra: Record<string, unknown>) => ({ type: "host-local", ranges: [[{ subnet: "10.99.0.0/24" }]], ...extra });

  test("no routes key: a default route through every gateway, as before", () => {
    expect(defaultRouteGateways(ipam({}), ["10.99.0.1", "fd00::1"])).toEqual(["10.99.0.1", "fd00::1"]);
  });

  test("routes listed: default routes only for the families listed", () => {
    expect(defaultRouteGateways(ipam({ routes: [{ dst: "0.0.0.0/0" }] }), ["10.99.0.1", "fd00::1"])).toEqual(["10.99.0.1"]);
    expect(defaultRouteGateways(ipam({ routes: [] }), ["10.99.0.1", "fd00::1"])).toEqual([]);
    expect(defaultRouteGateways(ipam({ routes: [{ dst: "::/0" }, { dst: "10.1.0.0/16", gw: "10.99.0.5" }] }), ["10.99.0.1", "fd00::1"])).toEqual(["fd00::1"]);
  });

  test("static routes: those with a gateway that are not default routes", () => {
    const conf = nativeConflist({ name: "s", bridge: "b0", subnets: ["10.99.0.0/24"], routes: [{ destination: "10.1.0.0/16", gateway: "10.99.0.5", metric: 9 }] });
    const plugin = (conf.plugins as { ipam: unknown }[])[0]!;
    expect(staticRoutesOf(plugin.ipam)).toEqual([{ dst: "10.1.0.0/16", gw: "10.99.0.5", metric: 9 }]);
    expect(staticRoutesOf(ipam({ routes: [{ dst: "0.0.0.0/0", gw: "10.99.0.1" }, { dst: "10.3.0.0/16" }] }))).toEqual([]);
  });
});

describe("network --dns servers", () => {
  test("--dns: addresses, canonical, once each", () => {
    expect(parseDnsServers(["1.1.1.1", "fd00::0001", "1.1.1.1"])).toEqual(["1.1.1.1", "fd00::1"]);
    expect(() => parseDnsServers(["dns.example"])).toThrow('unable to parse ip "dns.example" specified in --dns: invalid argument');
    expect(() => planNetwork({ name: "d", dnsServers: ["x"] }, around)).toThrow('unable to parse ip "x" specified in --dns');
  });

  test("update: dropped, then added; dropping one the network lacks changes nothing, as podman's", () => {
    expect(updateDnsServers(["1.1.1.1", "8.8.8.8"], ["9.9.9.9", "8.8.8.8"], ["1.1.1.1"])).toEqual(["8.8.8.8", "9.9.9.9"]);
    expect(updateDnsServers([], ["9.9.9.9"], [])).toEqual(["9.9.9.9"]);
    expect(updateDnsServers(["1.1.1.1"], [], ["8.8.4.4"])).toEqual(["1.1.1.1"]);
    expect(() => updateDnsServers([], ["nope"], [])).toThrow('unable to parse ip "nope" specified in --dns-add: invalid argument');
    expect(() => updateDnsServers([], [], ["nope"])).toThrow('unable to parse ip "nope" specified in --dns-drop');
  });
});
