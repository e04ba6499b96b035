// Default locations for root and rootless users.
import { expect, test } from "bun:test";
import { DEFAULT_PLUGIN_DIRS, defaultCacheDir, defaultConfigDirs } from "../../src/drivers/cni/paths.ts";
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
