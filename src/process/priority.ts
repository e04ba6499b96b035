// Helpers that outlive the command that starts them (the DNS server, the supervisor) start at a lower
// priority: their start-up (a runtime's, some ms of CPU on each side) then yields to the attach of the
// container that started them, and to the next command's, instead of competing with them on a busy
// machine. Each takes the normal priority back once it is ready, or once a command waits for it.
import { getPriority, setPriority } from "node:os";

/** The nice value of a helper while it starts. */
export const STARTUP_NICE = 10;

/** For the starting process: the child starts niced; gone already, or not allowed: at this one's priority. */
export function startNiced(pid: number): void {
  try {
    setPriority(pid, STARTUP_NICE);
  } catch {
    // it starts at this command's priority
  }
}

/**
 * For the helper: the normal priority back (root may lower its nice value). Nothing to do for one that
 * started at it; a rootless user's, not allowed to, keeps the priority it was given.
 */
export function restorePriority(): void {
  try {
    if (getPriority() > 0) setPriority(0);
  } catch {
    // not allowed
  }
}

/**
 * For a command about to wait on a helper it knows (its lock, its socket, its exit): the helper gets the
 * normal priority, so a start-up still niced does not hold up the command on a busy machine. Root only.
 */
export function hurry(pid: number): void {
  try {
    if (getPriority(pid) > 0) setPriority(pid, 0);
  } catch {
    // gone, or not allowed
  }
}
