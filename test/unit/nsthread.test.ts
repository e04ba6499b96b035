// The disposable namespace threads, as far as they go without privileges: their errors, and that the
// calling thread never moves.
import { describe, expect, test } from "bun:test";
import { readdirSync, readlinkSync } from "node:fs";
import { isSysError, SysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";
import { createNetnsAt, entersOnThisThread, socketInNetns } from "../../ffi/nsthread.ts";

const isRoot = process.getuid?.() === 0;
const here = (): string => readlinkSync("/proc/thread-self/ns/net");

function thrown(fn: () => unknown): SysError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SysError) return err;
    throw err;
  }
  throw new Error("expected a SysError");
}

describe("socketInNetns", () => {
  test("a bad fd fails at setns with EBADF", () => {
    const err = thrown(() => socketInNetns(-1, libc.AF_NETLINK, libc.SOCK_RAW, libc.NETLINK_ROUTE));
    expect(err.syscall).toBe("setns");
    expect(err.code).toBe("EBADF");
    expect(err.message).toBe("setns netns fd -1: bad file descriptor (EBADF)");
  });

  test("an fd that is not a namespace fails at setns with EINVAL", () => {
    const [r, w] = libc.pipe2();
    try {
      const err = thrown(() => socketInNetns(r, libc.AF_NETLINK, libc.SOCK_RAW, libc.NETLINK_ROUTE));
      expect(err.syscall).toBe("setns");
      expect(err.code).toBe("EINVAL");
    } finally {
      libc.close(r);
      libc.close(w);
    }
  });

  test("this thread stays where it was, whatever the thread did", () => {
    const before = here();
    const fd = libc.open("/proc/self/ns/net", libc.O_RDONLY);
    try {
      let sock = -1;
      try {
        sock = socketInNetns(fd, libc.AF_NETLINK, libc.SOCK_RAW, libc.NETLINK_ROUTE);
      } catch (err) {
        // unprivileged: setns needs CAP_SYS_ADMIN over the namespace, even over one's own
        expect(isRoot).toBe(false);
        expect(isSysError(err, "EPERM")).toBe(true);
      }
      if (sock >= 0) {
        expect(libc.fcntl(sock, libc.F_GETFD) & libc.FD_CLOEXEC).toBe(libc.FD_CLOEXEC);
        libc.close(sock);
      }
      expect(here()).toBe(before);
    } finally {
      libc.close(fd);
    }
  });

  test.skipIf(!isRoot)("a socket of an unknown family fails at socket, naming it", () => {
    const fd = libc.open("/proc/self/ns/net", libc.O_RDONLY);
    try {
      const err = thrown(() => socketInNetns(fd, 999, libc.SOCK_RAW, 0));
      expect(err.syscall).toBe("socket");
      expect(err.code).toBe("EAFNOSUPPORT");
      expect(err.message).toContain("domain 999");
    } finally {
      libc.close(fd);
    }
  });
});

describe("createNetnsAt", () => {
  test("an impossible namespace or mount point is a SysError naming the step, and this thread stays", () => {
    const before = here();
    const err = thrown(() => createNetnsAt("/nonexistent/ctrnet-netns"));
    // unprivileged, unshare refuses; as root the namespace is made and the mount finds no mount point
    if (isRoot) {
      expect(err.message).toBe("mount new network namespace on /nonexistent/ctrnet-netns: no such file or directory (ENOENT)");
    } else {
      expect(err.syscall).toBe("unshare");
      expect(err.code).toBe("EPERM");
    }
    expect(here()).toBe(before);
  });
});

describe("where the work runs", () => {
  test.skipIf(!isRoot)("root of the initial user namespace enters on the JS thread (no compile, no thread) and comes back", () => {
    expect(entersOnThisThread()).toBe(true);
    const before = here();
    const fd = libc.open("/proc/self/ns/net", libc.O_RDONLY);
    try {
      const threads = readdirSync("/proc/self/task").length;
      const sock = socketInNetns(fd, libc.AF_NETLINK, libc.SOCK_RAW, libc.NETLINK_ROUTE);
      libc.close(sock);
      expect(readdirSync("/proc/self/task").length).toBe(threads);
    } finally {
      libc.close(fd);
    }
    expect(here()).toBe(before);
  });

  test.skipIf(!isRoot)("inside a user namespace, where the JS thread could not come back to the host's netns, a C thread does it", () => {
    const script = `import { entersOnThisThread } from ${JSON.stringify(`${import.meta.dir}/../../ffi/nsthread.ts`)}; console.log(entersOnThisThread());`;
    const r = Bun.spawnSync(["unshare", "--user", "--map-root-user", process.execPath, "-e", script], { stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe("false\n");
  });
});
