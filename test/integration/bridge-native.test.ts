// A native bridge attachment from start to end against the kernel and a host-local table on disk: addresses
// from the table, the veth on the bridge, the published port answering with the outside client's address,
// a failed attach leaving no lease, link or element, and a detach that can run twice. A "host" netns holds
// the bridge and the table, an "outside" one is the client, so nothing touches the runner's namespace.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attach, type AttachRequest, detach, hostInterfaceName, type NativeNetwork } from "../../src/drivers/bridge/attach.ts";
import { Firewall } from "../../src/drivers/firewall/index.ts";
import { readSysctl, writeSysctl } from "../../src/netns/index.ts";
import { privileged } from "./cni-helpers.ts";
import { ask as askPeer, cleanUp, netns, type Ns, peerEcho as echo, scratchDir, sh } from "./peer-helpers.ts";

const peerEcho = (ns: Ns, port: number) => echo(ns, "tcp", port);
const ask = (from: Ns, host: string, port: number) => askPeer(from, "tcp", host, port);

afterEach(cleanUp);

const network: NativeNetwork = {
  name: "native1",
  plugin: {
    type: "ctrnet",
    bridge: "ctrnet-n",
    ipMasq: true,
    isGateway: true,
    ipam: { type: "host-local", ranges: [[{ subnet: "10.66.0.0/24", gateway: "10.66.0.1" }], [{ subnet: "fd66::/64" }]] },
  },
};

function setup() {
  const host = netns("h");
  const outside = netns("o");
  host.nl.linkAdd({ kind: "veth", name: "up0", peer: { name: "eth0", netnsFd: outside.fd } });
  host.nl.addressAdd("up0", "198.51.100.1/24");
  host.nl.linkSet("up0", { up: true });
  outside.nl.addressAdd("eth0", "198.51.100.2/24");
  outside.nl.linkSet("eth0", { up: true });
  outside.nl.routeAdd({ dst: "default", gateway: "198.51.100.1" });
  const dataDir = scratchDir(mkdtempSync(join(tmpdir(), "ctrnet-native-ipam-")));
  let rebuilds = 0;
  const request = (c: Ns, containerId: string, extra: Partial<AttachRequest> = {}): AttachRequest => ({
    network,
    containerId,
    ifname: "eth0",
    netnsFd: c.fd,
    hostNetnsFd: host.fd,
    dataDir,
    firewallState: () => {
      rebuilds++;
      return { networks: [], ports: [] };
    },
    ...extra,
  });
  const leases = () =>
    readdirSync(join(dataDir, network.name))
      .filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip") && f !== ".ctrnet-owners" && !f.startsWith(".ctrnet-highest."))
      .sort();
  return { host, outside, dataDir, request, leases, rebuilds: () => rebuilds };
}

describe.skipIf(!privileged)("native bridge attachments", () => {
  test("attach gives addresses from the host-local table, the port serves the outside client as itself, detach runs twice", async () => {
    const w = setup();
    const c1 = netns("c1");
    const r1 = attach(w.request(c1, "c1", { ports: [{ protocol: "tcp", hostPort: 8080, containerPort: 80 }], mac: "02:00:00:66:00:02" }));
    expect(r1).toMatchObject({
      ifname: "eth0",
      mac: "02:00:00:66:00:02",
      hostInterface: hostInterfaceName("c1", "eth0"),
      addresses: [
        { address: "10.66.0.2/24", gateway: "10.66.0.1" },
        { address: "fd66::2/64", gateway: "fd66::1" },
      ],
      gateways: ["10.66.0.1", "fd66::1"],
    });
    expect(r1.ports.map((p) => p.containerIP)).toEqual(["10.66.0.2", "fd66::2"]);
    expect(w.rebuilds()).toBe(1);
    expect(w.leases()).toEqual(["10.66.0.2", "fd66::2"]);
    await peerEcho(c1, 80);
    expect(ask(w.outside, "198.51.100.1", 8080)).toBe("198.51.100.2");
    expect(ask(w.host, "127.0.0.1", 8080)).toBe("10.66.0.1");

    const c2 = netns("c2");
    const r2 = attach(w.request(c2, "c2", { ips: ["10.66.0.50"] }));
    expect(r2.addresses[0]!.address).toBe("10.66.0.50/24");
    expect(w.rebuilds()).toBe(1);
    await peerEcho(c2, 80);
    expect(ask(c1, "10.66.0.50", 80)).toBe("10.66.0.2");

    expect(detach({ ...w.request(c1, "c1"), ports: r1.ports })).toEqual([]);
    expect(detach({ ...w.request(c1, "c1"), ports: r1.ports })).toEqual([]);
    expect(w.leases()).toEqual(["10.66.0.50", "fd66::3"]);
    expect(w.host.nl.links().map((l) => l.name)).not.toContain(r1.hostInterface);
    expect(c1.nl.links().map((l) => l.name)).toEqual(["lo"]);
    expect(ask(w.outside, "198.51.100.1", 8080)).toBeNull();
    expect(detach({ ...w.request(c2, "c2"), ports: r2.ports })).toEqual([]);
    expect(w.leases()).toEqual([]);
  }, 60_000);

  test("a gratuitous ARP only for an address handed out before: a neighbour learns the new MAC of a reused address at once", async () => {
    const w = setup();
    const arpNotify = (c: Ns) => readSysctl(["ipv4", "conf", "eth0", "arp_notify"], c.fd);
    const c1 = netns("c1");
    const peer = netns("p");
    const r1 = attach(w.request(c1, "c1"));
    const rp = attach(w.request(peer, "p"));
    // addresses new to the network: nobody can hold a wrong entry, nothing is announced (flooded)
    expect([r1.addresses[0]!.address, rp.addresses[0]!.address]).toEqual(["10.66.0.2/24", "10.66.0.3/24"]);
    expect([arpNotify(c1), arpNotify(peer)]).toEqual(["0", "0"]);
    // the peer learns c1's MAC by asking (locktime 0: it takes a later ARP at once, not only a second after this)
    writeSysctl(["ipv4", "neigh", "eth0", "locktime"], "0", peer.fd);
    expect(sh(["ip", "netns", "exec", peer.name, "busybox", "ping", "-c", "1", "-w", "5", "10.66.0.2"]).ok).toBe(true);
    const neighbour = (): string | undefined => JSON.parse(sh(["ip", "-n", peer.name, "-j", "neigh", "show", "10.66.0.2", "dev", "eth0"]).out)[0]?.lladdr;
    expect(neighbour()).toBe(r1.mac);
    expect(detach({ ...w.request(c1, "c1"), ports: [] })).toEqual([]);
    // the address again, for another interface: announced as it comes up, so the peer's entry names the
    // new MAC without the peer asking (it would send to the old one until its entry went stale)
    const c2 = netns("c2");
    const r2 = attach(w.request(c2, "c2", { ips: ["10.66.0.2"] }));
    expect(r2.mac).not.toBe(r1.mac);
    expect(arpNotify(c2)).toBe("1");
    for (const end = Date.now() + 3000; neighbour() !== r2.mac && Date.now() < end; ) await Bun.sleep(20);
    expect(neighbour()).toBe(r2.mac);
    // the next new address is again not announced; the walk goes on after the highest ever handed out
    const c3 = netns("c3");
    const r3 = attach(w.request(c3, "c3"));
    expect(r3.addresses[0]!.address).toBe("10.66.0.4/24");
    expect(arpNotify(c3)).toBe("0");
    expect(sh(["ip", "netns", "exec", peer.name, "busybox", "ping", "-c", "1", "-w", "5", "10.66.0.4"]).ok).toBe(true);
    for (const [c, id] of [[c2, "c2"], [c3, "c3"], [peer, "p"]] as const) expect(detach({ ...w.request(c, id), ports: [] })).toEqual([]);
    expect(w.leases()).toEqual([]);
  }, 60_000);

  test("an attach that fails on a port already published leaves no lease, link or element", () => {
    const w = setup();
    const c1 = netns("c1");
    const ports = [{ protocol: "tcp" as const, hostPort: 8080, containerPort: 80 }];
    const r1 = attach(w.request(c1, "c1", { ports }));
    const c2 = netns("c2");
    expect(() => attach(w.request(c2, "c2", { ports }))).toThrow("host port 8080/tcp is already published by another container");
    expect(w.leases()).toEqual(["10.66.0.2", "fd66::2"]);
    expect(w.host.nl.links().map((l) => l.name)).not.toContain(hostInterfaceName("c2", "eth0"));
    expect(c2.nl.links().map((l) => l.name)).toEqual(["lo"]);
    expect(detach({ ...w.request(c1, "c1"), ports: r1.ports })).toEqual([]);
  });

  test("a table flushed from outside is rebuilt from the caller's records at the next attach", async () => {
    const w = setup();
    const c1 = netns("c1");
    const r1 = attach(w.request(c1, "c1", { ports: [{ protocol: "tcp", hostPort: 8080, containerPort: 80 }] }));
    await peerEcho(c1, 80);
    expect(sh(["ip", "netns", "exec", w.host.name, "nft", "flush", "ruleset"]).ok).toBe(true);
    expect(ask(w.outside, "198.51.100.1", 8080)).toBeNull();
    const c2 = netns("c2");
    const fwNetwork = { bridge: "ctrnet-n", subnets: ["10.66.0.0/24", "fd66::/64"] };
    const r2 = attach({ ...w.request(c2, "c2"), firewallState: () => ({ networks: [fwNetwork], ports: r1.ports }) });
    expect(ask(w.outside, "198.51.100.1", 8080)).toBe("198.51.100.2");
    for (const [c, id, r] of [[c1, "c1", r1], [c2, "c2", r2]] as const) expect(detach({ ...w.request(c, id), ports: r.ports })).toEqual([]);
    const fw = Firewall.open({ netns: w.host.fd });
    expect(fw.present()).toBe(true);
    fw.close();
  }, 60_000);
});
