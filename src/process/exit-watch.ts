// Waiting for any of a set of processes that are not our children to exit (the helper supervisor's wait).
import { close, pidfdOpen, pollReadable } from "../../ffi/libc.ts";
import { running, type TrackedProcess } from "./supervise.ts";

/**
 * Waits for one of the watched processes to exit, through pidfds (no polling of /proc): each is opened
 * once and kept while its process is watched. The caller passes the processes it knows to run: one gone
 * by the time it waits ends the wait at once, and its pidfd (readable for ever) is let go of, so a
 * helper that stays dead never turns the wait into a busy loop. Without pidfd_open (Linux before 5.3),
 * a process cannot be watched and only the timeout or the other descriptors end the wait.
 */
export class ExitWatch {
  private readonly fds = new Map<string, number>();

  /** How many processes it holds a pidfd of. */
  get watching(): number {
    return this.fds.size;
  }

  /** Keeps a pidfd of each running process of procs, and of no other. */
  private track(procs: readonly TrackedProcess[]): void {
    const live = new Set(procs.filter(running).map(key));
    for (const [k, fd] of this.fds) {
      if (live.has(k)) continue;
      close(fd);
      this.fds.delete(k);
    }
    for (const proc of procs) {
      if (this.fds.has(key(proc)) || !live.has(key(proc))) continue;
      let fd: number;
      try {
        fd = pidfdOpen(proc.pid);
      } catch {
        continue;
      }
      // the pid may have been reused before it was opened, or the process be gone: then it is not watched
      if (running(proc)) this.fds.set(key(proc), fd);
      else close(fd);
    }
  }

  /**
   * Returns when one of procs exits, one of the descriptors `also` turns readable, or timeoutMs has
   * passed (-1: no limit): the indexes in `also` that are readable. The event loop runs once first (it
   * reaps the children this process started), then this thread blocks in poll(2): no wake-up but these.
   */
  async wait(procs: readonly TrackedProcess[], timeoutMs: number, also: readonly number[] = []): Promise<number[]> {
    this.track(procs);
    // one that exited since the caller looked: that is the event
    if (procs.some((p) => !running(p))) return [];
    await Bun.sleep(0);
    const exits = [...this.fds.values()];
    const ready = pollReadable([...also, ...exits], timeoutMs);
    return ready.filter((i) => i < also.length);
  }

  close(): void {
    for (const fd of this.fds.values()) close(fd);
    this.fds.clear();
  }
}

const key = (proc: TrackedProcess): string => `${proc.pid}/${proc.startTime}`;
