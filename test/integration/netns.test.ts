// Namespace primitives, as root inside the runner's private net+mount namespace, in a netns dir of our own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, fstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSysError, SysError } from "../../ffi/errno.ts";
import { launch } from "../../ffi/launcher.ts";
import * as libc from "../../ffi/libc.ts";
import { UsageError } from "../../src/errors.ts";
import {
  adoptNetns,
  createNetns,
  currentNetnsId,
  listNetns,
  NetnsNotFoundError,
  NotANetnsError,
  openNetns,
  removeNetns,
  spawnInNetns,
} from "../../src/netns/index.ts";
import { makeScratch, scratchPath } from "../helpers/scratch.ts";

const dir = scratchPath("ctrnet-netns-");
// Set for this file only (files share one process); the leak check in test/preload.ts watches it too.
const savedNetnsDir = process.env.CTRNET_NETNS_DIR;
process.env.CTRNET_NETNS_DIR = dir;

beforeAll(() => makeScratch(dir));

afterAll(() => {
  try {
    libc.umount2(dir, libc.MNT_DETACH);
  } catch {
    // never made a mount point: no test got as far as creating a namespace
  }
  rmSync(dir, { recursive: true, force: true });
  if (savedNetnsDir === undefined) delete process.env.CTRNET_NETNS_DIR;
  else process.env.CTRNET_NETNS_DIR = savedNetnsDir;
});

let counter = 0;
const unique = (base: string): string => `${base}-${process.pid}-${++counter}`;

function mountsAt(path: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line.split(" ")[4] === path);
}

const netnsIdOf = (path: string): string => `net:[${statSync(path).ino}]`;

/** argv run in the namespace at path by nsenter, to completion; its stdout. */
function inNetns(path: string, argv: string[]): string {
  const r = Bun.spawnSync(["nsenter", `--net=${path}`, ...argv], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}

/** Creates a namespace for one test and removes it afterwards, whatever the test did. */
function withTempNetns(fn: (ns: { name: string; path: string }) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const ns = createNetns({ name: unique("t") });
    try {
      await fn(ns);
    } finally {
      if (existsSync(ns.path)) removeNetns(ns.name);
    }
  };
}

describe("createNetns", () => {
  test(
    "mounts a new network namespace at DIR/NAME",
    withTempNetns((ns) => {
      expect(ns.path).toBe(join(dir, ns.name));
      expect(mountsAt(ns.path).length).toBe(1);
      expect(mountsAt(ns.path)[0]).toContain(" - nsfs ");
      expect(netnsIdOf(ns.path)).not.toBe(currentNetnsId());
      expect(listNetns()).toContain(ns.name);
    }),
  );

  test(
    "leaves loopback down and adds nothing else, like ip netns add",
    withTempNetns((ns) => {
      const links = inNetns(ns.path, ["ip", "-o", "link"]);
      const lines = links.trim().split("\n");
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(/^1: lo: <LOOPBACK> .* state DOWN /);
    }),
  );

  test("without a name picks a random cni-… name", () => {
    const a = createNetns();
    const b = createNetns();
    try {
      expect(a.name).toMatch(/^cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(a.name).not.toBe(b.name);
      expect(a.path).toBe(join(dir, a.name));
    } finally {
      removeNetns(a.name);
      removeNetns(b.path);
    }
  });

  test(
    "refuses an existing name and leaves that namespace alone",
    withTempNetns((ns) => {
      const before = netnsIdOf(ns.path);
      const err = thrown(() => createNetns({ name: ns.name }));
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(`network namespace "${ns.name}" already exists`);
      expect(netnsIdOf(ns.path)).toBe(before);
      expect(mountsAt(ns.path).length).toBe(1);
    }),
  );

  test("refuses invalid names before creating anything, not even the directory", () => {
    const fresh = join(dir, "fresh");
    for (const name of ["../x", "", "a/b", ".hidden", "-x"]) {
      expect(() => createNetns({ name, dir: fresh })).toThrow(UsageError);
    }
    expect(existsSync(fresh)).toBe(false);
  });

  test("never moves this thread: another thread enters the new namespace and stays there", () => {
    const before = currentNetnsId();
    const ns = createNetns({ name: unique("thread") });
    try {
      expect(currentNetnsId()).toBe(before);
      expect(netnsIdOf(ns.path)).not.toBe(before);
    } finally {
      removeNetns(ns.name);
    }
  });

  test(
    "makes the netns directory a shared mount of itself, so namespaces propagate",
    withTempNetns(() => {
      const [line] = mountsAt(dir);
      expect(line).toBeDefined();
      expect(line!.split(" - ")[0]).toMatch(/ shared:\d+/);
    }),
  );

  test("processes that prepare a new netns dir at once bind it onto itself once", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "ctrnet-netns-race-"));
    const module = join(import.meta.dir, "../../src/netns/dir.ts");
    try {
      // each starts at the same moment, after its (slower) start-up
      const at = Date.now() + 400;
      const script = `import { prepareNetnsDir } from ${JSON.stringify(module)}; while (Date.now() < ${at}); prepareNetnsDir(${JSON.stringify(fresh)});`;
      const racers = Array.from({ length: 6 }, () => Bun.spawn([process.execPath, "-e", script], { stderr: "pipe" }));
      const codes = await Promise.all(racers.map((r) => r.exited));
      expect(codes).toEqual(codes.map(() => 0));
      expect(mountsAt(fresh)).toHaveLength(1);
    } finally {
      while (mountsAt(fresh).length) libc.umount2(fresh, libc.MNT_DETACH);
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

describe("removeNetns", () => {
  test("unmounts and deletes, leaving no mount and no file", () => {
    const ns = createNetns({ name: unique("rm") });
    removeNetns(ns.name);
    expect(mountsAt(ns.path)).toEqual([]);
    expect(existsSync(ns.path)).toBe(false);
    expect(listNetns()).not.toContain(ns.name);
  });

  test("a missing name is a UsageError", () => {
    const err = thrown(() => removeNetns("no-such-netns"));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('network namespace "no-such-netns" does not exist');
  });

  test("removes a leftover file that was never mounted", () => {
    const path = join(dir, unique("leftover"));
    writeFileSync(path, "");
    removeNetns(path);
    expect(existsSync(path)).toBe(false);
  });
});

describe("removeNetns safety", () => {
  test("never unmounts what is not a namespace", () => {
    const source = join(dir, unique("source"));
    const target = join(dir, unique("target"));
    writeFileSync(source, "");
    writeFileSync(target, "");
    libc.mount(source, target, null, libc.MS_BIND);
    try {
      expect(() => removeNetns(target)).toThrow();
      expect(mountsAt(target).length).toBe(1);
    } finally {
      libc.umount2(target);
      rmSync(source, { force: true });
      rmSync(target, { force: true });
    }
  });
});

describe("adoptNetns", () => {
  test("keeps a process's network namespace after the process is gone", async () => {
    const child = launch({ argv: ["sleep", "60"], unshare: ["net"] });
    let ns: { name: string; path: string } | undefined;
    try {
      const expected = readlinkSync(`/proc/${child.pid}/ns/net`);
      ns = adoptNetns(child.pid, { name: unique("adopt") });
      expect(netnsIdOf(ns.path)).toBe(expected);
      child.kill("SIGKILL");
      await child.exited;
      expect(inNetns(ns.path, ["readlink", "/proc/self/ns/net"]).trim()).toBe(expected);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
      if (ns) removeNetns(ns.name);
    }
  });

  test("a process that does not exist is a NetnsNotFoundError, and nothing is created", () => {
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    const name = unique("ghost");
    const err = thrown(() => adoptNetns(pidMax + 1, { name }));
    expect(err).toBeInstanceOf(NetnsNotFoundError);
    expect((err as Error).message).toBe(`network namespace of process ${pidMax + 1} does not exist`);
    expect(existsSync(join(dir, name))).toBe(false);
  });
});

describe("openNetns", () => {
  test(
    "returns a close-on-exec fd of the namespace",
    withTempNetns((ns) => {
      const fd = openNetns(ns.path);
      try {
        expect(libc.fcntl(fd, libc.F_GETFD) & libc.FD_CLOEXEC).toBe(libc.FD_CLOEXEC);
        expect(`net:[${fstatSync(fd).ino}]`).toBe(netnsIdOf(ns.path));
      } finally {
        libc.close(fd);
      }
    }),
  );

  test("tells a missing path from something that is not a network namespace", () => {
    expect(() => openNetns(join(dir, "missing"))).toThrow(NetnsNotFoundError);
    const plain = join(dir, unique("plain"));
    writeFileSync(plain, "");
    try {
      expect(() => openNetns(plain)).toThrow(NotANetnsError);
    } finally {
      rmSync(plain);
    }
    expect(() => openNetns("/proc/self/ns/mnt")).toThrow("is not a network namespace: it is another kind of namespace");
    expect(() => openNetns("/proc/self/ns/net")).not.toThrow();
  });
});

describe("listNetns", () => {
  test("lists names sorted, and nothing for a missing directory", () => {
    const names = [unique("b"), unique("a"), unique("c")];
    for (const name of names) createNetns({ name });
    try {
      const listed = listNetns().filter((n) => names.includes(n));
      expect(listed).toEqual([...names].sort());
    } finally {
      for (const name of names) removeNetns(name);
    }
    expect(listNetns(join(dir, "nowhere"))).toEqual([]);
  });
});

describe("spawnInNetns", () => {
  test(
    "runs like ip netns exec: the namespace, its /sys, its /etc overrides; ours stay as they were",
    withTempNetns(async (ns) => {
      const etc = mkdtempSync(join(tmpdir(), "ctrnet-etc-"));
      mkdirSync(join(etc, "netns", ns.name), { recursive: true });
      writeFileSync(join(etc, "hosts"), "host file\n");
      writeFileSync(join(etc, "netns", ns.name, "hosts"), "netns file\n");
      const mountsBefore = readFileSync("/proc/self/mountinfo", "utf8");
      const mntBefore = readlinkSync("/proc/thread-self/ns/mnt");
      const cwdBefore = process.cwd();
      const [r, w] = libc.pipe2();
      try {
        const script = `cat ${etc}/hosts; ls /sys/class/net; readlink /proc/self/ns/net; pwd`;
        let child;
        try {
          child = spawnInNetns(ns.name, ["sh", "-c", script], { etcDir: etc, stdio: ["ignore", w, "inherit"] });
        } finally {
          libc.close(w);
        }
        const [out, status] = await Promise.all([Bun.file(r).text(), child.exited]);
        expect(status).toEqual({ code: 0, signal: null });
        expect(out.split("\n")).toEqual(["netns file", "lo", netnsIdOf(ns.path), cwdBefore, ""]);
        expect(readFileSync(join(etc, "hosts"), "utf8")).toBe("host file\n");
        expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(mountsBefore);
        expect(readlinkSync("/proc/thread-self/ns/mnt")).toBe(mntBefore);
        expect(process.cwd()).toBe(cwdBefore);
      } finally {
        libc.close(r);
        rmSync(etc, { recursive: true, force: true });
      }
    }),
  );

  test("a missing namespace is named as given", () => {
    expect(() => spawnInNetns("no-such-netns", ["true"])).toThrow('network namespace "no-such-netns" does not exist');
  });

  test(
    "etcFiles win over the overrides; an override that cannot be bound is skipped",
    withTempNetns(async (ns) => {
      const etc = mkdtempSync(join(tmpdir(), "ctrnet-etc-"));
      mkdirSync(join(etc, "netns", ns.name), { recursive: true });
      writeFileSync(join(etc, "hosts"), "host file\n");
      writeFileSync(join(etc, "netns", ns.name, "hosts"), "netns file\n");
      // no ETC/missing to bind over
      writeFileSync(join(etc, "netns", ns.name, "missing"), "x\n");
      writeFileSync(join(etc, "container-hosts"), "container file\n");
      const [r, w] = libc.pipe2();
      try {
        let child;
        try {
          child = spawnInNetns(ns.name, ["cat", join(etc, "hosts")], {
            etcDir: etc,
            etcFiles: { hosts: join(etc, "container-hosts") },
            stdio: ["ignore", w, "ignore"],
          });
        } finally {
          libc.close(w);
        }
        const [out, status] = await Promise.all([Bun.file(r).text(), child.exited]);
        expect(status).toEqual({ code: 0, signal: null });
        expect(out).toBe("container file\n");
      } finally {
        libc.close(r);
        rmSync(etc, { recursive: true, force: true });
      }
    }),
  );

  test(
    "an etcFile that cannot be bound stops the launch, naming the mount",
    withTempNetns((ns) => {
      const etc = mkdtempSync(join(tmpdir(), "ctrnet-etc-"));
      try {
        const err = thrown(() => spawnInNetns(ns.name, ["true"], { etcDir: etc, etcFiles: { "resolv.conf": join(etc, "absent") } }));
        expect(err).toBeInstanceOf(SysError);
        expect((err as Error).message).toBe(`mount ${join(etc, "absent")} on ${join(etc, "resolv.conf")}: no such file or directory (ENOENT)`);
      } finally {
        rmSync(etc, { recursive: true, force: true });
      }
    }),
  );

  test(
    "a command that cannot be found fails at execve with ENOENT",
    withTempNetns((ns) => {
      const err = thrown(() => spawnInNetns(ns.name, ["no-such-command-ctrnet"]));
      expect(isSysError(err, "ENOENT")).toBe(true);
      expect((err as SysError).syscall).toBe("execve");
    }),
  );

  test("this process's own namespace is not entered again, only a new mount namespace is made", async () => {
    const [r, w] = libc.pipe2();
    try {
      let child;
      try {
        child = spawnInNetns("/proc/self/ns/net", ["readlink", "/proc/self/ns/net", "/proc/self/ns/mnt"], { stdio: ["ignore", w, "inherit"] });
      } finally {
        libc.close(w);
      }
      const [out, status] = await Promise.all([Bun.file(r).text(), child.exited]);
      expect(status).toEqual({ code: 0, signal: null });
      const [net, mnt] = out.split("\n");
      expect(net).toBe(currentNetnsId());
      expect(mnt).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    } finally {
      libc.close(r);
    }
  });
});
