// One lock per container id, held by every command that changes the container (create, rm, connect,
// disconnect, reload) for its whole run, across the awaits of CNI plugins. `gc` only tries it: a record
// whose lock it gets while the record is still `creating` or `removing` was left by a process that died.
import { fstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { isSysError } from "../../ffi/errno.ts";
import { close, flock, LOCK_EX, LOCK_NB, O_CREAT, O_RDWR, open } from "../../ffi/libc.ts";
import type { Context } from "./context.ts";

const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 50;

/** flock locks belong to open file descriptions: waiters of this process queue here before going to the file. */
const queues = new Map<string, Promise<void>>();

function lockPath(ctx: Context, id: string): string {
  const dir = join(ctx.runtimeDir, "locks");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, id);
}

/**
 * One attempt: the lock is ours only if the file we locked is still the one at `path`, since the holder
 * of a removed container unlinks it before letting go.
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

export interface ContainerLock {
  /** Deletes the lock file, for the last holder of a container that is gone. */
  discard(): void;
  release(): void;
}

function held(path: string, fd: number): ContainerLock {
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
      if (open) close(fd);
      open = false;
    },
  };
}

/** The lock, or undefined when another process holds it. */
export function tryContainerLock(ctx: Context, id: string): ContainerLock | undefined {
  const path = lockPath(ctx, id);
  if (queues.has(path)) return undefined;
  const fd = attempt(path);
  return fd === undefined ? undefined : held(path, fd);
}

/** Runs fn holding the container's lock, waiting (without blocking the event loop) for other holders. */
export async function withContainerLock<T>(ctx: Context, id: string, fn: (lock: ContainerLock) => Promise<T>): Promise<T> {
  const path = lockPath(ctx, id);
  const before = queues.get(path) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => {
    done = r;
  });
  queues.set(path, mine);
  await before;
  try {
    let fd = attempt(path);
    for (let delay = FIRST_RETRY_MS; fd === undefined; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
      await Bun.sleep(delay);
      fd = attempt(path);
    }
    const lock = held(path, fd);
    try {
      return await fn(lock);
    } finally {
      lock.release();
    }
  } finally {
    if (queues.get(path) === mine) queues.delete(path);
    done();
  }
}
