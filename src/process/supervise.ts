// Processes ctrnet started (slirp4netns, the port forwarder) or adopted (a container's first process),
// known by pid and start time rather than as children: whoever started one may be long gone when another
// ctrnet stops it. A pid is signalled only while its start time is the one written down, so a recycled
// pid is never killed, and a reused one never passes for the process that was adopted.
import { readdirSync, readFileSync, statSync } from "../../ffi/fs.ts";
import * as libc from "../../ffi/libc.ts";
import { SIGNAL_NUMBERS } from "../../ffi/signals.ts";
import { CtrnetError } from "../errors.ts";

export interface TrackedProcess {
  pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot at which the process started. */
  startTime: string;
}

const STOP_GRACE_MS = 3000;
const KILL_WAIT_MS = 5000;
const POLL_MS = 10;

/** The start time, or undefined when the process is gone or a zombie (it holds nothing any more). */
export function startTimeOf(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // the command name in parentheses may itself hold spaces and parentheses
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[0] === "Z" ? undefined : fields[19];
}

export function running(proc: TrackedProcess): boolean {
  return startTimeOf(proc.pid) === proc.startTime;
}

/** A pidfd blocks the thread at most this long at a time, so the event loop still turns while it waits. */
const PIDFD_SLICE_MS = 20;

/**
 * A pidfd of the process while it is the one tracked (opened first, then checked, so a pid recycled in
 * between is never watched), or undefined: gone, or no pidfd_open (Linux before 5.3).
 */
function pidfdOf(proc: TrackedProcess): number | undefined {
  let fd: number;
  try {
    fd = libc.pidfdOpen(proc.pid);
  } catch {
    return undefined;
  }
  if (running(proc)) return fd;
  libc.close(fd);
  return undefined;
}

/**
 * Whether it exited within ms. A pidfd turns readable the moment the last thread of the process is gone,
 * where polling /proc would see it only at its next look; without one, /proc is polled.
 */
async function exited(proc: TrackedProcess, ms: number, pidfd: number | undefined): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (pidfd === undefined) {
      if (!running(proc)) return true;
      await Bun.sleep(POLL_MS);
      continue;
    }
    if (libc.pollReadable([pidfd], Math.max(0, Math.min(PIDFD_SLICE_MS, end - Date.now()))).length) return true;
    await Bun.sleep(0);
  }
  return !running(proc);
}

/** Not our child (its parent exited long ago): there is nothing to wait on but its pidfd, or /proc. */
export async function stopByPid(name: string, proc: TrackedProcess): Promise<void> {
  const pidfd = pidfdOf(proc);
  try {
    for (const [signal, wait] of [["SIGTERM", STOP_GRACE_MS], ["SIGKILL", KILL_WAIT_MS]] as const) {
      if (!running(proc)) return;
      try {
        libc.kill(proc.pid, SIGNAL_NUMBERS[signal]);
      } catch {
        return;
      }
      if (await exited(proc, wait, pidfd)) return;
    }
  } finally {
    if (pidfd !== undefined) libc.close(pidfd);
  }
  throw new CtrnetError(`${name} (pid ${proc.pid}) did not stop, even on SIGKILL`);
}

/**
 * Waits (up to ms) until every thread of a stopped process has exited: its leader turns zombie while other
 * threads may still be exiting, and the files they share (a socket holding a port) close with the last one.
 * (After stopByPid, which waited on a pidfd, that is already so.)
 */
export async function threadsGone(pid: number, ms = 1000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(POLL_MS)) {
    try {
      if (readdirSync(`/proc/${pid}/task`).length <= 1 && startTimeOf(pid) === undefined) return;
    } catch {
      return;
    }
  }
}

/** A container's own process whose netns ctrnet adopted or joined: gc tears the container down once it is gone. */
export interface AdoptedProcess {
  pid: number;
  /** Inode of the netns it had when adopted: a pid reused by another process will not match it. */
  netnsInode: number;
  /**
   * Its start time (/proc/PID/stat), readable even where its netns is not (a rootless runtime's container,
   * seen from ctrnet's own user namespace); absent in records of older ctrnets.
   */
  startTime?: string;
}

/**
 * Still running, and still in the namespace it was adopted from (so not a reused pid). Its netns may be
 * closed to us: crun's container until it execs its program (under `crun create`, for as long as `crun
 * start` waits), and any rootless runtime's container as seen from ctrnet's own user namespace. Then the
 * start time alone tells it (or, in an older record without one, it is taken as running): gc must not
 * tear down a container that lives.
 */
export function processAlive(proc: AdoptedProcess): boolean {
  const startTime = startTimeOf(proc.pid);
  if (startTime === undefined || (proc.startTime !== undefined && startTime !== proc.startTime)) return false;
  try {
    return statSync(`/proc/${proc.pid}/ns/net`).ino === proc.netnsInode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "EACCES" || code === "EPERM";
  }
}
