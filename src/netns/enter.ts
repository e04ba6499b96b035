import * as libc from "../../ffi/libc.ts";
import { log } from "../log.ts";
import { errorMessage } from "../errors.ts";
import { openNetns } from "./open.ts";

/**
 * Puts this thread back into the namespace `original` refers to. Going on in the wrong namespace would
 * put every later socket, link and child of this process there, so a failure ends the process.
 */
export function restoreNamespaceOrExit(original: number, nstype: number, what: string): void {
  try {
    libc.setns(original, nstype);
  } catch (err) {
    log.error(`cannot return to the original ${what}: ${errorMessage(err)}`);
    process.exit(1);
  }
}

function isThenable(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/**
 * Runs fn with this thread in the network namespace `target` (an fd, or a path opened with openNetns),
 * and returns to the original one afterwards, also when fn throws. Namespaces are per thread: only work
 * that fn does synchronously (including a synchronous Bun.spawn, Bun.connect or Bun.listen) happens
 * inside, so fn must not be async.
 */
export function withNetns<T>(target: number | string, fn: () => T): T {
  const targetFd = typeof target === "number" ? target : openNetns(target);
  try {
    const original = libc.open("/proc/thread-self/ns/net", libc.O_RDONLY);
    let result: T;
    try {
      libc.setns(targetFd, libc.CLONE_NEWNET);
      try {
        result = fn();
      } finally {
        restoreNamespaceOrExit(original, libc.CLONE_NEWNET, "network namespace");
      }
    } finally {
      libc.close(original);
    }
    if (isThenable(result)) throw new TypeError("withNetns: fn returned a promise; only its synchronous part ran in the namespace");
    return result;
  } finally {
    if (typeof target === "string") libc.close(targetFd);
  }
}
