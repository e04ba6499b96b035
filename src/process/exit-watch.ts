// Waiting for any of a set of processes that are not our children to exit (the helper supervisor's wait).
import { close, pidfdOpen, pollReadable } from "../../ffi/libc.ts";
import { running, type TrackedProcess } from "./supervise.ts";

/**
 * Waits for one of the watched processes to exit, through pidfds (no polling of /proc): each is opened
 * once and kept while its process is watched. Without pidfd_open (Linux before 5.3), the wait is the
 * whole timeout.
 */
/** How long a serving wait blocks the thread at a time: the longest a request waits for an answer. */
const SERVE_SLICE_MS = 50;

export class ExitWatch {
  private readonly fds = new Map<string, number>();

  /**
   * Returns when one of procs exits or timeoutMs has passed; blocks this thread meanwhile, or, with
   * `serving` (the process answers requests on its event loop), blocks it only for slices of SERVE_SLICE_MS
   * with the loop run between them, and not at all when no process is watched.
   */
  async wait(procs: readonly TrackedProcess[], timeoutMs: number, opts: { serving?: boolean } = {}): Promise<void> {
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
    const fds = [...this.fds.values()];
    if (!opts.serving) {
      pollReadable(fds, timeoutMs);
      return;
    }
    if (fds.length === 0) return Bun.sleep(timeoutMs);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (pollReadable(fds, Math.min(SERVE_SLICE_MS, Math.max(until - Date.now(), 0))).length) return;
      await Bun.sleep(1);
    }
  }
}

const key = (proc: TrackedProcess): string => `${proc.pid}/${proc.startTime}`;
