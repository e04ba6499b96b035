// Cross-process exclusive locks on files, for work that spans awaits and so cannot sit inside a database
// transaction: each container's lock (held by every command that changes the container, for its whole run,
// across the awaits of CNI plugins), and the locks of the networks, the rootless netns and the pause process.
// `gc` only tries a container's: a record whose lock it gets while the record is still `creating` or
// `removing` was left by a process that died. withLockSync is the blocking twin, for short synchronous
// sections shared with other programs (host-local's allocation lock).
import { fstatSync, mkdirSync, statSync, unlinkSync } from "../../ffi/fs.ts";
import { join, resolve } from "node:path";
import { isSysError } from "../../ffi/errno.ts";
import { close, flock, LOCK_EX, LOCK_NB, O_CREAT, O_RDONLY, O_RDWR, open } from "../../ffi/libc.ts";

/**
 * flock locks belong to an open file description, so two opens in this process would contend like two
 * processes; waiters of this process queue here and only one of them at a time goes to the file.
 */
const queues = new Map<string, Promise<void>>();

const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 50;

/**
 * One attempt (created 0600 if missing; its directory must exist). The lock is ours only if the file we
 * locked is still the one at `path`: the last holder of a removed container unlinks it before letting go.
 */
function attempt(path: string): number | undefined {
  const fd = open(path, O_RDWR | O_CREAT, 0o600);
  try {
    flock(fd, LOCK_EX | LOCK_NB);
  } catch (err) {
    close(fd);
    if (isSysError(err, "EAGAIN")) return undefined;
    throw err;
  }
  let current: number | undefined;
  try {
    current = statSync(path).ino;
  } catch {
    current = undefined;
  }
  if (current === fstatSync(fd).ino) return fd;
  close(fd);
  return attempt(path);
}

export interface HeldLock {
  /** Deletes the lock file, for the last holder of a thing that is gone. */
  discard(): void;
  release(): void;
}

function held(path: string, fd: number): HeldLock {
  let open = true;
  return {
    discard() {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
    release() {
      // Closing the only descriptor drops the lock; O_CLOEXEC (set by open) kept it out of any child.
      if (open) close(fd);
      open = false;
    },
  };
}

/**
 * Runs fn holding the lock at path, waiting for other holders without blocking the event loop (a
 * blocking flock would stop everything else this process serves), and releases it however fn ends.
 * Not re-entrant: fn must not take the same lock again.
 */
export async function withHeldLock<T>(path: string, fn: (lock: HeldLock) => T | Promise<T>): Promise<T> {
  const key = resolve(path);
  const before = queues.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => {
    done = r;
  });
  queues.set(key, mine);
  await before;
  try {
    let fd = attempt(key);
    for (let delay = FIRST_RETRY_MS; fd === undefined; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
      await Bun.sleep(delay);
      fd = attempt(key);
    }
    const lock = held(key, fd);
    try {
      return await fn(lock);
    } finally {
      lock.release();
    }
  } finally {
    if (queues.get(key) === mine) queues.delete(key);
    done();
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

export function withLock<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  return withHeldLock(path, () => fn());
}

/** The lock, or undefined when another holder (here or in another process) has it. */
export function tryLock(path: string): HeldLock | undefined {
  const key = resolve(path);
  if (queues.has(key)) return undefined;
  const fd = attempt(key);
  return fd === undefined ? undefined : held(key, fd);
}

function containerLockPath(runtimeDir: string, id: string): string {
  const dir = join(runtimeDir, "locks");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, id);
}

/** Runs fn holding container id's lock. */
export function withContainerLock<T>(ctx: { readonly runtimeDir: string }, id: string, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  return withHeldLock(containerLockPath(ctx.runtimeDir, id), fn);
}

export function tryContainerLock(ctx: { readonly runtimeDir: string }, id: string): HeldLock | undefined {
  return tryLock(containerLockPath(ctx.runtimeDir, id));
}
