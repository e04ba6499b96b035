// ctrnet's nftables table against the kernel, with real traffic: a "host" netns holding the bridge and the
// table, containers behind it (made by the bridge driver's links), and an "outside" netns on a veth, so
// nothing touches the runner's own namespace. A socat server in the container answers with the peer address
// it saw, which shows where DNAT kept the client's address and where masquerade replaced it.
import { afterEach, describe, expect, test } from "bun:test";
import { attachVeth, type BridgeConfig, ensureBridge } from "../../src/drivers/bridge/plumbing.ts";
import { Firewall, type FirewallNetwork, type PublishedPort } from "../../src/drivers/firewall/index.ts";
import { privileged } from "./cni-helpers.ts";
import { ask, cleanUp, netns, type Ns, peerEcho, sh } from "./peer-helpers.ts";

afterEach(cleanUp);

interface World {
  host: Ns;
  outside: Ns;
  fw: Firewall;
  bridge: BridgeConfig;
  network: FirewallNetwork;
  container(address4: string, address6?: string): Ns;
}

/** host <-> outside on 198.51.100.0/24 and 2001:db8::/64; a bridge network 10.77.0.0/24 + fd77::/64 in host. */
function world(opts: { bridge?: string; subnet?: number; isolate?: "true" | "strict"; internal?: boolean } = {}, base?: World): World {
  const host = base?.host ?? netns("h");
  const outside = base?.outside ?? netns("o");
  if (!base) {
    host.nl.linkAdd({ kind: "veth", name: "up0", peer: { name: "eth0", netnsFd: outside.fd } });
    host.nl.addressAdd("up0", "198.51.100.1/24");
    host.nl.addressAdd("up0", "2001:db8::1/64", { noDad: true });
    host.nl.linkSet("up0", { up: true });
    outside.nl.addressAdd("eth0", "198.51.100.2/24");
    outside.nl.addressAdd("eth0", "2001:db8::2/64", { noDad: true });
    outside.nl.linkSet("eth0", { up: true });
    outside.nl.routeAdd({ dst: "default", gateway: "198.51.100.1" });
    outside.nl.routeAdd({ dst: "default", gateway: "2001:db8::1" });
  }
  const n = opts.subnet ?? 77;
  const bridge: BridgeConfig = { name: opts.bridge ?? "ctrnet-t", gateways: [`10.${n}.0.1/24`, `fd${n}::1/64`], routeLocalnet: true };
  ensureBridge(host.nl, bridge, host.fd);
  const network: FirewallNetwork = { bridge: bridge.name, subnets: [`10.${n}.0.0/24`, `fd${n}::/64`], isolate: opts.isolate, internal: opts.internal };
  const fw = base?.fw ?? Firewall.open({ netns: host.fd });
  if (!base) {
    fw.rebuild([], []);
    opened.push(fw);
  }
  fw.ensureNetwork(network);
  const container = (address4: string, address6?: string): Ns => {
    const c = netns("c");
    const addresses = [`${address4}/24`, ...(address6 ? [`${address6}/64`] : [])];
    attachVeth(host.nl, c.nl, bridge, { netnsFd: c.fd, ifname: "eth0", addresses, gateways: [`10.${n}.0.1`, ...(address6 ? [`fd${n}::1`] : [])] });
    return c;
  };
  return { host, outside, fw, bridge, network, container };
}

const opened: Firewall[] = [];
afterEach(() => {
  for (const fw of opened.splice(0)) fw.close();
});

const tcp = (hostPort: number, containerIP: string, containerPort = 80, hostIP?: string): PublishedPort => ({
  protocol: "tcp",
  hostPort,
  containerIP,
  containerPort,
  ...(hostIP ? { hostIP } : {}),
});

function ruleCount(ns: Ns): number {
  const listing = JSON.parse(sh(["ip", "netns", "exec", ns.name, "nft", "-j", "list", "table", "inet", "ctrnet"]).out).nftables as any[];
  return listing.filter((o) => o.rule).length;
}

describe.skipIf(!privileged)("ctrnet's nftables firewall", () => {
  test("a published port keeps the outside client's address; localhost and hairpin clients are masqueraded; outbound traffic is masqueraded", async () => {
    const w = world();
    const c1 = w.container("10.77.0.2", "fd77::2");
    await peerEcho(c1, "tcp", 80);
    await peerEcho(c1, "udp", 53);
    w.fw.publish([tcp(8080, "10.77.0.2"), tcp(8080, "fd77::2"), { protocol: "udp", hostPort: 5353, containerIP: "10.77.0.2", containerPort: 53 }]);

    expect(ask(w.outside, "tcp", "198.51.100.1", 8080)).toBe("198.51.100.2");
    expect(ask(w.outside, "tcp", "2001:db8::1", 8080)).toBe("2001:db8::2");
    expect(ask(w.outside, "udp", "198.51.100.1", 5353)).toBe("198.51.100.2");
    expect(ask(w.host, "tcp", "127.0.0.1", 8080)).toBe("10.77.0.1");
    expect(ask(c1, "tcp", "198.51.100.1", 8080)).toBe("10.77.0.1");

    await peerEcho(w.outside, "tcp", 9000);
    expect(ask(c1, "tcp", "198.51.100.2", 9000)).toBe("198.51.100.1");

    w.fw.unpublish([tcp(8080, "10.77.0.2")]);
    w.fw.unpublish([tcp(8080, "10.77.0.2")]);
    expect(ask(w.outside, "tcp", "198.51.100.1", 8080)).toBeNull();
    expect(ask(w.outside, "tcp", "2001:db8::1", 8080)).toBe("2001:db8::2");
  }, 60_000);

  test("a port published on one host address answers there only, and wins over one published on every address", async () => {
    const w = world();
    const c1 = w.container("10.77.0.2");
    const c2 = w.container("10.77.0.3");
    await peerEcho(c1, "tcp", 80);
    await peerEcho(c2, "tcp", 80);
    w.fw.publish([tcp(8082, "10.77.0.2", 80, "127.0.0.1"), tcp(8083, "10.77.0.2"), tcp(8083, "10.77.0.3", 80, "198.51.100.1")]);
    expect(ask(w.host, "tcp", "127.0.0.1", 8082)).toBe("10.77.0.1");
    expect(ask(w.outside, "tcp", "198.51.100.1", 8082)).toBeNull();
    // 8083 on 198.51.100.1 goes to c2, on every other address (loopback) to c1: c2's server sees the outside client
    expect(ask(w.outside, "tcp", "198.51.100.1", 8083)).toBe("198.51.100.2");
    expect(sh(["ip", "netns", "exec", w.host.name, "nft", "list", "map", "inet", "ctrnet", "hostports4"]).out).toContain(
      "198.51.100.1 . tcp . 8083 : 10.77.0.3 . 80",
    );
  }, 60_000);

  test("a host port published twice is refused with the port named, and the batch adds nothing", () => {
    const w = world();
    w.fw.publish([tcp(8080, "10.77.0.2")]);
    expect(() => w.fw.publish([tcp(8081, "10.77.0.3"), tcp(8080, "10.77.0.3")])).toThrow("host port 8080/tcp is already published by another container");
    expect(sh(["ip", "netns", "exec", w.host.name, "nft", "list", "map", "inet", "ctrnet", "ports4"]).out).not.toContain("8081");
  });

  test("the rule count stays flat as ports and networks grow; 1000 ports are one batch", () => {
    const w = world();
    const before = ruleCount(w.host);
    const ports = Array.from({ length: 1000 }, (_, i) => tcp(20000 + i, "10.77.0.2", 1000 + i));
    w.fw.publish(ports);
    world({ bridge: "ctrnet-u", subnet: 78, isolate: "true" }, w);
    expect(ruleCount(w.host)).toBe(before);
    const map = JSON.parse(sh(["ip", "netns", "exec", w.host.name, "nft", "-j", "list", "map", "inet", "ctrnet", "ports4"]).out).nftables;
    expect(map.find((o: any) => o.map).map.elem).toHaveLength(1000);
    w.fw.unpublish(ports);
    expect(JSON.parse(sh(["ip", "netns", "exec", w.host.name, "nft", "-j", "list", "map", "inet", "ctrnet", "ports4"]).out).nftables.find((o: any) => o.map).map.elem).toBeUndefined();
  });

  test("after nft flush ruleset the table is missing, and a rebuild from the records brings the port back", async () => {
    const w = world();
    const c1 = w.container("10.77.0.2");
    await peerEcho(c1, "tcp", 80);
    w.fw.publish([tcp(8080, "10.77.0.2")]);
    expect(sh(["ip", "netns", "exec", w.host.name, "nft", "flush", "ruleset"]).ok).toBe(true);
    expect(w.fw.present()).toBe(false);
    expect(ask(w.outside, "tcp", "198.51.100.1", 8080)).toBeNull();
    w.fw.rebuild([w.network], [tcp(8080, "10.77.0.2")]);
    expect(w.fw.present()).toBe(true);
    expect(ask(w.outside, "tcp", "198.51.100.1", 8080)).toBe("198.51.100.2");
    // a second rebuild replaces the table in place
    w.fw.rebuild([w.network], [tcp(8080, "10.77.0.2")]);
    expect(ask(w.outside, "tcp", "198.51.100.1", 8080)).toBe("198.51.100.2");
  }, 60_000);

  test("isolated networks do not reach each other, an internal one reaches nothing outside, others do", async () => {
    const w = world({ isolate: "true" });
    const c1 = w.container("10.77.0.2");
    const w2 = world({ bridge: "ctrnet-u", subnet: 78, isolate: "true" }, w);
    const c2 = w2.container("10.78.0.2");
    const w3 = world({ bridge: "ctrnet-v", subnet: 79 }, w);
    const c3 = w3.container("10.79.0.2");
    const w4 = world({ bridge: "ctrnet-w", subnet: 80, internal: true }, w);
    const c4 = w4.container("10.80.0.2");
    for (const c of [c1, c2, c3, c4]) await peerEcho(c, "tcp", 80);
    await peerEcho(w.outside, "tcp", 9000);

    expect(ask(c1, "tcp", "10.78.0.2", 80)).toBeNull();
    expect(ask(c2, "tcp", "10.77.0.2", 80)).toBeNull();
    // not masqueraded between ctrnet networks: the other container sees the real source
    expect(ask(c1, "tcp", "10.79.0.2", 80)).toBe("10.77.0.2");
    expect(ask(c3, "tcp", "10.77.0.2", 80)).toBe("10.79.0.2");
    expect(ask(c4, "tcp", "198.51.100.2", 9000)).toBeNull();
    expect(ask(c3, "tcp", "10.80.0.2", 80)).toBeNull();
    expect(ask(c3, "tcp", "198.51.100.2", 9000)).toBe("198.51.100.1");

    w.fw.removeNetwork(w2.network);
    w.fw.removeNetwork(w2.network);
    // no longer isolated, and no longer a ctrnet subnet: reached, through masquerade
    expect(ask(c1, "tcp", "10.78.0.2", 80)).toBe("10.78.0.1");
  }, 60_000);
});
