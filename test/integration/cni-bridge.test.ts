// The CNI runtime against the real reference plugins (bridge, host-local, portmap, firewall, tuning from
// /usr/lib/cni) in a private host namespace: attach, check, detach, GC, and readable plugin failures,
// each leaving no interface, firewall rule, address allocation or cache file behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bridgeConflist, type CniRuntime, createCniRuntime, type NetworkConfig } from "../../src/drivers/cni/index.ts";
import { createNetns, type Netns, removeNetns } from "../../src/netns/index.ts";
import {
  containerAddresses,
  firewallLinesMentioning,
  hex,
  hostVeths,
  ipamAllocations,
  perContainerChains,
  privileged,
  run,
} from "./cni-helpers.ts";

describe.skipIf(!privileged)("CNI runtime with the reference plugins", () => {
  const id = hex(3);
  const bridge = `ctb${id}`;
  // A /24 of its own per run, so nothing here can collide with another test's addresses.
  const prefix = `10.${100 + (Number.parseInt(id.slice(0, 2), 16) % 150)}.${Number.parseInt(id.slice(2, 4), 16)}`;
  const subnet = `${prefix}.0/24`;
  let tmp: string;
  let ipamDir: string;
  let cacheDir: string;
  let cni: CniRuntime;

  function writeNetwork(name: string, conf: Record<string, unknown>): Promise<NetworkConfig> {
    writeFileSync(join(tmp, "conf", `${name}.conflist`), JSON.stringify(conf, null, 2));
    return cni.loadNetwork(name);
  }

  const bridgeNetwork = (name: string, extra: { ipRanges?: string[] } = {}) =>
    writeNetwork(name, bridgeConflist({ name, bridge, subnets: [subnet], ipamDataDir: ipamDir, ...extra }));

  /** A netns for one test, removed (after a best-effort DEL) whatever the test did. */
  async function withContainer<T>(network: NetworkConfig, fn: (ns: Netns, containerId: string) => Promise<T>): Promise<T> {
    const containerId = `ctr-${hex(6)}`;
    const ns = createNetns({ name: `ctrnet-cni-${hex(4)}` });
    try {
      return await fn(ns, containerId);
    } finally {
      await cni.del({ network, containerId, ifName: "eth0", netnsPath: ns.path }).catch(() => undefined);
      removeNetns(ns.path);
    }
  }

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "ctrnet-cni-it-"));
    ipamDir = join(tmp, "ipam");
    cacheDir = join(tmp, "cache");
    mkdirSync(join(tmp, "conf"));
    // Made here, not by the first ADD, so it belongs to the state every test starts from.
    expect(run(["ip", "link", "add", bridge, "type", "bridge"]).ok).toBe(true);
    cni = createCniRuntime({ configDirs: [join(tmp, "conf")], cacheDir, pluginTimeoutMs: 30_000 });
  });

  afterAll(() => {
    run(["ip", "link", "del", bridge]);
    rmSync(tmp, { recursive: true, force: true });
  });

  test("ADD, CHECK and DEL round-trip a namespace and leave nothing behind", async () => {
    const network = await bridgeNetwork(`rt-${id}`);
    const hostPort = 20000 + Number.parseInt(id.slice(0, 3), 16);
    await withContainer(network, async (ns, containerId) => {
      const result = await cni.add({
        network,
        containerId,
        netnsPath: ns.path,
        ifName: "eth0",
        capabilityArgs: { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] },
        cniArgs: [["IgnoreUnknown", "1"]],
      });
      const ip = `${prefix}.2`;
      expect(result.ips).toEqual([{ address: `${ip}/24`, gateway: `${prefix}.1`, interface: 2 }]);
      expect(result.interfaces[2]).toMatchObject({ name: "eth0", sandbox: ns.path });
      expect(containerAddresses(ns.name, "eth0")).toContain(`inet ${ip}/24`);
      expect(hostVeths()).toHaveLength(1);
      expect(firewallLinesMentioning(`--to-destination ${ip}:80`)).toHaveLength(1);
      expect(firewallLinesMentioning(`--dports ${hostPort}`).join("\n")).toContain(`id: \\"${containerId}\\"`);
      expect(ipamAllocations(ipamDir, network.name)).toEqual([ip]);
      const cacheFile = join(cacheDir, "results", `${network.name}-${containerId}-eth0`);
      expect(existsSync(cacheFile)).toBe(true);

      await cni.check({ network, containerId, netnsPath: ns.path, ifName: "eth0" });
      await cni.del({ network, containerId, netnsPath: ns.path, ifName: "eth0" });

      expect(hostVeths()).toEqual([]);
      expect(run(["ip", "-n", ns.name, "link", "show", "eth0"]).ok).toBe(false);
      expect(firewallLinesMentioning(containerId, `${ip}/`, `${ip}:`, `${ip} `)).toEqual([]);
      expect(perContainerChains()).toEqual([]);
      expect(ipamAllocations(ipamDir, network.name)).toEqual([]);
      expect(existsSync(cacheFile)).toBe(false);
    });
  });

  test("GC with one of two attachments listed as valid removes the other's rules, address and cache", async () => {
    const network = await bridgeNetwork(`gc-${id}`);
    await withContainer(network, (keepNs, keep) =>
      withContainer(network, async (staleNs, stale) => {
        const mappings = (port: number) => ({ portMappings: [{ hostPort: port, containerPort: 80, protocol: "tcp" }] });
        const kept = await cni.add({ network, containerId: keep, netnsPath: keepNs.path, ifName: "eth0", capabilityArgs: mappings(21001) });
        const gone = await cni.add({ network, containerId: stale, netnsPath: staleNs.path, ifName: "eth0", capabilityArgs: mappings(21002) });
        const keepIp = kept.ips[0]!.address.split("/")[0]!;
        const staleIp = gone.ips[0]!.address.split("/")[0]!;
        expect(firewallLinesMentioning(stale).length).toBeGreaterThan(0);

        const removed = await cni.gc(network, [{ containerId: keep, ifName: "eth0" }]);

        expect(removed).toEqual([{ network: network.name, containerId: stale, ifName: "eth0" }]);
        expect(firewallLinesMentioning(stale, `${staleIp}/`, `${staleIp}:`)).toEqual([]);
        expect(ipamAllocations(ipamDir, network.name)).toEqual([keepIp]);
        expect(run(["ip", "-n", staleNs.name, "link", "show", "eth0"]).ok).toBe(false);
        expect((await cni.cachedAttachments({ network: network.name })).map((a) => a.containerId)).toEqual([keep]);
        expect(firewallLinesMentioning(keep).length).toBeGreaterThan(0);
        expect(containerAddresses(keepNs.name, "eth0")).toContain(`inet ${keepIp}/24`);
        expect(hostVeths()).toHaveLength(1);
      }),
    );
    expect(hostVeths()).toEqual([]);
    expect(ipamAllocations(ipamDir, network.name)).toEqual([]);
    expect(perContainerChains()).toEqual([]);
  });

  test("a plugin type that does not exist fails readably and the bridge's part is undone", async () => {
    const name = `missing-${id}`;
    const conf = bridgeConflist({ name, bridge, subnets: [subnet], ipamDataDir: ipamDir });
    (conf.plugins as unknown[]).splice(1, 0, { type: "ctrnet-no-such-plugin" });
    const network = await writeNetwork(name, conf);
    await withContainer(network, async (ns, containerId) => {
      const err = await cni.add({ network, containerId, netnsPath: ns.path, ifName: "eth0" }).catch((e: unknown) => e);
      expect((err as Error).message).toBe(
        `plugin ctrnet-no-such-plugin ADD for network ${name}: plugin binary "ctrnet-no-such-plugin" not found in /usr/lib/cni:/opt/cni/bin`,
      );
      expect(hostVeths()).toEqual([]);
      expect(ipamAllocations(ipamDir, name)).toEqual([]);
      expect(firewallLinesMentioning(containerId)).toEqual([]);
      expect(await cni.cachedAttachments({ containerId })).toEqual([]);
    });
  });

  test("an exhausted IPAM range fails readably and leaves the first attachment alone", async () => {
    const ip = `${prefix}.200`;
    const network = await bridgeNetwork(`full-${id}`, { ipRanges: [`${ip}/32`] });
    await withContainer(network, (firstNs, first) =>
      withContainer(network, async (secondNs, second) => {
        await cni.add({ network, containerId: first, netnsPath: firstNs.path, ifName: "eth0" });
        const err = await cni.add({ network, containerId: second, netnsPath: secondNs.path, ifName: "eth0" }).catch((e: unknown) => e);
        expect((err as Error).message).toBe(
          `plugin bridge ADD for network ${network.name}: failed to allocate for range 0: no IP addresses available in range set: ${ip}-${ip}`,
        );
        expect(hostVeths()).toHaveLength(1);
        expect(run(["ip", "-n", secondNs.name, "link", "show", "eth0"]).ok).toBe(false);
        expect(ipamAllocations(ipamDir, network.name)).toEqual([ip]);
        expect(firewallLinesMentioning(second)).toEqual([]);
      }),
    );
    expect(ipamAllocations(ipamDir, network.name)).toEqual([]);
  });
});
