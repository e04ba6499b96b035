// A container's entry in `network inspect`'s `containers`, from the status its CNI result became, as
// podman converts one: addresses grouped by interface, with gateway and MAC.
import { describe, expect, test } from "bun:test";
import { containerInfo } from "../../src/networks/containers.ts";
import { type CniResultShape, statusFromCniResult } from "../../src/schema/network-status.ts";

const attachment = (result: CniResultShape | null) => ({ network: "n", ifname: "eth0", aliases: [], status: result && statusFromCniResult(result, "eth0") });

describe("containerInfo", () => {
  test("a dual-stack result: both addresses on eth0 with their gateways, and the MAC inside", () => {
    const result = {
      cniVersion: "1.0.0",
      interfaces: [
        { name: "ctrnet1", mac: "aa:aa:aa:aa:aa:aa" },
        { name: "vethabc", mac: "bb:bb:bb:bb:bb:bb" },
        { name: "eth0", mac: "02:42:0a:59:00:02", sandbox: "/run/netns/x" },
      ],
      ips: [
        { address: "10.89.0.2/24", gateway: "10.89.0.1", interface: 2 },
        { address: "fd12::2/64", gateway: "fd12::1", interface: 2 },
      ],
    };
    expect(containerInfo("web", attachment(result))).toEqual({
      name: "web",
      interfaces: {
        eth0: {
          subnets: [
            { ipnet: "10.89.0.2/24", gateway: "10.89.0.1" },
            { ipnet: "fd12::2/64", gateway: "fd12::1" },
          ],
          mac_address: "02:42:0a:59:00:02",
        },
      },
    });
  });

  test("an internal network's address has no gateway; a 0.3.1 result without indexes uses the sandbox interface", () => {
    const result = { cniVersion: "0.3.1", interfaces: [{ name: "eth1", mac: "02:00:00:00:00:01", sandbox: "/x" }], ips: [{ version: "4", address: "10.9.0.5/24" }] };
    expect(containerInfo("", attachment(result))).toEqual({
      name: "",
      interfaces: { eth1: { subnets: [{ ipnet: "10.9.0.5/24" }], mac_address: "02:00:00:00:00:01" } },
    });
  });

  test("no status yet, or one without addresses: attached, no interfaces", () => {
    expect(containerInfo("c", attachment(null))).toEqual({ name: "c" });
    expect(containerInfo("c", attachment({ interfaces: [{ name: "eth0", sandbox: "/x" }], ips: [] }))).toEqual({ name: "c" });
  });
});
