// The launcher needs no privilege: new user namespaces are open to every user on the kernels we target.
import { describe, expect, test } from "bun:test";
import { fstatSync, readFileSync, readlinkSync } from "node:fs";
import { isSysError, SysError } from "../../ffi/errno.ts";
import { launch, writeIdMaps, type LaunchedProcess, type LaunchOptions } from "../../ffi/launcher.ts";
import * as libc from "../../ffi/libc.ts";

/** Runs a child with stdout on a pipe; returns what it printed and how it ended. */
async function output(opts: LaunchOptions) {
  const [r, w] = libc.pipe2();
  let child: LaunchedProcess;
  try {
    child = launch({ ...opts, fds: { 1: w, ...opts.fds } });
  } finally {
    libc.close(w);
  }
  try {
    const [stdout, status] = await Promise.all([Bun.file(r).text(), child.exited]);
    return { stdout, status };
  } finally {
    libc.close(r);
  }
}

function launchError(opts: LaunchOptions): SysError {
  try {
    launch(opts).exited.catch(() => {});
  } catch (err) {
    if (err instanceof SysError) return err;
    throw err;
  }
  throw new Error("launch did not fail");
}

/** Alive and not a zombie: whoever inherits an orphan reaps it in its own time. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const pipeId = (fd: number): string => `pipe:[${fstatSync(fd).ino}]`;

describe("launch", () => {
  test("reports exit codes", async () => {
    expect(await launch({ argv: ["sh", "-c", "exit 7"] }).exited).toEqual({ code: 7, signal: null });
    expect(await launch({ argv: ["true"] }).exited).toEqual({ code: 0, signal: null });
  });

  test("reports death by signal, and kill() is false once the child is gone", async () => {
    const child = launch({ argv: ["sleep", "60"] });
    expect(child.kill("SIGKILL")).toBe(true);
    expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(child.kill()).toBe(false);
  });

  test("passes fds to the requested numbers, also when sources and targets overlap", async () => {
    const [pr, pw] = libc.pipe2();
    const [qr, qw] = libc.pipe2();
    const [lr, lw] = libc.pipe2(0); // inheritable in this process: must still not reach the child
    try {
      const fds = [3, 9, pw, qw, lw];
      const { stdout } = await output({
        argv: ["sh", "-c", 'for f in "$@"; do readlink /proc/self/fd/$f || echo closed; done', "sh", ...fds.map(String)],
        fds: { 3: pr, 9: qr, [pw]: qw, [qw]: pw },
      });
      expect(stdout.split("\n").filter(Boolean)).toEqual([pipeId(pr), pipeId(qr), pipeId(qw), pipeId(pw), "closed"]);
    } finally {
      for (const fd of [pr, pw, qr, qw, lr, lw]) libc.close(fd);
    }
  });

  test("feeds stdin, sets cwd and the environment", async () => {
    const [r, w] = libc.pipe2();
    libc.write(w, Buffer.from("from stdin\n"));
    libc.close(w);
    try {
      const { stdout } = await output({
        argv: ["sh", "-c", 'read line; echo "$line|$(pwd)|$GREETING|${HOME-unset}"'],
        env: { PATH: process.env.PATH, GREETING: "hello" },
        cwd: "/tmp",
        fds: { 0: r },
      });
      expect(stdout).toBe("from stdin|/tmp|hello|unset\n");
    } finally {
      libc.close(r);
    }
  });

  test("the child starts with no ignored or blocked signals (Bun ignores SIGPIPE)", async () => {
    const { stdout } = await output({ argv: ["cat", "/proc/self/status"] });
    expect(stdout).toMatch(/^SigIgn:\s+0+$/m);
    expect(stdout).toMatch(/^SigBlk:\s+0+$/m);
  });

  test("an execve failure is a SysError naming the step, not a pid", () => {
    const err = launchError({ argv: ["/nonexistent/program"] });
    expect(err.message).toBe("execve /nonexistent/program: no such file or directory (ENOENT)");
    expect(launchError({ argv: ["no-such-program-anywhere"] }).message).toBe(
      "execve no-such-program-anywhere: no such file or directory (ENOENT)",
    );
  });

  test("a chdir failure names the directory", () => {
    expect(launchError({ argv: ["true"], cwd: "/nonexistent" }).message).toBe(
      "chdir /nonexistent: no such file or directory (ENOENT)",
    );
  });

  test("a setns failure names the namespace", () => {
    const fd = libc.open("/proc/self/ns/net", libc.O_RDONLY);
    try {
      const err = launchError({ argv: ["true"], join: [{ fd, type: "user" }] });
      expect(err.message).toBe("setns user namespace: invalid argument (EINVAL)");
    } finally {
      libc.close(fd);
    }
  });

  test("a held child runs nothing until go(), and can be killed while held", async () => {
    const held = launch({ argv: ["true"], hold: true });
    expect(readlinkSync(`/proc/${held.pid}/exe`)).toBe(readlinkSync("/proc/self/exe"));
    expect(held.kill("SIGTERM")).toBe(true);
    expect(await held.exited).toEqual({ code: null, signal: "SIGTERM" });

    const released = launch({ argv: ["sh", "-c", "exit 3"], hold: true });
    released.go();
    expect(() => released.go()).toThrow("already released");
    expect(await released.exited).toEqual({ code: 3, signal: null });
  });

  test("pdeathsig kills the child when its parent dies", async () => {
    const script = `
      import { launch } from ${JSON.stringify(`${import.meta.dir}/../../ffi/launcher.ts`)};
      console.log(launch({ argv: ["sleep", "60"], pdeathsig: "SIGKILL" }).pid);`;
    const parent = Bun.spawnSync([process.execPath, "-e", script], { stderr: "pipe" });
    expect(parent.stderr.toString()).toBe("");
    const pid = Number(parent.stdout.toString().trim());
    expect(pid).toBeGreaterThan(0);
    for (let i = 0; i < 200 && isRunning(pid); i++) await Bun.sleep(10);
    expect(isRunning(pid)).toBe(false);
  });
});

describe("user namespaces", () => {
  const uid = libc.getuid();
  const gid = libc.getgid();
  const selfAsRoot = {
    uidMap: [{ inside: 0, outside: uid, count: 1 }],
    gidMap: [{ inside: 0, outside: gid, count: 1 }],
    setgroups: "deny" as const,
  };

  test("a child in a new user namespace with 0 mapped to our uid is root there", async () => {
    const [r, w] = libc.pipe2();
    try {
      const child = launch({ argv: ["sh", "-c", "id -u; id -g; cat /proc/self/uid_map"], unshare: ["user", "net"], hold: true, fds: { 1: w } });
      libc.close(w);
      writeIdMaps(child.pid, selfAsRoot);
      child.go();
      const [stdout, status] = await Promise.all([Bun.file(r).text(), child.exited]);
      expect(status).toEqual({ code: 0, signal: null });
      const [u, g, map] = stdout.split("\n");
      expect([u, g]).toEqual(["0", "0"]);
      expect(map!.trim().split(/\s+/)).toEqual(["0", String(uid), "1"]);
    } finally {
      libc.close(r);
    }
  });

  test("entering a namespace the new user namespace has no rights over fails with EPERM, naming it", async () => {
    const owner = launch({ argv: ["sleep", "60"], unshare: ["user"], hold: true });
    try {
      writeIdMaps(owner.pid, selfAsRoot);
      owner.go();
      const userns = libc.open(`/proc/${owner.pid}/ns/user`, libc.O_RDONLY);
      const netns = libc.open("/proc/self/ns/net", libc.O_RDONLY);
      try {
        // listed net first: the launcher still enters the user namespace first, and then lacks the rights
        const err = launchError({ argv: ["true"], join: [{ fd: netns, type: "net" }, { fd: userns, type: "user" }] });
        expect(isSysError(err, "EPERM")).toBe(true);
        expect(err.message).toBe("setns network namespace: operation not permitted (EPERM)");
      } finally {
        libc.close(userns);
        libc.close(netns);
      }
    } finally {
      owner.kill("SIGKILL");
      await owner.exited;
    }
  });
});
