// inspect's conversion from records and their networks' statuses (made from CNI results), against golden JSON.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inspectResult, statusToBasicNetworkConfig } from "../../src/lifecycle/inspect-format.ts";
import { inspectView } from "../../src/cli/views.ts";
import { renderInspect } from "../../src/cli/template/index.ts";
import { statusFromCniResult } from "../../src/schema/network-status.ts";
import { connectNetwork, newContainerRecord } from "../../src/container/attachments.ts";
import type { ContainerRecord } from "../../src/state/index.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/lifecycle");
const golden = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"));

const dualStack = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "ctrnet0", mac: "aa:bb:cc:00:00:01" },
    { name: "veth1", mac: "aa:bb:cc:00:00:02" },
    { name: "eth0", mac: "02:42:0a:58:00:05", sandbox: "/run/netns/cni-x" },
  ],
  ips: [
    { address: "10.88.0.5/16", gateway: "10.88.0.1", interface: 2 },
    { address: "fd00::5/64", gateway: "fd00::1", interface: 2 },
    { address: "10.88.0.6/16", interface: 2 },
    { address: "fd00::6/64", interface: 2 },
  ],
  routes: [],
  dns: {},
};

function record(): ContainerRecord {
  let rec = newContainerRecord({
    id: "0123456789abcdef0123",
    name: "web",
    mode: { kind: "bridge" },
    netns: { path: "/run/netns/cni-x", owned: true },
    networks: [{ network: "zeta", aliases: ["www"] }],
    ports: [{ hostIP: "", hostPort: 8080, containerPort: 80, protocol: "tcp", range: 2 }],
  });
  rec = connectNetwork(rec, "alpha");
  rec.networks[0]!.status = statusFromCniResult(dualStack, "eth0");
  rec.networks[1]!.status = statusFromCniResult({ ...dualStack, ips: [{ address: "10.89.0.2/24", gateway: "10.89.0.1", interface: 2 }] }, "eth1");
  rec.createdAt = Date.UTC(2024, 0, 2, 3, 4, 5);
  rec.state = "ready";
  return rec;
}

describe("inspect", () => {
  test("a joined netns with two interfaces, as podman's e2e checkNetworkNsInspect: secondary addresses as {Addr, PrefixLength}, the other interface's MAC additional", () => {
    const config = statusToBasicNetworkConfig({
      interfaces: [
        { name: "eth1", mac: "56:6e:35:5d:3e:a8", addresses: [{ address: "10.88.0.0/16" }] },
        { name: "eth0", mac: "46:7f:45:6e:4f:c8", addresses: [{ address: "10.25.40.0/24", gateway: "10.25.40.0" }, { address: "fd04:3e42:4a4e:3381::/64" }] },
      ],
      routes: [],
      dns: { nameservers: [], search: [], options: [] },
    });
    expect(config).toMatchObject({ IPAddress: "10.25.40.0", IPPrefixLen: 24, Gateway: "10.25.40.0", GlobalIPv6Address: "fd04:3e42:4a4e:3381::", GlobalIPv6PrefixLen: 64, MacAddress: "46:7f:45:6e:4f:c8" });
    expect(config.SecondaryIPAddresses).toEqual([{ Addr: "10.88.0.0", PrefixLength: 16 }]);
    expect(config.SecondaryIPv6Addresses).toBeUndefined();
    expect(config.AdditionalMACAddresses).toEqual(["56:6e:35:5d:3e:a8"]);
  });

  test("statusToBasicNetworkConfig puts IPv6 in GlobalIPv6Address even after IPv4, and no <nil> gateways", () => {
    const config = statusToBasicNetworkConfig(statusFromCniResult(dualStack, "eth0"));
    expect(config.GlobalIPv6Address).toBe("fd00::5");
    expect(config.IPv6Gateway).toBe("fd00::1");
    expect(config.SecondaryIPAddresses).toEqual([{ Addr: "10.88.0.6", PrefixLength: 16 }]);
    expect(config.SecondaryIPv6Addresses).toEqual([{ Addr: "fd00::6", PrefixLength: 64 }]);
    // one interface: no additional MAC (podman's, per interface, not per address)
    expect(config.AdditionalMACAddresses).toBeUndefined();
    expect(statusToBasicNetworkConfig(statusFromCniResult({ ...dualStack, ips: [{ address: "10.0.0.2/24" }] }, "eth0")).Gateway).toBe("");
  });

  test("a ready container whose helper is gone is degraded, naming it; its helpers and their restarts are listed", () => {
    const rec = record();
    const helpers = { slirp4netns: { Pid: 40, Running: true, Restarts: 1, LastRestart: "2024-01-02T03:04:06.000Z" }, portForwarder: { Pid: 41, Running: false, Restarts: 0 } };
    const degraded = inspectResult(rec, rec, {}, { helpers, degraded: "its port forwarder (pid 41) is gone" });
    expect(degraded.State).toBe("degraded");
    expect(degraded.Degraded).toBe("its port forwarder (pid 41) is gone");
    expect(degraded.Helpers).toEqual(helpers);
    // a record another command is working on keeps its own state
    expect(inspectResult({ ...rec, state: "removing" }, rec, {}, { helpers, degraded: "its port forwarder (pid 41) is gone" }).State).toBe("removing");
    // no helpers, nothing added: podman's shape
    expect(Object.keys(inspectResult(rec, rec, {}, { helpers: {} }))).toEqual(Object.keys(golden("inspect-bridge.json")));
  });

  test("--format sees podman's State fields: Status, Running, Pid (the process it took its netns from, else 0), and the ones never set; JSON keeps ctrnet's word and the pid", () => {
    const rec = record();
    const fields = "{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.Paused}} {{.State.Restarting}} {{.State.OOMKilled}} {{.State.Dead}} {{.State.ExitCode}} [{{.State.Error}}]";
    expect(renderInspect(fields, [inspectView(inspectResult(rec, rec))])).toBe("running true 0 false false false false 0 []\n");
    const adopted = inspectResult(rec, rec, {}, undefined, "", 4242);
    expect(adopted.Pid).toBe(4242);
    expect(renderInspect("{{.State.Pid}} {{json .State}}", [inspectView(adopted)])).toBe('4242 "ready"\n');
    expect(renderInspect("{{.State.Status}} {{.State.Pid}}", [inspectView(inspectResult({ ...rec, state: "creating" }, rec))])).toBe("created 0\n");
  });

  test("a bridge container's NetworkSettings match the golden JSON", () => {
    const rec = record();
    expect(inspectResult(rec, rec)).toEqual(golden("inspect-bridge.json"));
  });

  test("a container:ID container shows the owner's settings", () => {
    const owner = record();
    const sharer: ContainerRecord = { ...newContainerRecord({ id: "sharer", mode: { kind: "container", id: owner.id } }), createdAt: owner.createdAt };
    const result = inspectResult(sharer, owner);
    expect(result.NetworkMode).toBe(`container:${owner.id}`);
    expect(result.NetworkSettings).toEqual(golden("inspect-bridge.json").NetworkSettings);
  });
  test("HostConfig and Config carry the network options given, as podman's: --dns, --dns-option, --dns-search, --add-host as given (NAME1;NAME2:IP), -P; the hostname (--hostname, the host's on its network, else the short id)", () => {
    const given = newContainerRecord({
      id: "0123456789abcdef0123",
      mode: { kind: "bridge" },
      publishAll: true,
      etc: { dns: ["192.0.2.53"], dnsOptions: ["ndots:2"], dnsSearch: ["example.com"], addHosts: [{ name: "a b", address: "192.0.2.9" }, { name: "gw", address: "host-gateway" }], hostname: "box" },
    });
    const result = inspectResult(given, given, {}, undefined, "thehost");
    expect(result.HostConfig).toEqual({
      Dns: ["192.0.2.53"],
      DnsOptions: ["ndots:2"],
      DnsSearch: ["example.com"],
      ExtraHosts: ["a;b:192.0.2.9", "gw:host-gateway"],
      NetworkMode: "bridge",
      PortBindings: {},
      PublishAllPorts: true,
    });
    expect(result.Config).toEqual({ Hostname: "box" });
    const host = newContainerRecord({ id: "0123456789abcdef0123", mode: { kind: "host" } });
    expect(inspectResult(host, host, {}, undefined, "thehost").Config.Hostname).toBe("thehost");
    const bare = newContainerRecord({ id: "0123456789abcdef0123", mode: { kind: "none" } });
    expect(inspectResult(bare, bare, {}, undefined, "thehost")).toMatchObject({ Config: { Hostname: "0123456789ab" }, HostConfig: { Dns: [], ExtraHosts: [], PublishAllPorts: false } });
  });
});
