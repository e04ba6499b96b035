// The native bridge driver's links against the kernel: two containers on a bridge reach each other and the
// gateway over IPv4 and IPv6 the moment the attach returns (no DAD wait), with the hairpin flag, default
// routes and sysctls in place; a failed attach leaves nothing; detach removes the pair. The "host" is a
// fresh netns of its own, so the sysctls written never touch the runner's.
import { afterEach, describe, expect, test } from "bun:test";
import { attachVeth, detachVeth, ensureBridge } from "../../src/drivers/bridge/plumbing.ts";
import { awaitLinkRemoved } from "../../src/netlink/index.ts";
import { readSysctl, writeSysctl } from "../../src/netns/index.ts";
import { privileged } from "./cni-helpers.ts";
import { cleanUp, dropNetns, netns, type Ns, sh } from "./peer-helpers.ts";

afterEach(cleanUp);

function withNamespaces(count: number, fn: (ns: Ns[]) => void): void {
  fn(Array.from({ length: count }, (_, i) => netns(`${i}`)));
}

const bridge = { name: "ctrnet-t", gateways: ["10.77.0.1/24", "fd77::1/64"], routeLocalnet: true };

describe.skipIf(!privileged)("bridge plumbing", () => {
  test("two containers reach each other and the gateway over v4 and v6 at once; detach removes each pair", () => {
    withNamespaces(3, ([host, c1, c2]) => {
      ensureBridge(host!.nl, bridge, host!.fd);
      ensureBridge(host!.nl, bridge, host!.fd);
      const v1 = attachVeth(host!.nl, c1!.nl, bridge, {
        netnsFd: c1!.fd, ifname: "eth0", mac: "02:00:00:77:00:02",
        addresses: ["10.77.0.2/24", "fd77::2/64"], gateways: ["10.77.0.1", "fd77::1"],
      });
      const v2 = attachVeth(host!.nl, c2!.nl, bridge, {
        netnsFd: c2!.fd, ifname: "eth0", addresses: ["10.77.0.3/24", "fd77::3/64"], gateways: ["10.77.0.1", "fd77::1"],
      });
      expect(v1).toMatchObject({ ifname: "eth0", mac: "02:00:00:77:00:02" });
      expect(v2.hostName).toMatch(/^veth[0-9a-f]{8}$/);

      const gatewayAddrs = host!.nl.addresses({ link: bridge.name }).map((a) => `${a.address}/${a.prefixLength}`);
      expect(gatewayAddrs).toEqual(expect.arrayContaining(bridge.gateways));
      expect(host!.nl.link(v1.hostName)).toMatchObject({ master: host!.nl.link(bridge.name).index, hairpin: true, up: true });
      expect(readSysctl(["ipv4", "ip_forward"], host!.fd)).toBe("1");
      expect(readSysctl(["ipv6", "conf", "all", "forwarding"], host!.fd)).toBe("1");
      expect(readSysctl(["ipv4", "conf", bridge.name, "route_localnet"], host!.fd)).toBe("1");
      // made without multicast snooping (no per-port query timers to restart at every port change)
      const details = JSON.parse(sh(["ip", "-n", host!.name, "-d", "-j", "link", "show", bridge.name]).out)[0];
      expect(details.linkinfo.info_data.mcast_snooping).toBe(0);
      expect(readSysctl(["ipv6", "conf", "eth0", "accept_dad"], c1!.fd)).toBe("0");
      expect(readSysctl(["ipv4", "conf", "eth0", "arp_notify"], c1!.fd)).toBe("1");
      // loose reverse-path filtering, as netavark sets it
      expect(readSysctl(["ipv4", "conf", "eth0", "rp_filter"], c1!.fd)).toBe("2");
      // the host end, a bridge port, gets no IPv6 link-local address (nor the routes the kernel walks on every link change)
      expect(host!.nl.link(v1.hostName).ipv6AddrGenMode).toBe("none");
      expect(host!.nl.addresses({ link: v1.hostName, family: 6 })).toEqual([]);
      // what someone turned off, the next attach's ensureBridge turns on again
      writeSysctl(["ipv4", "ip_forward"], "0", host!.fd);
      writeSysctl(["ipv4", "conf", bridge.name, "route_localnet"], "0", host!.fd);
      writeSysctl(["ipv6", "conf", "all", "forwarding"], "0", host!.fd);
      ensureBridge(host!.nl, bridge, host!.fd);
      expect(readSysctl(["ipv4", "ip_forward"], host!.fd)).toBe("1");
      expect(readSysctl(["ipv4", "conf", bridge.name, "route_localnet"], host!.fd)).toBe("1");
      expect(readSysctl(["ipv6", "conf", "all", "forwarding"], host!.fd)).toBe("1");
      const defaults = c1!.nl.routes({ family: 6 }).filter((r) => r.dst === "default").concat(c1!.nl.routes({ family: 4 }).filter((r) => r.dst === "default"));
      expect(defaults.map((r) => r.gateway).sort()).toEqual(["10.77.0.1", "fd77::1"]);
      // no address is tentative: IPv6 works without waiting for DAD
      expect(sh(["ip", "-n", c1!.name, "-6", "addr", "show", "tentative"]).out.trim()).toBe("");

      for (const [from, to] of [[c1!, "10.77.0.3"], [c2!, "10.77.0.2"], [c1!, "10.77.0.1"], [c1!, "fd77::3"], [c2!, "fd77::1"]] as const) {
        const ping = sh(["ip", "netns", "exec", from.name, "busybox", "ping", "-c", "3", "-w", "6", "-A", to]);
        expect({ to, ok: ping.ok }).toEqual({ to, ok: true });
      }

      detachVeth(host!.nl, v1.hostName);
      detachVeth(host!.nl, v1.hostName);
      expect(host!.nl.links().map((l) => l.name)).not.toContain(v1.hostName);
      expect(c1!.nl.links().map((l) => l.name)).toEqual(["lo"]);
      detachVeth(host!.nl, v2.hostName);
      host!.nl.linkDelete(bridge.name);
      expect(host!.nl.links().map((l) => l.name)).toEqual(["lo"]);
    });
  });

  test("an IPv4-only interface gets no IPv6 link-local address (nothing for the bridge to flood); one without addresses keeps it; an MTU below IPv6's minimum still attaches", () => {
    withNamespaces(4, ([host, v4, bare, small]) => {
      const v4bridge = { name: "ctrnet-t", gateways: ["10.77.0.1/24"], routeLocalnet: true };
      ensureBridge(host!.nl, v4bridge, host!.fd);
      attachVeth(host!.nl, v4!.nl, v4bridge, { netnsFd: v4!.fd, ifname: "eth0", addresses: ["10.77.0.2/24"], gateways: ["10.77.0.1"] });
      attachVeth(host!.nl, bare!.nl, v4bridge, { netnsFd: bare!.fd, ifname: "eth0", addresses: [], gateways: [] });
      attachVeth(host!.nl, small!.nl, v4bridge, { netnsFd: small!.fd, ifname: "eth0", mtu: 1200, addresses: ["10.77.0.4/24"], gateways: ["10.77.0.1"] });
      expect(v4!.nl.link("eth0").ipv6AddrGenMode).toBe("none");
      expect(v4!.nl.addresses({ link: "eth0", family: 6 })).toEqual([]);
      expect(readSysctl(["ipv4", "conf", "eth0", "arp_notify"], v4!.fd)).toBe("1");
      expect(readSysctl(["ipv4", "conf", "eth0", "rp_filter"], v4!.fd)).toBe("2");
      // podman's --ipam-driver=none: the link-local address is the interface's only one
      expect(bare!.nl.link("eth0").ipv6AddrGenMode).not.toBe("none");
      expect(bare!.nl.addresses({ link: "eth0", family: 6 }).map((a) => a.address)).toEqual([expect.stringMatching(/^fe80:/)]);
      // no IPv6 on a link under 1280 bytes: the IPv4 settings alone
      expect(small!.nl.link("eth0")).toMatchObject({ mtu: 1200, up: true });
      expect(readSysctl(["ipv4", "conf", "eth0", "arp_notify"], small!.fd)).toBe("1");
      const ping = sh(["ip", "netns", "exec", v4!.name, "busybox", "ping", "-c", "2", "-w", "6", "-A", "10.77.0.4"]);
      expect(ping.ok).toBe(true);
      host!.nl.linkDelete(v4bridge.name);
    });
  });

  test("a detach whose container netns went waits for the kernel to remove the pair with it; a pair whose netns is still held is removed once the wait is over", () => {
    withNamespaces(3, ([host, going, held]) => {
      ensureBridge(host!.nl, bridge, host!.fd);
      const attach = (c: Ns, ip: string) => attachVeth(host!.nl, c.nl, bridge, { netnsFd: c.fd, ifname: "eth0", addresses: [ip], gateways: ["10.77.0.1"] });
      const options = { netns: host!.fd };
      const v1 = attach(going!, "10.77.0.2/24");
      const v2 = attach(held!, "10.77.0.3/24");
      // the last reference to the netns goes: the kernel removes the pair on its own, and the wait ends when
      // it does (a wait that missed it would run into the test's 5 s timeout, long before its own 60 s)
      dropNetns(going!);
      detachVeth(host!.nl, v1.hostName, { waitMs: 60_000, options });
      expect(host!.nl.links().map((l) => l.name)).not.toContain(v1.hostName);
      // gone before the wait started: no wait at all
      expect(awaitLinkRemoved(host!.nl, v1.hostName, 60_000, options)).toBe(true);
      // a netns that lives on (still mounted) keeps its pair: the wait runs out, and the pair is removed here
      expect(awaitLinkRemoved(host!.nl, v2.hostName, 50, options)).toBe(false);
      expect(host!.nl.links().map((l) => l.name)).toContain(v2.hostName);
      detachVeth(host!.nl, v2.hostName, { waitMs: 50, options });
      expect(host!.nl.links().map((l) => l.name).sort()).toEqual([bridge.name, "lo"]);
      expect(held!.nl.links().map((l) => l.name)).toEqual(["lo"]);
    });
  });

  test("an attach that fails half-way (a gateway off the subnet) leaves no link on either side", () => {
    withNamespaces(2, ([host, c1]) => {
      ensureBridge(host!.nl, bridge, host!.fd);
      expect(() =>
        attachVeth(host!.nl, c1!.nl, bridge, { netnsFd: c1!.fd, ifname: "eth0", hostName: "vethfail", addresses: ["10.77.0.9/24"], gateways: ["192.0.2.1"] }),
      ).toThrow("add route default via 192.0.2.1");
      expect(host!.nl.links().map((l) => l.name).sort()).toEqual(["ctrnet-t", "lo"]);
      expect(c1!.nl.links().map((l) => l.name)).toEqual(["lo"]);
      // the name is free again: a retry with a right gateway works
      const v = attachVeth(host!.nl, c1!.nl, bridge, { netnsFd: c1!.fd, ifname: "eth0", hostName: "vethfail", addresses: ["10.77.0.9/24"], gateways: ["10.77.0.1"] });
      detachVeth(host!.nl, v.hostName);
    });
  });
});
