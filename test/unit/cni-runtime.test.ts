// The operations over a plugin list, with stand-in plugins: chaining prevResult on ADD, DEL in reverse with
// the cached result, undoing a failed ADD, CHECK, GC and STATUS.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import { type CniRuntime, createCniRuntime, type NetworkConfig } from "../../src/drivers/cni/index.ts";
import { type FakeBehaviour, fakePlugin, recordedCalls } from "./cni-fake-plugins.ts";

let dir: string;
let bin: string;
let log: string;
let cacheDir: string;
let cni: CniRuntime;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-cni-runtime-"));
  for (const d of ["bin", "log", "conf"]) mkdirSync(join(dir, d));
  bin = join(dir, "bin");
  log = join(dir, "log");
  cacheDir = join(dir, "cache");
  cni = createCniRuntime({ configDirs: [join(dir, "conf")], pluginDirs: [bin], defaultPluginDirs: [], cacheDir });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const resultA = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", sandbox: "/run/netns/t" }],
  ips: [{ address: "10.1.0.2/24", gateway: "10.1.0.1", interface: 0 }],
  dns: {},
};
const resultB = { ...resultA, routes: [{ dst: "0.0.0.0/0" }] };

async function network(plugins: [string, FakeBehaviour, Record<string, unknown>?][], extra: Record<string, unknown> = {}): Promise<NetworkConfig> {
  for (const [name, behaviour] of plugins) fakePlugin(bin, log, name, behaviour);
  const conf = { cniVersion: "1.0.0", name: "testnet", plugins: plugins.map(([type, , conf]) => ({ type, ...conf })), ...extra };
  writeFileSync(join(dir, "conf", "testnet.conflist"), JSON.stringify(conf));
  return cni.loadNetwork("testnet");
}

const request = (net: NetworkConfig, containerId = "c1") => ({
  network: net,
  containerId,
  netnsPath: "/run/netns/t",
  ifName: "eth0",
  capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: "tcp" }], mac: "02:00:00:00:00:09" },
  cniArgs: [["IgnoreUnknown", "1"]] as [string, string][],
});

const summary = () => recordedCalls(log).map((c) => `${c.plugin} ${c.command}`);

describe("add", () => {
  test("chains prevResult, filters runtimeConfig per plugin, caches the final result", async () => {
    const net = await network([
      ["first", { stdout: { ADD: resultA } }, { capabilities: { mac: true } }],
      ["second", { stdout: { ADD: resultB } }, { capabilities: { portMappings: true } }],
    ]);
    const result = await cni.add(request(net));
    expect(result.routes).toEqual([{ dst: "0.0.0.0/0" }]);
    expect(result.ips[0]?.address).toBe("10.1.0.2/24");

    const [first, second] = recordedCalls(log);
    expect(first?.stdin).toEqual({ type: "first", name: "testnet", cniVersion: "1.0.0", capabilities: { mac: true }, runtimeConfig: { mac: "02:00:00:00:00:09" } });
    expect(second?.stdin.prevResult).toEqual(resultA);
    expect(second?.stdin.runtimeConfig).toEqual({ portMappings: [{ hostPort: 80, containerPort: 80, protocol: "tcp" }] });

    const [cached] = await cni.cachedAttachments({ network: "testnet" });
    expect(cached?.result).toEqual(resultB);
    expect(cached?.cniArgs).toEqual([["IgnoreUnknown", "1"]]);
    expect(cached?.netnsPath).toBe("/run/netns/t");
    expect(cni.cachedNetwork(cached!)?.plugins.map((p) => p.type)).toEqual(["first", "second"]);
    expect(await cni.cachedResult({ network: "testnet", containerId: "c1", ifName: "eth0" })).toEqual(result);
  });

  test("prevResult is converted to the network's cniVersion", async () => {
    const net = await network(
      [
        ["first", { stdout: { ADD: resultA } }],
        ["second", { stdout: { ADD: { ...resultA, cniVersion: "0.4.0" } } }],
      ],
      { cniVersion: "0.4.0" },
    );
    await cni.add(request(net));
    const prev = recordedCalls(log)[1]?.stdin.prevResult as { cniVersion: string; ips: unknown[] };
    expect(prev.cniVersion).toBe("0.4.0");
    expect(prev.ips).toEqual([{ version: "4", address: "10.1.0.2/24", gateway: "10.1.0.1", interface: 0 }]);
  });

  test("a failed ADD is undone by DEL over the whole list in reverse, with the last result; nothing is cached", async () => {
    const net = await network([
      ["first", { stdout: { ADD: resultA } }],
      ["second", { stdout: { ADD: { cniVersion: "1.0.0", code: 11, msg: "try again" } }, exitCode: { ADD: 1 } }],
      ["third", { stdout: { ADD: resultB } }],
    ]);
    const err = await cni.add(request(net)).catch((e: unknown) => e);
    expect((err as Error).message).toBe("plugin second ADD for network testnet: try again");
    expect(summary()).toEqual(["first ADD", "second ADD", "third DEL", "second DEL", "first DEL"]);
    for (const call of recordedCalls(log).slice(2)) expect(call.stdin.prevResult).toEqual(resultA);
    expect(await cni.cachedAttachments()).toEqual([]);
  });

  test("an ADD that prints no result or an invalid one fails and is undone; undo failures are reported too", async () => {
    const net = await network([
      ["first", { stdout: { ADD: resultA }, exitCode: { DEL: 2 }, stderr: "cannot delete" }],
      ["second", { stdout: { ADD: { cniVersion: "1.0.0", ips: [{ address: "bogus" }] } } }],
    ]);
    const err = await cni.add(request(net)).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      "plugin second ADD for network testnet: invalid CNI result: ips[0].address: expected an address with prefix length, like 10.88.0.2/16; " +
        "undoing the partial setup failed too: plugin first DEL for network testnet: exited with status 2: cannot delete",
    );
  });

  test("a plugin missing from the search path fails the ADD; its DEL in the undo is no undo failure", async () => {
    const net = await network([["first", { stdout: { ADD: resultA } }]]);
    const withMissing = { ...net, plugins: [...net.plugins, { type: "absent" }] };
    const err = await cni.add({ ...request(net), network: withMissing }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`plugin absent ADD for network testnet: plugin binary "absent" not found in ${bin}`);
    expect(summary()).toEqual(["first ADD", "first DEL"]);
  });

  test("bad input is refused before any plugin runs", async () => {
    const net = await network([["first", { stdout: { ADD: resultA } }]]);
    const bad = [
      { ...request(net), containerId: "../x" },
      { ...request(net), ifName: "a-very-long-interface-name" },
      { ...request(net), netnsPath: "relative/path" },
      { ...request(net), cniArgs: [["K;X", "1"]] as [string, string][] },
    ];
    for (const req of bad) await expect(cni.add(req)).rejects.toBeInstanceOf(UsageError);
    expect(summary()).toEqual([]);
  });
});

describe("del and check", () => {
  test("DEL runs in reverse with the cached result, CNI_ARGS and capability args from the cache, then drops the cache", async () => {
    const net = await network([
      ["first", { stdout: { ADD: resultA } }, { capabilities: { portMappings: true } }],
      ["second", { stdout: { ADD: resultB } }],
    ]);
    await cni.add(request(net));
    await cni.del({ network: net, containerId: "c1", ifName: "eth0" });
    const dels = recordedCalls(log).slice(2);
    expect(dels.map((c) => c.plugin)).toEqual(["second", "first"]);
    for (const call of dels) {
      expect(call.stdin.prevResult).toEqual(resultB);
      expect(call.env.CNI_NETNS).toBe("/run/netns/t");
      expect(call.env.CNI_ARGS).toBe("IgnoreUnknown=1");
    }
    expect(dels[1]?.stdin.runtimeConfig).toEqual({ portMappings: [{ hostPort: 80, containerPort: 80, protocol: "tcp" }] });
    expect(existsSync(join(cacheDir, "results", "testnet-c1-eth0"))).toBe(false);
  });

  test("DEL keeps going past a failing plugin, reports every failure and keeps the cache for a retry", async () => {
    const net = await network([
      ["first", { stdout: { ADD: resultA }, exitCode: { DEL: 1 } }],
      ["second", { stdout: { ADD: resultB, DEL: { cniVersion: "1.0.0", code: 999, msg: "nope" } }, exitCode: { DEL: 1 } }],
    ]);
    await cni.add(request(net));
    const err = await cni.del({ network: net, containerId: "c1", ifName: "eth0" }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      "CNI DEL of container c1 interface eth0 on network testnet: plugin second DEL for network testnet: nope; plugin first DEL for network testnet: exited with status 1",
    );
    expect(existsSync(join(cacheDir, "results", "testnet-c1-eth0"))).toBe(true);
  });

  test("DEL without a cache entry still runs every plugin, without prevResult, and an empty netns", async () => {
    const net = await network([["first", {}]]);
    await cni.del({ network: net, containerId: "gone", ifName: "eth0" });
    const [call] = recordedCalls(log);
    expect(call?.stdin.prevResult).toBeUndefined();
    expect(call?.env.CNI_NETNS).toBe("");
  });

  test("CHECK runs in order with the cached result; needs 0.4.0, a cache entry, and honours disableCheck", async () => {
    const net = await network([
      ["first", { stdout: { ADD: resultA } }],
      ["second", { stdout: { ADD: resultB } }],
    ]);
    await expect(cni.check(request(net))).rejects.toThrow("no cached CNI result for container c1 interface eth0 on network testnet");
    await cni.add(request(net));
    await cni.check(request(net));
    const checks = recordedCalls(log).slice(2);
    expect(checks.map((c) => `${c.plugin} ${c.command}`)).toEqual(["first CHECK", "second CHECK"]);
    for (const call of checks) expect(call.stdin.prevResult).toEqual(resultB);

    await expect(cni.check({ ...request(net), network: { ...net, cniVersion: "0.3.1" } })).rejects.toThrow("CHECK needs 0.4.0 or later");
    await cni.check({ ...request(net), network: { ...net, disableCheck: true } });
    expect(recordedCalls(log)).toHaveLength(4);
  });
});

describe("gc, status and versions", () => {
  test("GC deletes cached attachments not listed as valid, with their cached result, and nothing else", async () => {
    const net = await network([["first", { stdout: { ADD: resultA } }]]);
    await cni.add(request(net, "keep"));
    await cni.add(request(net, "stale"));
    const removed = await cni.gc(net, [{ containerId: "keep", ifName: "eth0" }]);
    expect(removed).toEqual([{ network: "testnet", containerId: "stale", ifName: "eth0" }]);
    const dels = recordedCalls(log).filter((c) => c.command === "DEL");
    expect(dels.map((c) => c.env.CNI_CONTAINERID)).toEqual(["stale"]);
    expect(dels[0]?.stdin.prevResult).toEqual(resultA);
    expect((await cni.cachedAttachments()).map((a) => a.containerId)).toEqual(["keep"]);
    expect(summary().some((s) => s.endsWith("GC"))).toBe(false);
  });

  test("GC leaves every attachment another runtime made (libcni's file without ctrnet's mark, another ctrnet's) alone", async () => {
    const net = await network([["first", { stdout: { ADD: resultA } }]]);
    const other = createCniRuntime({ configDirs: [join(dir, "conf")], pluginDirs: [bin], defaultPluginDirs: [], cacheDir, owner: "ctrnet:/elsewhere" });
    await other.add(request(net, "theirs"));
    await cni.add(request(net, "podman"));
    // what podman's libcni wrote: the same file without ctrnet's mark
    const podmanFile = join(cacheDir, "results", "testnet-podman-eth0");
    const { ctrnet: _mark, ...libcni } = JSON.parse(await Bun.file(podmanFile).text());
    writeFileSync(podmanFile, JSON.stringify(libcni));
    await cni.add(request(net, "stale"));

    expect(await cni.gc(net, [])).toEqual([{ network: "testnet", containerId: "stale", ifName: "eth0" }]);
    expect(recordedCalls(log).filter((c) => c.command === "DEL").map((c) => c.env.CNI_CONTAINERID)).toEqual(["stale"]);
    expect((await cni.cachedAttachments()).map((a) => [a.containerId, a.owner])).toEqual([
      ["podman", undefined],
      ["theirs", "ctrnet:/elsewhere"],
    ]);
    expect(await other.gc(net, [])).toEqual([{ network: "testnet", containerId: "theirs", ifName: "eth0" }]);
    expect((await cni.cachedAttachments()).map((a) => a.containerId)).toEqual(["podman"]);
  });

  test("the spec GC sent to 1.1 plugins counts other runtimes' cached attachments as valid", async () => {
    const v11 = { versions: ["1.1.0"], stdout: { ADD: { ...resultA, cniVersion: "1.1.0" } } };
    const net = await network([["modern", v11]], { cniVersion: "1.1.0" });
    const other = createCniRuntime({ configDirs: [join(dir, "conf")], pluginDirs: [bin], defaultPluginDirs: [], cacheDir, owner: "containerd" });
    await other.add(request(net, "theirs"));
    await cni.gc(net, [{ containerId: "c1", ifName: "eth0" }]);
    const gc = recordedCalls(log).find((c) => c.command === "GC")!;
    expect(gc.stdin["cni.dev/valid-attachments"]).toEqual([
      { containerID: "c1", ifname: "eth0" },
      { containerID: "theirs", ifname: "eth0" },
    ]);
    await other.del({ network: net, containerId: "theirs", ifName: "eth0" });
  });

  test("GC of a 1.1.0 network also sends the spec GC to plugins whose VERSION includes 1.1.0", async () => {
    const v11 = { versions: ["1.0.0", "1.1.0"], stdout: { ADD: { ...resultA, cniVersion: "1.1.0" } } };
    const net = await network(
      [
        ["modern", v11],
        ["old", { versions: ["1.0.0"] }],
      ],
      { cniVersion: "1.1.0" },
    );
    await cni.gc(net, [{ containerId: "c1", ifName: "eth0" }]);
    expect(summary()).toEqual(["modern VERSION", "modern GC", "old VERSION"]);
    const gc = recordedCalls(log)[1]!;
    expect(gc.stdin).toEqual({
      type: "modern",
      name: "testnet",
      cniVersion: "1.1.0",
      "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }],
      "cni.dev/attachments": [{ containerID: "c1", ifname: "eth0" }],
    });
    expect(gc.env).toEqual({ CNI_COMMAND: "GC", CNI_PATH: bin });
  });

  test("disableGC turns GC off entirely", async () => {
    const net = await network([["first", { stdout: { ADD: resultA } }]], { disableGC: true });
    await cni.add(request(net, "stale"));
    expect(await cni.gc(net, [])).toEqual([]);
    expect(await cni.cachedAttachments()).toHaveLength(1);
    await cni.del({ network: net, containerId: "stale", ifName: "eth0" });
  });

  test("STATUS asks every plugin of a 1.1.0 network and surfaces code 50; older networks have nothing to ask", async () => {
    const net = await network(
      [
        ["ready", { versions: ["1.1.0"] }],
        ["down", { versions: ["1.1.0"], stdout: { STATUS: { cniVersion: "1.1.0", code: 50, msg: "plugin not available" } }, exitCode: { STATUS: 1 } }],
      ],
      { cniVersion: "1.1.0" },
    );
    const err = await cni.status(net).catch((e: unknown) => e);
    expect((err as Error).message).toBe("plugin down STATUS for network testnet: plugin not available");
    expect(summary()).toEqual(["ready STATUS", "down STATUS"]);
    await cni.status({ ...net, cniVersion: "1.0.0" });
    expect(summary()).toHaveLength(2);
  });

  test("pluginVersions returns the VERSION answer", async () => {
    fakePlugin(bin, log, "p", { versions: ["0.4.0", "1.0.0"] });
    expect(await cni.pluginVersions("p")).toEqual({ cniVersion: "1.0.0", supportedVersions: ["0.4.0", "1.0.0"] });
  });
});
