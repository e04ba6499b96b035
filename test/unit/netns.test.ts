// What of the netns layer needs no privilege: paths, names, and the exec command line.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import * as libc from "../../ffi/libc.ts";
import { splitExecArgs } from "../../src/cli/commands/netns.ts";
import { UsageError } from "../../src/errors.ts";
import { createNetns, defaultNetnsDir, removeNetns } from "../../src/netns/index.ts";

describe("defaultNetnsDir", () => {
  const saved = { dir: process.env.CTRNET_NETNS_DIR, xdg: process.env.XDG_RUNTIME_DIR };
  afterEach(() => {
    for (const [key, value] of [["CTRNET_NETNS_DIR", saved.dir], ["XDG_RUNTIME_DIR", saved.xdg]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  test("CTRNET_NETNS_DIR wins", () => {
    process.env.CTRNET_NETNS_DIR = "/somewhere/netns";
    expect(defaultNetnsDir()).toBe("/somewhere/netns");
  });

  test("/run/netns for root, $XDG_RUNTIME_DIR/netns otherwise", () => {
    delete process.env.CTRNET_NETNS_DIR;
    process.env.XDG_RUNTIME_DIR = "/run/user/4242";
    expect(defaultNetnsDir()).toBe(libc.geteuid() === 0 ? "/run/netns" : "/run/user/4242/netns");
  });
});

describe("names", () => {
  test("invalid names are refused before anything touches the file system", () => {
    const dir = "/nonexistent/ctrnet-unit-netns";
    for (const name of ["../x", "", "a/b", ".x", "-x", "x".repeat(254)]) {
      expect(() => createNetns({ name, dir })).toThrow(UsageError);
    }
    // with a slash it is a path, as given
    for (const name of ["", ".x", "-x"]) expect(() => removeNetns(name, { dir })).toThrow(UsageError);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("splitExecArgs", () => {
  test("NAME then the command, with or without --, keeping the command's own options", () => {
    expect(splitExecArgs(["demo", "ip", "-br", "link"])).toEqual({ dir: undefined, name: "demo", command: ["ip", "-br", "link"] });
    expect(splitExecArgs(["demo", "--", "ip", "--", "x"])).toEqual({ dir: undefined, name: "demo", command: ["ip", "--", "x"] });
  });

  test("--netns-dir and --log-level before the name", () => {
    expect(splitExecArgs(["--netns-dir", "/d", "--log-level=debug", "n", "true"])).toEqual({ dir: "/d", name: "n", command: ["true"] });
    expect(splitExecArgs(["--netns-dir=/d", "--log-level", "info", "n", "--netns-dir", "x"]).command).toEqual(["--netns-dir", "x"]);
  });

  test("usage errors", () => {
    expect(() => splitExecArgs([])).toThrow("missing network namespace name");
    expect(() => splitExecArgs(["demo"])).toThrow("missing command");
    expect(() => splitExecArgs(["demo", "--"])).toThrow("missing command");
    expect(() => splitExecArgs(["--bogus", "demo", "true"])).toThrow("unknown option --bogus");
    expect(() => splitExecArgs(["--netns-dir"])).toThrow("--netns-dir needs a value");
    expect(() => splitExecArgs(["../x", "true"])).toThrow(UsageError);
  });
});
