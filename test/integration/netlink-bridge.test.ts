// What a native bridge network asks of the kernel, through src/netlink and src/netns/sysctl.ts, with
// iproute2's JSON output (`ip -d -j link`, `bridge -j vlan`) and sysctl(8) as the oracles: a bridge with VLAN
// filtering, a veth whose container end is made directly in the container's netns, hairpin on the bridge
// port, a port's PVID, macvlan and ipvlan links made inside a container's netns, and parameters under
// /proc/sys/net written in another netns than the caller's.
import { afterEach, describe, expect, test } from "bun:test";
import { readSysctl, writeSysctl } from "../../src/netns/index.ts";
import { cleanUp, netns, type Ns, sh } from "./peer-helpers.ts";

if (process.getuid?.() !== 0 || process.env.CTRNET_TEST_PRIVATE !== "1") {
  throw new Error("run through `bun scripts/test.ts integration`: needs root inside a private network namespace");
}

afterEach(cleanUp);

const run = (cmd: string[]): string => {
  const r = sh(cmd);
  if (!r.ok) throw new Error(`${cmd.join(" ")} failed: ${r.out}`);
  return r.out;
};

interface Host {
  /** the "host" side: a netns of its own, so bridges and parents never touch the runner's */
  host: Ns;
  container: Ns & { path: string };
}

function withHost(fn: (h: Host) => void): void {
  const container = netns("c");
  fn({ host: netns("h"), container: { ...container, path: `/run/netns/${container.name}` } });
}

/** Whether this kernel can make such a link at all (CONFIG_IPVLAN, CONFIG_BRIDGE_VLAN_FILTERING), tried by iproute2 in a throwaway netns. */
function kernelCan(...ipLinkAdd: string[]): boolean {
  const script = `ip link add p0 type veth peer name p1 && ip link add ${ipLinkAdd.join(" ")}`;
  return Bun.spawnSync(["unshare", "--net", "sh", "-c", script], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}
const hasVlanFiltering = kernelCan("br0", "type", "bridge", "vlan_filtering", "1");
const hasIpvlan = kernelCan("link", "p0", "name", "iv0", "type", "ipvlan");

const linkDetails = (ns: string, dev: string): any => JSON.parse(run(["ip", "-n", ns, "-d", "-j", "link", "show", "dev", dev]))[0];

describe("bridge, veth and ports", () => {
  test("a bridge with an MTU, a veth made across namespaces, and hairpin on the bridge port", () => {
    withHost(({ host, container }) => {
      host.nl.linkAdd({ kind: "bridge", name: "br-t", mtu: 1400 });
      expect(host.nl.link("br-t")).toMatchObject({ kind: "bridge", mtu: 1400 });
      host.nl.linkAdd({ kind: "veth", name: "veth-t", mtu: 1400, peer: { name: "eth0", netnsFd: container.fd, mtu: 1400 } });
      expect(container.nl.link("eth0")).toMatchObject({ kind: "veth", mtu: 1400 });
      host.nl.linkSet("veth-t", { master: "br-t", up: true });
      host.nl.bridgePortSet("veth-t", { hairpin: true });
      const port = linkDetails(host.name, "veth-t").linkinfo;
      expect(port.info_slave_kind).toBe("bridge");
      expect(port.info_slave_data.hairpin).toBe(true);
      expect(host.nl.link("veth-t").hairpin).toBe(true);
      host.nl.bridgePortSet("veth-t", { hairpin: false, isolated: true });
      expect(host.nl.link("veth-t").hairpin).toBe(false);
      expect(linkDetails(host.name, "veth-t").linkinfo.info_slave_data.isolated).toBe(true);
    });
  });

  test("a veth made on its bridge and up in one message; its port flags and addr_gen_mode set by name in one more", () => {
    withHost(({ host, container }) => {
      host.nl.linkAdd({ kind: "bridge", name: "br-o", mtu: 1400 });
      const bridge = host.nl.link("br-o").index;
      host.nl.linkAdd({ kind: "veth", name: "veth-o", mtu: 1400, master: bridge, up: true, peer: { name: "eth0", netnsFd: container.fd, mtu: 1400 } });
      const made = linkDetails(host.name, "veth-o");
      expect(made.master).toBe("br-o");
      expect(made.flags).toContain("UP");
      expect(made.linkinfo.info_slave_data.hairpin).toBe(false);
      expect(container.nl.link("eth0")).toMatchObject({ kind: "veth", mtu: 1400, up: false });
      host.nl.linkSet("veth-o", { bridgePort: { hairpin: true }, ipv6AddrGenMode: "none" });
      const set = linkDetails(host.name, "veth-o");
      expect(set.linkinfo.info_slave_data.hairpin).toBe(true);
      expect(set.inet6_addr_gen_mode).toBe("none");
      expect(host.nl.link("veth-o")).toMatchObject({ hairpin: true, ipv6AddrGenMode: "none", master: bridge, up: true });
      host.nl.linkSet("veth-o", { bridgePort: { hairpin: false, isolated: true } });
      expect(linkDetails(host.name, "veth-o").linkinfo.info_slave_data).toMatchObject({ hairpin: false, isolated: true });
      // a link that is no bridge's port has no port flags to set
      host.nl.linkAdd({ kind: "veth", name: "veth-n", peer: { name: "eth1", netnsFd: container.fd } });
      expect(() => host.nl.linkSet("veth-n", { bridgePort: { hairpin: true } })).toThrow();
      expect(linkDetails(host.name, "veth-n").master).toBeUndefined();
    });
  });

  // This machine's kernel has no CONFIG_BRIDGE_VLAN_FILTERING (iproute2 gets EOPNOTSUPP too); the bytes
  // are checked against iproute2's in test/unit/netlink-bridge.test.ts.
  test.skipIf(!hasVlanFiltering)("a VLAN-filtering bridge and a port's PVID", () => {
    withHost(({ host, container }) => {
      host.nl.linkAdd({ kind: "bridge", name: "br-v", vlanFiltering: true });
      expect(linkDetails(host.name, "br-v").linkinfo.info_data.vlan_filtering).toBe(1);
      expect(host.nl.link("br-v").vlanFiltering).toBe(true);
      host.nl.linkAdd({ kind: "veth", name: "veth-v", peer: { name: "eth0", netnsFd: container.fd } });
      host.nl.linkSet("veth-v", { master: "br-v", up: true });
      host.nl.bridgeVlanAdd("veth-v", 42, { pvid: true, untagged: true });
      host.nl.bridgeVlanAdd("br-v", 42, { self: true });
      const vlans = (dev: string) =>
        (JSON.parse(run(["bridge", "-n", host.name, "-j", "vlan", "show", "dev", dev])) as any[])[0].vlans.map((v: any) => ({
          vlan: v.vlan,
          flags: (v.flags ?? []).sort(),
        }));
      expect(vlans("veth-v")).toContainEqual({ vlan: 42, flags: ["Egress Untagged", "PVID"] });
      expect(vlans("br-v")).toContainEqual({ vlan: 42, flags: [] });
      host.nl.bridgeVlanDelete("veth-v", 42);
      expect(vlans("veth-v").map((v: { vlan: number }) => v.vlan)).not.toContain(42);
    });
  });

  test("a macvlan link on a parent of the host, made directly inside the container's netns", () => {
    withHost(({ host, container }) => {
      host.nl.linkAdd({ kind: "veth", name: "parent0", peer: { name: "parent0p" } });
      const parent = host.nl.link("parent0").index;
      host.nl.linkAdd({ kind: "macvlan", name: "mv0", parent, mode: "bridge", mac: "02:00:00:aa:bb:01", netnsFd: container.fd });
      const mv = linkDetails(container.name, "mv0");
      expect(mv.linkinfo.info_kind).toBe("macvlan");
      expect(mv.linkinfo.info_data.mode).toBe("bridge");
      expect(mv.address).toBe("02:00:00:aa:bb:01");
      expect(() => linkDetails(host.name, "mv0")).toThrow();
      host.nl.linkAdd({ kind: "macvlan", name: "mv1", parent, mode: "private", netnsFd: container.fd });
      expect(linkDetails(container.name, "mv1").linkinfo.info_data.mode).toBe("private");
    });
  });

  // This machine's kernel has no CONFIG_IPVLAN; the bytes are checked against iproute2's in the unit test.
  test.skipIf(!hasIpvlan)("an ipvlan link made directly inside the container's netns shares its parent's MAC", () => {
    withHost(({ host, container }) => {
      host.nl.linkAdd({ kind: "veth", name: "parent0", peer: { name: "parent0p" } });
      const parent = host.nl.link("parent0").index;
      host.nl.linkAdd({ kind: "ipvlan", name: "ipv0", parent, mode: "l3", netnsFd: container.fd });
      const ipv = linkDetails(container.name, "ipv0");
      expect(ipv.linkinfo.info_kind).toBe("ipvlan");
      expect(ipv.linkinfo.info_data.mode).toBe("l3");
      expect(ipv.address).toBe(host.nl.link("parent0").mac);
    });
  });
});

describe("sysctl", () => {
  test("a parameter is written and read in another netns, by fd or path, and the caller's own is untouched", () => {
    withHost(({ host, container }) => {
      container.nl.linkAdd({ kind: "veth", name: "eth0", peer: { name: "eth0p" } });
      const own = readSysctl(["ipv4", "ip_forward"]);
      writeSysctl(["ipv4", "ip_forward"], own === "1" ? "0" : "1", host.fd);
      expect(run(["ip", "netns", "exec", host.name, "sysctl", "-n", "net.ipv4.ip_forward"]).trim()).toBe(own === "1" ? "0" : "1");
      expect(readSysctl(["ipv4", "ip_forward"])).toBe(own);

      writeSysctl(["ipv6", "conf", "eth0", "accept_dad"], "0", container.path);
      expect(run(["ip", "netns", "exec", container.name, "sysctl", "-n", "net.ipv6.conf.eth0.accept_dad"]).trim()).toBe("0");
      expect(readSysctl(["ipv6", "conf", "eth0", "accept_dad"], container.fd)).toBe("0");
      expect(() => readSysctl(["ipv4", "conf", "eth0", "route_localnet"], host.fd)).toThrow("ENOENT");
      expect(() => writeSysctl(["ipv4", "..", "..", "kernel"], "1")).toThrow("invalid sysctl key");
    });
  });
});
