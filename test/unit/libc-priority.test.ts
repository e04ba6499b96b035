// getpriority/setpriority, which the DNS server's niced start uses in place of node:os's.
import { expect, test } from "bun:test";
import { getPriority } from "node:os";
import { getpriority, setpriority } from "../../ffi/libc.ts";
import { isSysError } from "../../ffi/errno.ts";

test("a thread's nice value reads as node:os reads it, and is set on another process", async () => {
  expect(getpriority()).toBe(getPriority());
  const child = Bun.spawn(["sleep", "5"]);
  try {
    setpriority(child.pid, 7);
    expect(getpriority(child.pid)).toBe(7);
    expect(getPriority(child.pid)).toBe(7);
  } finally {
    child.kill();
    await child.exited;
  }
});

test("a process that does not exist is ESRCH, not the nice value -1", () => {
  let err: unknown;
  try {
    getpriority(2 ** 22 + 1);
  } catch (e) {
    err = e;
  }
  expect(isSysError(err) && err.code).toBe("ESRCH");
  expect(() => setpriority(2 ** 22 + 1, 3)).toThrow(/setpriority/);
});
