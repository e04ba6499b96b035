// The DNS server, which outlives the command that starts it, starts at a lower priority: its start-up (a
// runtime's, some ms of CPU) then yields to the attach of the container that started it, and to the next
// command's, instead of competing with them on a busy machine. It takes the normal priority back once it
// is ready. (The supervisor is not niced: it must notice a helper's death and restart it at once.)
// The helper lowers its priority itself, first thing (main.ts), when its environment asks for it: a
// setpriority from the starter after its spawn returned could come after a helper that had started quickly
// on a busy machine took the normal priority back, and leave it niced for good (measured: 9 of 30 servers
// still at nice 10 a second after create returned, at load 4-8).
import { readdirSync } from "../../ffi/fs.ts";
import { getpriority, setpriority } from "../../ffi/libc.ts";

/** The nice value of a helper while it starts. */
export const STARTUP_NICE = 10;

/** In the environment of a helper that is to start niced (main.ts looks for it by this name). */
const START_NICE_ENV = "CTRNET_START_NICE";

/** For the starter: the environment for a helper that starts niced. */
export function startNicedEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...env, [START_NICE_ENV]: String(STARTUP_NICE) };
}

/**
 * For the helper at its start, when its environment asks for it: every thread at STARTUP_NICE. The variable
 * is removed, so that what it starts in turn starts at its own priority.
 */
export function startNiced(): void {
  if (process.env[START_NICE_ENV] === undefined) return;
  delete process.env[START_NICE_ENV];
  setEveryThread(STARTUP_NICE);
}

/**
 * For the helper: the normal priority back (root may lower its nice value) for each of its threads, since
 * a nice value is a thread's on Linux and the runtime's threads were made from the niced main thread.
 * Nothing to do for one that started at it; a rootless user's, not allowed to, keeps the one it was given.
 */
export function restorePriority(): void {
  if (getpriority() <= 0) return;
  setEveryThread(0);
}

function setEveryThread(nice: number): void {
  // A thread the runtime starts meanwhile from a thread not set yet (mimalloc's scavenger, seen so) starts
  // at that one's value: looked for again until a pass finds none.
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
        if (getpriority(Number(tid)) === nice) continue;
        setpriority(Number(tid), nice);
        changed = true;
      } catch {
        // not allowed, or the thread is gone
      }
    }
    if (!changed) return;
  }
}
