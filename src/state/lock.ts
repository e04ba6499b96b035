// A cross-process exclusive lock on a file, for work that spans awaits and so cannot sit inside a
// database transaction (e.g. setting up or tearing down the shared rootless netns), and its blocking
// twin for short synchronous sections shared with other programs (host-local's allocation lock).
import { resolve } from "node:path";
import { isSysError } from "../../ffi/errno.ts";
import { close, flock, LOCK_EX, LOCK_NB, O_CREAT, O_RDONLY, O_RDWR, open } from "../../ffi/libc.ts";

/**
 * flock locks belong to an open file description, so two opens in this process would contend like two
 * processes; waiters of this process queue here and only one of them at a time goes to the file.
 */
const queues = new Map<string, Promise<void>>();

const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 100;

/**
 * Runs fn while holding an exclusive flock on path (created 0600 if missing; its directory must exist),
 * and releases it however fn ends. Not re-entrant: fn must not take the same lock again.
 */
export async function withLock<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  const key = resolve(path);
  const before = queues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => {
    release = r;
  });
  queues.set(key, mine);
  await before;
  try {
    const fd = await acquire(key);
    try {
      return await fn();
    } finally {
      // Closing the only descriptor drops the lock; O_CLOEXEC (set by open) kept it out of any child.
      close(fd);
    }
  } finally {
    if (queues.get(key) === mine) queues.delete(key);
    release();
  }
}

/** Paths a withLockSync call of this process is inside: a nested call would wait for itself forever. */
const heldSync = new Set<string>();

/**
 * Runs fn while holding an exclusive flock on path, waiting in flock itself: for short sections of
 * synchronous code, as the programs sharing the lock do (CNI's host-local blocks the same way), so a
 * waiter wakes as soon as the holder lets go. `mode` is for the file if this call creates it. Refuses a
 * path this process already holds, through either function, rather than deadlock on its own lock.
 */
export function withLockSync<T>(path: string, fn: () => T, mode = 0o600): T {
  const key = resolve(path);
  if (heldSync.has(key) || queues.has(key)) throw new Error(`lock ${key} is already held by this process`);
  const fd = open(key, O_RDONLY | O_CREAT, mode);
  heldSync.add(key);
  try {
    for (;;) {
      try {
        flock(fd, LOCK_EX);
        break;
      } catch (err) {
        if (!isSysError(err, "EINTR")) throw err;
      }
    }
    return fn();
  } finally {
    heldSync.delete(key);
    close(fd);
  }
}

/**
 * Polls with LOCK_NB instead of blocking in flock: a blocking call would stop this process's event loop,
 * and with it everything else the process serves, for as long as another process holds the lock.
 */
async function acquire(path: string): Promise<number> {
  const fd = open(path, O_RDWR | O_CREAT, 0o600);
  try {
    for (let delay = FIRST_RETRY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
      try {
        flock(fd, LOCK_EX | LOCK_NB);
        return fd;
      } catch (err) {
        if (!isSysError(err, "EAGAIN")) throw err;
      }
      await Bun.sleep(delay);
    }
  } catch (err) {
    close(fd);
    throw err;
  }
}
