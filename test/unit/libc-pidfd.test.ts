// pidfd_open and poll, which the helper supervisor waits on: a pidfd turns readable when its process
// exits, and not before.
import { describe, expect, test } from "bun:test";
import { isSysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";

describe("pidfd", () => {
  test("readable once the process exits, not before", async () => {
    const child = Bun.spawn(["sleep", "60"], { stdio: ["ignore", "ignore", "ignore"] });
    const fd = libc.pidfdOpen(child.pid);
    try {
      expect(libc.pollReadable([fd], 0)).toEqual([]);
      child.kill("SIGKILL");
      await child.exited;
      expect(libc.pollReadable([fd], 5000)).toEqual([0]);
    } finally {
      libc.close(fd);
    }
  });

  test("poll reports which of several is readable, and sleeps the timeout with none", () => {
    const [r1, w1] = libc.pipe2();
    const [r2, w2] = libc.pipe2();
    try {
      libc.write(w2, new Uint8Array([1]));
      expect(libc.pollReadable([r1, r2], 0)).toEqual([1]);
      expect(libc.pollReadable([], 1)).toEqual([]);
    } finally {
      for (const fd of [r1, w1, r2, w2]) libc.close(fd);
    }
  });

  test("a pid that does not exist is ESRCH", () => {
    let err: unknown;
    try {
      libc.pidfdOpen(2 ** 22 + 1);
    } catch (e) {
      err = e;
    }
    expect(isSysError(err, "ESRCH")).toBe(true);
  });
});
