// The launcher against real namespaces, as root inside the runner's private net+mount namespace, and
// as the unprivileged user the rootless tests use, which is what the launcher exists for.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SysError } from "../../ffi/errno.ts";
import { launch, type LaunchOptions, type MountSpec, writeIdMaps } from "../../ffi/launcher.ts";
import * as libc from "../../ffi/libc.ts";
import { createNetns, openNetns, removeNetns } from "../../src/netns/index.ts";
import { rootlessUser, TEST_USER } from "../helpers/rootless.ts";
import { makeScratch, scratchPath } from "../helpers/scratch.ts";

const dir = scratchPath("ctrnet-launcher-");
// Set for this file only (files share one process); the leak check in test/preload.ts watches it too.
const savedNetnsDir = process.env.CTRNET_NETNS_DIR;
process.env.CTRNET_NETNS_DIR = dir;

beforeAll(() => makeScratch(dir));

afterAll(() => {
  try {
    libc.umount2(dir, libc.MNT_DETACH);
  } catch {
    // never made a mount point
  }
  rmSync(dir, { recursive: true, force: true });
  if (savedNetnsDir === undefined) delete process.env.CTRNET_NETNS_DIR;
  else process.env.CTRNET_NETNS_DIR = savedNetnsDir;
});

async function output(opts: LaunchOptions, beforeGo?: (pid: number) => void) {
  const [r, w] = libc.pipe2();
  let child;
  try {
    child = launch({ ...opts, fds: { 1: w }, hold: beforeGo !== undefined });
  } finally {
    libc.close(w);
  }
  try {
    beforeGo?.(child.pid);
    if (beforeGo) child.go();
    const [stdout, status] = await Promise.all([Bun.file(r).text(), child.exited]);
    return { stdout, status };
  } finally {
    libc.close(r);
  }
}

describe("launch into existing namespaces", () => {
  test("a child joining a network namespace sees that namespace", async () => {
    const ns = createNetns({ name: `launch-${process.pid}` });
    const fd = openNetns(ns.path);
    try {
      const { stdout, status } = await output({ argv: ["readlink", "/proc/self/ns/net"], join: [{ fd, type: "net" }] });
      expect(status).toEqual({ code: 0, signal: null });
      expect(stdout).toBe(`net:[${statSync(ns.path).ino}]\n`);
    } finally {
      libc.close(fd);
      removeNetns(ns.name);
    }
  });

  test("a child joining another child's user, network and mount namespaces", async () => {
    const owner = launch({ argv: ["sleep", "60"], unshare: ["user", "net", "mnt"], hold: true });
    const fds: number[] = [];
    try {
      writeIdMaps(owner.pid, { uidMap: [{ inside: 0, outside: 0, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }] });
      owner.go();
      const join = (["net", "mnt", "user"] as const).map((type) => {
        fds.push(libc.open(`/proc/${owner.pid}/ns/${type}`, libc.O_RDONLY));
        return { fd: fds.at(-1)!, type };
      });
      const { stdout } = await output({ argv: ["sh", "-c", "for t in user net mnt; do readlink /proc/self/ns/$t; done"], join });
      const expected = ["user", "net", "mnt"].map((t) => `${t}:[${statSync(`/proc/${owner.pid}/ns/${t}`).ino}]`);
      expect(stdout.trim().split("\n")).toEqual(expected);
    } finally {
      for (const fd of fds) libc.close(fd);
      owner.kill("SIGKILL");
      await owner.exited;
    }
  });
});

describe("launch into new user namespaces", () => {
  test("root maps itself and a whole range by writing uid_map and gid_map itself", async () => {
    const range = [
      { inside: 0, outside: 0, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ];
    const { stdout, status } = await output(
      { argv: ["sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map"], unshare: ["user", "net"] },
      (pid) => writeIdMaps(pid, { uidMap: range, gidMap: range }),
    );
    expect(status.code).toBe(0);
    const [uid, ...maps] = stdout.trim().split("\n");
    expect(uid).toBe("0");
    const rows = [
      ["0", "0", "1"],
      ["1", "100000", "65536"],
    ];
    expect(maps.map((m) => m.trim().split(/\s+/))).toEqual([...rows, ...rows]);
  });

  // The unprivileged user of the rootless suite (made on first use, with /etc/subuid and /etc/subgid ranges).
  test(`as ${TEST_USER}: a user namespace with newuidmap/newgidmap ranges, and a network namespace in it`, () => {
    const account = rootlessUser();
    const user = account.name;
    const script = `
      import { launch, newIdMap } from ${JSON.stringify(join(import.meta.dir, "../../ffi/launcher.ts"))};
      import * as libc from ${JSON.stringify(join(import.meta.dir, "../../ffi/libc.ts"))};
      import { readFileSync } from "node:fs";
      const name = ${JSON.stringify(user)};
      const range = (file) => {
        const [, start, count] = readFileSync(file, "utf8").split("\\n").find((l) => l.startsWith(name + ":")).split(":");
        return { inside: 1, outside: Number(start), count: Number(count) };
      };
      const child = launch({
        argv: ["sh", "-c", "id -u; id -g; wc -l < /proc/self/uid_map; ip -o link | wc -l"],
        unshare: ["user", "net"],
        hold: true,
      });
      await newIdMap("newuidmap", child.pid, [{ inside: 0, outside: libc.getuid(), count: 1 }, range("/etc/subuid")]);
      await newIdMap("newgidmap", child.pid, [{ inside: 0, outside: libc.getgid(), count: 1 }, range("/etc/subgid")]);
      child.go();
      const status = await child.exited;
      if (status.code !== 0) throw new Error(JSON.stringify(status));`;
    // -m keeps this environment: HOME on the user's runtime dir (the runner's private tmpfs), so Bun's
    // install cache never lands in the user's real home.
    const r = Bun.spawnSync(["runuser", "-m", "-u", user, "--", process.execPath, "-e", script], {
      cwd: "/",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: account.runtimeDir, BUN_TMPDIR: `${account.runtimeDir}/bun-tmp` },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString().split("\n")).toEqual(["0", "0", "2", "1", ""]);
    expect(r.exitCode).toBe(0);
  });
});

describe("mounts in the child's new mount namespace", () => {
  const mounts = (extra: MountSpec[]): MountSpec[] => [{ source: null, target: "/", flags: libc.MS_REC | libc.MS_SLAVE, fatal: true }, ...extra];

  test("are made in order before exec, and never seen by this process", async () => {
    const target = mkdtempSync(join(tmpdir(), "ctrnet-launcher-mnt-"));
    const mountsBefore = readFileSync("/proc/self/mountinfo", "utf8");
    try {
      const { stdout, status } = await output({
        argv: ["sh", "-c", `grep -c ' ${target} ' /proc/self/mountinfo; grep ' ${target} ' /proc/self/mountinfo | grep -o ' - [a-z]* '`],
        unshare: ["mnt"],
        mounts: mounts([
          { source: "tmpfs", target, fstype: "tmpfs", flags: 0, fatal: true },
          { source: "proc", target, fstype: "proc", flags: 0, replace: true, fatal: true },
        ]),
      });
      expect(status).toEqual({ code: 0, signal: null });
      // the tmpfs was detached by the replacing mount, so only proc is left
      expect(stdout).toBe("1\n - proc \n");
      expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(mountsBefore);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  test("a fatal failure stops the launch with the mount named; a non-fatal one is reported and the child runs", async () => {
    const warnings: string[] = [];
    const missing = join(dir, "missing");
    const fatal = (() => {
      try {
        launch({ argv: ["true"], unshare: ["mnt"], mounts: mounts([{ source: missing, target: "/tmp", flags: libc.MS_BIND, fatal: true }]) });
      } catch (err) {
        return err;
      }
    })();
    expect(fatal).toBeInstanceOf(SysError);
    expect((fatal as Error).message).toBe(`mount ${missing} on /tmp: no such file or directory (ENOENT)`);

    const { status } = await output({
      argv: ["true"],
      unshare: ["mnt"],
      mounts: mounts([{ source: missing, target: "/tmp", flags: libc.MS_BIND, fatal: false }]),
      onMountWarning: (err, m) => warnings.push(`${m.target}: ${err.message}`),
    });
    expect(status).toEqual({ code: 0, signal: null });
    expect(warnings).toEqual([`/tmp: mount ${missing} on /tmp: no such file or directory (ENOENT)`]);
  });
});
