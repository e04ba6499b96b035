// Default locations for root and rootless users.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DEFAULT_PLUGIN_DIRS, defaultCacheDir, defaultConfigDirs, passwdHome } from "../../src/drivers/cni/paths.ts";
import { createCniRuntime } from "../../src/drivers/cni/runtime.ts";

test("root uses the shared system locations", () => {
  expect(defaultConfigDirs({}, 0)).toEqual(["/etc/cni/net.d"]);
  expect(defaultCacheDir({}, 0)).toBe("/var/lib/cni");
});

test("rootless uses the user's config dir and runtime dir", () => {
  expect(defaultConfigDirs({ HOME: "/home/u" }, 1000)).toEqual(["/home/u/.config/cni/net.d"]);
  expect(defaultConfigDirs({ HOME: "/home/u", XDG_CONFIG_HOME: "/cfg" }, 1000)).toEqual(["/cfg/cni/net.d"]);
  expect(defaultCacheDir({ XDG_RUNTIME_DIR: "/run/user/1000" }, 1000)).toBe("/run/user/1000/ctrnet/cni");
  expect(defaultCacheDir({}, 1001)).toBe("/run/user/1001/ctrnet/cni");
});

test("extra plugin dirs are searched before the defaults, which can be replaced", () => {
  expect(DEFAULT_PLUGIN_DIRS).toEqual(["/usr/lib/cni", "/opt/cni/bin"]);
  expect(createCniRuntime({ pluginDirs: ["/mine"], cacheDir: "/c", configDirs: [] }).pluginPath).toEqual(["/mine", "/usr/lib/cni", "/opt/cni/bin"]);
  expect(createCniRuntime({ pluginDirs: ["/mine"], defaultPluginDirs: ["/other"], cacheDir: "/c", configDirs: [] }).pluginPath).toEqual(["/mine", "/other"]);
});

test("rootless without $HOME takes the home directory of the user's /etc/passwd entry, as podman does", () => {
  const passwd = "root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000::/home/u:/bin/sh\nv:x:10000:1::/srv/v:/bin/sh\n";
  expect(passwdHome(1000, passwd)).toBe("/home/u");
  expect(passwdHome(10000, passwd)).toBe("/srv/v");
  expect(() => passwdHome(100, passwd)).toThrow(/HOME is unset and \/etc\/passwd has no entry for uid 100/);
  // the real file: root's entry, as getpwuid(3) gives it (node:os's homedir without $HOME)
  const root = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.split(":")[2] === "0")!.split(":")[5]!;
  expect(passwdHome(0)).toBe(root);
  expect(defaultConfigDirs({}, 1000)[0]).toMatch(/\/\.config\/cni\/net\.d$/);
});
