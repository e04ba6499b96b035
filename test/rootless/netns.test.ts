// Persistent network namespaces as a rootless user: the files live under $XDG_RUNTIME_DIR/netns and their
// mounts in the rootless mount namespace, which every later ctrnet invocation of the user joins.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ctrnetAsUser, pausePid, rootlessUser, stopPause, userProcesses, waitGone } from "../helpers/rootless.ts";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("ctrnet netns as a rootless user", () => {
  beforeAll(async () => {
    rootlessUser();
    await stopPause();
  });

  afterAll(async () => {
    ctrnetAsUser(["netns", "rm", "rootless-x"]);
    ctrnetAsUser(["netns", "rm", "rootless-y"]);
    await stopPause();
    expect(userProcesses()).toEqual([]);
  });

  test("add, exec, ls and rm across invocations, then gc stops the pause process", async () => {
    const { runtimeDir } = rootlessUser();
    const add = ctrnetAsUser(["netns", "add", "rootless-x"]);
    expect(add.stderr).toBe("");
    expect(add.stdout).toBe("rootless-x\n");
    expect(existsSync(join(runtimeDir, "netns", "rootless-x"))).toBe(true);

    const ls = ctrnetAsUser(["netns", "ls"]);
    expect(ls.stdout).toBe("rootless-x\n");

    // a namespace of its own, seen by a later invocation through the shared mount namespace
    const exec = ctrnetAsUser(["netns", "exec", "rootless-x", "sh", "-c", "ip -o link | cut -d: -f2; readlink /proc/self/ns/net"]);
    expect(exec.stderr).toBe("");
    const [links, netns] = [exec.stdout.split("\n").slice(0, -2), exec.stdout.split("\n").at(-2)];
    expect(links.map((l) => l.trim())).toEqual(["lo"]);
    const outside = ctrnetAsUser(["unshare", "readlink", "/proc/self/ns/net"]).stdout.trim();
    expect(netns).toMatch(/^net:\[\d+\]$/);
    expect(netns).not.toBe(outside);

    // the namespace in use keeps the pause process
    const pid = pausePid()!;
    expect(ctrnetAsUser(["gc"]).code).toBe(0);
    expect(pausePid()).toBe(pid);

    const rm = ctrnetAsUser(["netns", "rm", "rootless-x"]);
    expect(rm.stderr).toBe("");
    expect(rm.code).toBe(0);
    expect(ctrnetAsUser(["netns", "ls"]).stdout).toBe("");

    const gc = ctrnetAsUser(["gc"]);
    expect(gc.stderr).toBe("");
    expect(gc.code).toBe(0);
    expect(await waitGone(pid)).toBe(true);
    expect(userProcesses()).toEqual([]);
  });

  test("exec: a fresh namespace has only lo, down; netns files and mounts stay the user's", () => {
    expect(ctrnetAsUser(["netns", "add", "rootless-y"]).code).toBe(0);
    try {
      const r = ctrnetAsUser(["netns", "exec", "rootless-y", "ip", "-j", "link"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const links = JSON.parse(r.stdout) as { ifname: string; operstate: string; flags: string[] }[];
      expect(links.map((l) => l.ifname)).toEqual(["lo"]);
      expect(links[0]!.flags).not.toContain("UP");
      // a missing command is 127, as from a shell, also from inside the user namespace
      const missing = ctrnetAsUser(["netns", "exec", "rootless-y", "no-such-command"]);
      expect(missing).toEqual({ code: 127, stdout: "", stderr: 'ctrnet: error: cannot run "no-such-command": command not found\n' });
    } finally {
      expect(ctrnetAsUser(["netns", "rm", "rootless-y"]).code).toBe(0);
    }
  });

  test("run --network none: netlink brings lo up in the container's namespace, which goes away after", () => {
    const r = ctrnetAsUser(["run", "--network", "none", "--", "sh", "-c", "ip -j link; readlink /proc/self/ns/net"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [json, netns] = r.stdout.trim().split("\n");
    const links = JSON.parse(json!) as { ifname: string; flags: string[] }[];
    expect(links.map((l) => l.ifname)).toEqual(["lo"]);
    expect(links[0]!.flags).toContain("UP");
    expect(netns).not.toBe(ctrnetAsUser(["unshare", "readlink", "/proc/self/ns/net"]).stdout.trim());
    expect(ctrnetAsUser(["ls", "--format", "json"]).stdout.trim()).toBe("[]");
  });
});
