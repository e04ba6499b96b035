// Signal forwarding and the exit status of a process that stands in for its child (the re-executed
// ctrnet, `ctrnet unshare`).
import { signalExitStatus } from "../../ffi/signals.ts";

/** What a terminal, a runtime or a user may send to ctrnet and mean for the command it runs. */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;

/**
 * Passes each forwarded signal this process gets to target() instead of dying of it; returns the undo.
 * Install it before the child starts: handlers run from the event loop, so by the time one runs the
 * synchronous start has set target, and a signal sent while the child starts is passed on, not fatal.
 */
export function forwardSignals(target: () => { kill(signal: NodeJS.Signals): unknown } | undefined): () => void {
  const forward = (signal: NodeJS.Signals): void => void target()?.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  return () => {
    for (const s of FORWARDED) process.off(s, forward);
  };
}

/** The child's exit status as a shell reports it: its code, or 128 + the signal that killed it. */
export function standInStatus(status: { code: number | null; signal: NodeJS.Signals | null }): number {
  return status.signal === null ? (status.code ?? 1) : signalExitStatus(status.signal);
}
