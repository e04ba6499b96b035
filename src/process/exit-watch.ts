// Waiting for any of a set of processes that are not our children to exit (the helper supervisor's wait).
import { close, pidfdOpen, pollReadable } from "../../ffi/libc.ts";
import { running, type TrackedProcess } from "./supervise.ts";

/**
 * Waits for one of the watched processes to exit, through pidfds (no polling of /proc): each is opened
 * once and kept while its process is watched. Without pidfd_open (Linux before 5.3), the wait is the
 * whole timeout.
 */
export class ExitWatch {
  private readonly fds = new Map<string, number>();

  /** Returns when one of procs exits or timeoutMs has passed; blocks this thread meanwhile. */
  async wait(procs: readonly TrackedProcess[], timeoutMs: number): Promise<void> {
    const keys = new Set(procs.map(key));
    for (const [k, fd] of this.fds) {
      if (keys.has(k)) continue;
      close(fd);
      this.fds.delete(k);
    }
    for (const proc of procs) {
      if (this.fds.has(key(proc))) continue;
      let fd: number;
      try {
        fd = pidfdOpen(proc.pid);
      } catch {
        continue;
      }
      // the pid may have been reused before it was opened: then it is not the helper's, and never watched
      if (running(proc)) this.fds.set(key(proc), fd);
      else close(fd);
    }
    // The event loop runs once (reaping helpers this process restarted), then this thread blocks: the
    // supervisor has nothing else to do.
    await Bun.sleep(0);
    pollReadable([...this.fds.values()], timeoutMs);
  }
}

const key = (proc: TrackedProcess): string => `${proc.pid}/${proc.startTime}`;
