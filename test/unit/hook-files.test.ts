// What `ctrnet hook install` and `ctrnet hook config` write: the hooks.d 1.0.0 format podman and CRI-O
// read, and the config.json hooks block runc and crun read.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import { configHooks, hookCommand, hookEnv, hooksdFile, hooksdFileName, installHooks } from "../../src/hook/hook-files.ts";

const cmd = { path: "/usr/local/bin/ctrnet", argv: ["ctrnet"], env: ["CTRNET_ROOT=/run/x"] };

describe("hooks.d", () => {
  test("one hook per file, matched on the io.ctrnet.network annotation", () => {
    expect(hooksdFile(cmd, "createRuntime")).toEqual({
      version: "1.0.0",
      hook: { path: "/usr/local/bin/ctrnet", args: ["ctrnet", "hook", "createRuntime"], env: ["CTRNET_ROOT=/run/x"] },
      when: { annotations: { "^io\\.ctrnet\\.network$": ".*" } },
      stages: ["createRuntime"],
    });
    expect(hooksdFile({ ...cmd, env: [] }, "poststop")).toEqual({
      version: "1.0.0",
      hook: { path: "/usr/local/bin/ctrnet", args: ["ctrnet", "hook", "poststop"] },
      when: { annotations: { "^io\\.ctrnet\\.network$": ".*" } },
      stages: ["poststop"],
    });
    // The key is a regular expression that matches the annotation's name and nothing longer.
    const key = new RegExp(Object.keys(hooksdFile(cmd, "poststop").when.annotations)[0]!);
    expect(key.test("io.ctrnet.network")).toBe(true);
    expect(key.test("ioXctrnet.network")).toBe(false);
    expect(key.test("io.ctrnet.network2")).toBe(false);
  });

  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  test("install writes ctrnet.json and ctrnet-poststop.json, again and again", () => {
    dir = mkdtempSync(join(tmpdir(), "ctrnet-hooksd-"));
    const target = join(dir, "hooks.d");
    for (let i = 0; i < 2; i++) {
      expect(installHooks(target, cmd)).toEqual([join(target, "ctrnet.json"), join(target, "ctrnet-poststop.json")]);
    }
    expect(readdirSync(target).sort()).toEqual(["ctrnet-poststop.json", "ctrnet.json"]);
    expect(JSON.parse(readFileSync(join(target, hooksdFileName("createRuntime")), "utf8"))).toEqual(hooksdFile(cmd, "createRuntime"));
    expect(JSON.parse(readFileSync(join(target, hooksdFileName("poststop")), "utf8"))).toEqual(hooksdFile(cmd, "poststop"));
  });
});

test("config.json hooks block: createContainer only for a rootless user, whose crun needs it", () => {
  const hook = (stage: string) => [{ path: "/usr/local/bin/ctrnet", args: ["ctrnet", "hook", stage], env: ["CTRNET_ROOT=/run/x"] }];
  expect(configHooks(cmd, false)).toEqual({ hooks: { createRuntime: hook("createRuntime"), poststop: hook("poststop") } });
  expect(configHooks(cmd, true)).toEqual({
    hooks: { createRuntime: hook("createRuntime"), createContainer: hook("createContainer"), poststop: hook("poststop") },
  });
});

describe("hookEnv", () => {
  const ctx = { rootless: false, runtimeDir: "/run/ctrnet", netnsDir: "/run/netns", cniConfigDir: "/etc/cni/net.d", cni: { cacheDir: "/var/lib/cni" } } as const;

  test("root: only what is set, in a fixed order", () => {
    expect(hookEnv({ CTRNET_CNI_CACHE_DIR: "/c", CTRNET_ROOT: "/r", HOME: "/root", CTRNET_LOG_LEVEL: "debug", CTRNET_NETNS_DIR: "" }, ctx as never)).toEqual([
      "CTRNET_ROOT=/r",
      "CTRNET_CNI_CACHE_DIR=/c",
      "CTRNET_LOG_LEVEL=debug",
    ]);
    expect(hookEnv({}, ctx as never)).toEqual([]);
  });

  test("rootless: every directory resolved, since the runtime passes no HOME or XDG_RUNTIME_DIR", () => {
    const rootless = { rootless: true, runtimeDir: "/run/user/1000/ctrnet", netnsDir: "/run/user/1000/netns", cniConfigDir: "/home/u/.config/cni/net.d", cni: { cacheDir: "/run/user/1000/ctrnet/cni" } };
    expect(hookEnv({ CTRNET_CNI_PLUGIN_DIR: "/p" }, rootless as never)).toEqual([
      "CTRNET_ROOT=/run/user/1000/ctrnet",
      "CTRNET_NETNS_DIR=/run/user/1000/netns",
      "CTRNET_CNI_CONFIG_DIR=/home/u/.config/cni/net.d",
      "CTRNET_CNI_PLUGIN_DIR=/p",
      "CTRNET_CNI_CACHE_DIR=/run/user/1000/ctrnet/cni",
    ]);
  });
});

test("hookCommand: a given path must be absolute, runtimes search no PATH", () => {
  expect(hookCommand([], "/opt/ctrnet")).toEqual({ path: "/opt/ctrnet", argv: ["ctrnet"], env: [] });
  expect(() => hookCommand([], "ctrnet")).toThrow(UsageError);
});
