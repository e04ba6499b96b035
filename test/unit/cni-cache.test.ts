// The result cache: libcni's file name and JSON layout, atomic 0600 writes, listing and filtering.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CacheEntry,
  cacheFilePath,
  decodeCacheFile,
  encodeCacheFile,
  listCache,
  readCache,
  removeCache,
  writeCache,
} from "../../src/drivers/cni/cache.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/cni/cache");
const libcniFile = readFileSync(join(FIXTURES, "mynet-c1-eth0"), "utf8");
const conflistBytes = readFileSync(join(FIXTURES, "conflist.json"));

const entry: CacheEntry = {
  network: "mynet",
  containerId: "c1",
  ifName: "eth0",
  owner: "ctrnet:/run/ctrnet",
  netnsPath: "/run/netns/cni-1234",
  cniArgs: [
    ["IgnoreUnknown", "1"],
    ["K8S_POD_NAME", "web"],
  ],
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
  config: conflistBytes,
  result: JSON.parse(libcniFile).result,
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-cni-cache-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("cache file format", () => {
  test("path is <cacheDir>/results/<network>-<containerId>-<ifName>", () => {
    expect(cacheFilePath("/var/lib/cni", entry)).toBe("/var/lib/cni/results/mynet-c1-eth0");
  });

  test("encodes what libcni writes: same fields, same order, config as base64, then ctrnet's owner mark", () => {
    const { ctrnet, ...libcniFields } = JSON.parse(encodeCacheFile(entry));
    expect(libcniFields).toEqual(JSON.parse(libcniFile));
    expect(Object.keys(libcniFields)).toEqual(Object.keys(JSON.parse(libcniFile)));
    expect(ctrnet).toEqual({ owner: "ctrnet:/run/ctrnet" });
    expect(decodeCacheFile(encodeCacheFile(entry), "/x/f").owner).toBe("ctrnet:/run/ctrnet");
  });

  test("leaves out empty netns, CNI args and capability args like Go's omitempty", () => {
    const doc = JSON.parse(encodeCacheFile({ ...entry, netnsPath: "", cniArgs: [], capabilityArgs: {} }));
    expect(Object.keys(doc)).toEqual(["kind", "containerId", "config", "ifName", "networkName", "result", "ctrnet"]);
  });

  test("decodes a libcni file", () => {
    const decoded = decodeCacheFile(libcniFile, "/x/mynet-c1-eth0");
    expect(decoded).toEqual({
      network: "mynet",
      containerId: "c1",
      ifName: "eth0",
      netnsPath: "/run/netns/cni-1234",
      cniArgs: entry.cniArgs as [string, string][],
      capabilityArgs: { portMappings: [{ containerPort: 80, hostPort: 8080, protocol: "tcp" }] },
      config: expect.any(Uint8Array),
      result: entry.result,
      file: "/x/mynet-c1-eth0",
    });
    expect(Buffer.from(decoded.config!).toString()).toBe(conflistBytes.toString());
  });

  test("takes Go's nulls for absent args and rejects other kinds naming the file and field", () => {
    const doc = { ...JSON.parse(libcniFile), cniArgs: null, capabilityArgs: null };
    const decoded = decodeCacheFile(JSON.stringify(doc), "f");
    expect(decoded.cniArgs).toEqual([]);
    expect(decoded.capabilityArgs).toEqual({});
    expect(() => decodeCacheFile(JSON.stringify({ ...doc, kind: "cniCacheV2" }), "/c/f")).toThrow("CNI cache file /c/f: kind: expected");
    expect(() => decodeCacheFile(JSON.stringify({ ...doc, config: "%%%" }), "/c/f")).toThrow("config: expected base64");
    expect(() => decodeCacheFile("{", "/c/f")).toThrow("CNI cache file /c/f: malformed JSON");
  });
});

describe("cache files on disk", () => {
  test("write is atomic and private: 0600 file in a 0700 dir, no temp file left; read returns it", async () => {
    const cacheDir = join(dir, "cache");
    const path = await writeCache(cacheDir, entry);
    expect(path).toBe(join(cacheDir, "results", "mynet-c1-eth0"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(cacheDir, "results")).mode & 0o777).toBe(0o700);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(cacheDir, "results"))).toEqual(["mynet-c1-eth0"]);

    const read = await readCache(cacheDir, entry);
    expect(read?.result).toEqual(entry.result);
    expect(read?.capabilityArgs).toEqual(entry.capabilityArgs as Record<string, unknown>);

    await writeCache(cacheDir, { ...entry, netnsPath: "/run/netns/other" });
    expect((await readCache(cacheDir, entry))?.netnsPath).toBe("/run/netns/other");
    expect(readdirSync(join(cacheDir, "results"))).toEqual(["mynet-c1-eth0"]);

    await removeCache(cacheDir, entry);
    expect(await readCache(cacheDir, entry)).toBeUndefined();
    await removeCache(cacheDir, entry);
  });

  test("a file read again is decoded again only when it changed: replaced, or rewritten in place as libcni does", async () => {
    const cacheDir = join(dir, "cache");
    const path = await writeCache(cacheDir, entry);
    const first = await readCache(cacheDir, entry);
    expect(await readCache(cacheDir, entry)).toBe(first);
    writeFileSync(path, encodeCacheFile({ ...entry, netnsPath: "/run/netns/in-place-longer" }));
    expect((await readCache(cacheDir, entry))?.netnsPath).toBe("/run/netns/in-place-longer");
    writeFileSync(path, "not json");
    await expect(readCache(cacheDir, entry)).rejects.toThrow("malformed JSON");
  });

  test("listing filters by network and container and skips files that are not cniCacheV1", async () => {
    await writeCache(dir, entry);
    await writeCache(dir, { ...entry, ifName: "eth1" });
    await writeCache(dir, { ...entry, containerId: "c2" });
    await writeCache(dir, { ...entry, network: "my", containerId: "net-c1" });
    writeFileSync(join(dir, "results", "legacy-c9-eth0"), JSON.stringify({ cniVersion: "0.3.1", ips: [] }));
    mkdirSync(join(dir, "results", "not-a-file"));

    const all = await listCache(dir);
    expect(all.map((a) => `${a.network}/${a.containerId}/${a.ifName}`)).toEqual(["my/net-c1/eth0", "mynet/c1/eth0", "mynet/c1/eth1", "mynet/c2/eth0"]);
    expect((await listCache(dir, { network: "mynet", containerId: "c1" })).map((a) => a.ifName)).toEqual(["eth0", "eth1"]);
    expect((await listCache(dir, { network: "my" })).map((a) => a.containerId)).toEqual(["net-c1"]);
    expect(await listCache(join(dir, "nothing-here"))).toEqual([]);
  });
});
