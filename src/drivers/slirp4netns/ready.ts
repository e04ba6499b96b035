// podman's waitForSync: a child that writes to its ready descriptor once it is set up. Unlike the seed,
// this notices the child's death at once instead of at the next timeout tick.
import { close } from "../../../ffi/libc.ts";

export type ReadyOutcome = "ready" | "exited" | "timeout";

/**
 * Waits for a byte on readyFd (the parent's read end; the child holds the only write end), for the child
 * to exit, or for the time limit. Takes ownership of readyFd and closes it.
 */
export async function waitForReady(readyFd: number, exited: Promise<unknown>, timeoutMs: number): Promise<ReadyOutcome> {
  const reader = Bun.file(readyFd).stream().getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      // End of file without a byte means every write end closed: the child is going away, and `exited`
      // settles the race with its status.
      reader.read().then(({ done }) => (done ? exited.then(() => "exited" as const) : ("ready" as const))),
      exited.then(() => "exited" as const),
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await reader.cancel();
    close(readyFd);
  }
}

/** Resolves true when promise settles within ms, false otherwise; leaves no timer behind either way. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
