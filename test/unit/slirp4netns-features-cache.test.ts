import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-slirp-probe-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const FEATURES = new URL("../../src/drivers/slirp4netns/features.ts", import.meta.url).pathname;

/** A stand-in slirp4netns whose --help counts how often it ran. */
function fakeBinary(): { path: string; runs: () => number } {
  const path = join(dir, "slirp4netns");
  const counter = join(dir, "runs");
  writeFileSync(counter, "");
  writeFileSync(path, `#!/bin/sh\necho x >> ${counter}\necho "  --mtu=MTU  --disable-host-loopback  --enable-sandbox  --cidr=CIDR"\n`);
  chmodSync(path, 0o755);
  return { path, runs: () => readFileSync(counter, "utf8").split("\n").filter(Boolean).length };
}

/** Each probe in its own process: the in-process cache must not be what answers. */
async function probeInProcess(binary: string, cacheFile: string): Promise<Record<string, boolean>> {
  const script = `const { probeSlirp4netns } = await import(${JSON.stringify(FEATURES)}); console.log(JSON.stringify(probeSlirp4netns(${JSON.stringify(binary)}, ${JSON.stringify(cacheFile)})));`;
  const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(child.stdout).text();
  expect(await child.exited).toBe(0);
  return JSON.parse(out);
}

test("a second process reuses the probe from the cache file instead of running --help again", async () => {
  const fake = fakeBinary();
  const cacheFile = join(dir, "features.json");
  const first = await probeInProcess(fake.path, cacheFile);
  expect(first).toMatchObject({ mtu: true, disableHostLoopback: true, enableSandbox: true, cidr: true, outboundAddr6: false });
  expect(await probeInProcess(fake.path, cacheFile)).toEqual(first);
  expect(fake.runs()).toBe(1);
});

test("a changed binary (new mtime) is probed again", async () => {
  const fake = fakeBinary();
  const cacheFile = join(dir, "features.json");
  await probeInProcess(fake.path, cacheFile);
  writeFileSync(fake.path, readFileSync(fake.path, "utf8").replace("--cidr=CIDR", "--cidr=CIDR --enable-ipv6"));
  expect((await probeInProcess(fake.path, cacheFile)).enableIPv6).toBe(true);
  expect(fake.runs()).toBe(2);
});

test("a damaged cache file is ignored, not trusted", async () => {
  const fake = fakeBinary();
  const cacheFile = join(dir, "features.json");
  writeFileSync(cacheFile, JSON.stringify({ key: "whatever", features: { mtu: "yes" } }));
  expect((await probeInProcess(fake.path, cacheFile)).mtu).toBe(true);
  expect(fake.runs()).toBe(1);
});
