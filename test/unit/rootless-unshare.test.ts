// `ctrnet unshare` argument handling and the pause process's files, without privileges.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unshareArgs, unshareCommand } from "../../src/cli/commands/unshare.ts";
import { UsageError } from "../../src/errors.ts";
import { pauseFiles, readPausePid } from "../../src/rootless/pause.ts";
import { makeScratch, scratchPath } from "../helpers/scratch.ts";

const dir = scratchPath("ctrnet-pause-");
beforeAll(() => makeScratch(dir));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the command keeps its own options, after -- or without it", () => {
  expect(unshareCommand(["id", "-u"])).toEqual(["id", "-u"]);
  expect(unshareCommand(["--", "id", "-u"])).toEqual(["id", "-u"]);
  expect(unshareCommand(["--", "--weird-name"])).toEqual(["--weird-name"]);
});

test("without a command it is $SHELL, else /bin/sh", () => {
  expect(unshareCommand([], "/bin/bash")).toEqual(["/bin/bash"]);
  expect(unshareCommand(["--"], "/bin/zsh")).toEqual(["/bin/zsh"]);
  expect(unshareCommand([], "")).toEqual(["/bin/sh"]);
});

test("an option before the command is refused, but podman's --rootless-netns", () => {
  expect(() => unshareCommand(["-x", "id"])).toThrow(UsageError);
  expect(() => unshareCommand(["--rootless-netns", "-x", "id"])).toThrow("unknown option -x: ctrnet unshare [--rootless-netns] [--] [CMD…]");
  expect(unshareArgs(["--rootless-netns", "ip", "-o", "addr"])).toEqual({ rootlessNetns: true, command: ["ip", "-o", "addr"] });
  expect(unshareArgs(["--rootless-netns", "--", "-weird"])).toEqual({ rootlessNetns: true, command: ["-weird"] });
  expect(unshareArgs(["--rootless-netns"], "/bin/bash")).toEqual({ rootlessNetns: true, command: ["/bin/bash"] });
  expect(unshareArgs(["--", "--rootless-netns"])).toEqual({ rootlessNetns: false, command: ["--rootless-netns"] });
  expect(unshareArgs(["--rootless-netns=false", "id"])).toEqual({ rootlessNetns: false, command: ["id"] });
});

test("the pause files are per user under XDG_RUNTIME_DIR, whatever CTRNET_ROOT says", () => {
  expect(pauseFiles({ XDG_RUNTIME_DIR: "/run/user/1000", CTRNET_ROOT: "/elsewhere" }, 1000)).toEqual({
    dir: "/run/user/1000/ctrnet",
    pidFile: "/run/user/1000/ctrnet/pause.pid",
    lockFile: "/run/user/1000/ctrnet/pause.lock",
  });
  expect(pauseFiles({}, 1001).pidFile).toBe("/run/user/1001/ctrnet/pause.pid");
});

test("a pid file holds one pid; anything else reads as none", () => {
  const file = join(dir, "pause.pid");
  for (const [text, pid] of [["1234\n", 1234], ["  77 ", 77], ["0\n", undefined], ["-5", undefined], ["12ab", undefined], ["", undefined]] as const) {
    writeFileSync(file, text);
    expect(readPausePid(file)).toBe(pid);
  }
  expect(readPausePid(join(dir, "missing"))).toBeUndefined();
});
