// What a network must hold on the host for podman's CNI backend to see its subnets (src/networks/reserve.ts):
// the gateways, with their prefix length, on the bridge of a network of ctrnet's own bridge type; nothing
// for the networks that have no gateway on a bridge (internal, macvlan, ipvlan) or that podman reads itself.
import { describe, expect, test } from "bun:test";
import { bridgeConflist, macvlanConflist, nativeConflist, nativeVlanConflist } from "../../src/drivers/cni/conflist.ts";
import { parseNetworkConfig } from "../../src/drivers/cni/config.ts";
import { reservationOf } from "../../src/networks/reserve.ts";

const load = (conf: Record<string, unknown>) => parseNetworkConfig(JSON.stringify(conf), "generated");

describe("reservationOf", () => {
  test("a native bridge network: each subnet's gateway (given or its first host) on the bridge, MTU and VLAN as the driver makes it", () => {
    const conf = nativeConflist({ name: "n", bridge: "ctrnet5", subnets: ["10.89.5.0/24", "fd00:5::/64"], gateways: ["10.89.5.254"], mtu: 1400, vlan: 7 });
    expect(reservationOf(load(conf))).toEqual({ network: "n", bridge: "ctrnet5", mtu: 1400, vlan: 7, addresses: ["10.89.5.254/24", "fd00:5::1/64"] });
  });

  test("nothing for an internal network, a macvlan or ipvlan one, or the reference chain's (podman reads those)", () => {
    expect(reservationOf(load(nativeConflist({ name: "i", bridge: "ctrnet6", subnets: ["10.89.6.0/24"], internal: true })))).toBeUndefined();
    expect(reservationOf(load(nativeVlanConflist({ name: "m", master: "eth0", subnets: ["192.168.1.0/24"] })))).toBeUndefined();
    expect(reservationOf(load(nativeVlanConflist({ name: "v", driver: "ipvlan", master: "eth0", subnets: ["192.168.1.0/24"] })))).toBeUndefined();
    expect(reservationOf(load(bridgeConflist({ name: "b", bridge: "cni-b", subnets: ["10.89.7.0/24"] })))).toBeUndefined();
    expect(reservationOf(load(macvlanConflist({ name: "r", master: "eth0", subnets: ["192.168.1.0/24"] })))).toBeUndefined();
    // an unmanaged network's bridge is the host's: ctrnet never makes it nor gives it an address
    expect(reservationOf(load(nativeConflist({ name: "u", bridge: "br0", subnets: ["10.89.8.0/24"], unmanaged: true })))).toBeUndefined();
  });

  test("a network under a VRF: the bridge is made under it", () => {
    expect(reservationOf(load(nativeConflist({ name: "v", bridge: "ctrnet9", subnets: ["10.89.9.0/24"], vrf: "vrf-blue" })))).toEqual({
      network: "v",
      bridge: "ctrnet9",
      vrf: "vrf-blue",
      addresses: ["10.89.9.1/24"],
    });
  });
});
