// The DNS server, which outlives the command that starts it, starts at a lower priority: its start-up (a
// runtime's, some ms of CPU) then yields to the attach of the container that started it, and to the next
// command's, instead of competing with them on a busy machine. It takes the normal priority back once it
// is ready. (The supervisor is not niced: it must notice a helper's death and restart it at once.)
import { readdirSync } from "node:fs";
import { getpriority, setpriority } from "../../ffi/libc.ts";

/** The nice value of a helper while it starts. */
export const STARTUP_NICE = 10;

/** For the starting process: the child starts niced; gone already, or not allowed: at this one's priority. */
export function startNiced(pid: number): void {
  try {
    setpriority(pid, STARTUP_NICE);
  } catch {
    // it starts at this command's priority
  }
}

/**
 * For the helper: the normal priority back (root may lower its nice value) for each of its threads, since
 * a nice value is a thread's on Linux and the runtime's threads were made from the niced main thread.
 * Nothing to do for one that started at it; a rootless user's, not allowed to, keeps the one it was given.
 */
export function restorePriority(): void {
  if (getpriority() <= 0) return;
  // A thread the runtime starts meanwhile from a thread not restored yet (mimalloc's scavenger, seen so)
  // starts niced: looked for again until a pass finds none.
  for (let pass = 0; pass < 5; pass++) {
    let tids: string[];
    try {
      tids = readdirSync("/proc/self/task");
    } catch {
      tids = [String(process.pid)];
    }
    let changed = false;
    for (const tid of tids) {
      try {
        if (getpriority(Number(tid)) === 0) continue;
        setpriority(Number(tid), 0);
        changed = true;
      } catch {
        // not allowed, or the thread is gone
      }
    }
    if (!changed) return;
  }
}
