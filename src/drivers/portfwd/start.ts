// The parent's side of `ctrnet _rootlessport`, after libpod's setupRootlessPortMappingViaRLK: config on stdin,
// the read end of an exit pipe as fd 3 (the parent keeps the write end; closing it, or dying, stops the
// forwarder), the write end of a ready pipe as fd 4, and a one-line error on the child's stdout. A detached
// forwarder holds the exit pipe's write end itself (as fd 5), so it outlives the parent and stops on SIGTERM.
import type { Subprocess } from "bun";
import * as libc from "../../../ffi/libc.ts";
import { CtrnetError } from "../../errors.ts";
import type { PortForward } from "../../schema/portfwd.ts";
import { validateConfig, type PortForwarderConfigInput } from "./config.ts";

export interface PortForwarderOptions extends PortForwarderConfigInput {
  /** The ctrnet executable to run as `BINARY [ARGS…] _rootlessport`. */
  binary: string;
  /** What goes between the binary and `_rootlessport`, e.g. the script when ctrnet runs from source. */
  args?: readonly string[];
  /** Outlive this process: stopped by stop() or SIGTERM to its pid, not by this process's death. */
  detached?: boolean;
  /** Called with the pid as soon as the process exists, before it is ready (see startSlirp4netns). */
  onSpawn?: (pid: number) => void;
  readyTimeoutMs?: number;
}

export interface PortForwarder {
  pid: number;
  /** Closes the exit fd (SIGTERM when detached) and waits for the forwarder to go (killing it if it lingers). Safe to call twice. */
  stop(): Promise<void>;
}

export type { PortForward };

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

type Forwarder = Subprocess<"pipe", "pipe", "pipe">;

/** Everything a stream yields until cancelled or ended; `cancel` releases it so the parent can exit. */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; cancel: () => Promise<void>; done: Promise<void> } {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const done = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  })().catch(() => {});
  return { text: () => text, cancel: () => reader.cancel(), done };
}

/** True once the child wrote to the ready fd; false at EOF (it exited or closed it without a word) or timeout. */
async function waitReady(fd: number, timeoutMs: number): Promise<boolean | "timeout"> {
  const reader = Bun.file(fd).stream().getReader();
  let timer: Timer | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    return await Promise.race([reader.read().then((r) => !r.done && r.value.byteLength > 0), timeout]);
  } finally {
    clearTimeout(timer);
    await reader.cancel();
  }
}

async function exitWithin(proc: Forwarder, ms: number): Promise<boolean> {
  let timer: Timer | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([proc.exited.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

/** Spawns the forwarder and resolves once every listener is bound; throws CtrnetError with its reason otherwise. */
export async function startPortForwarder(opts: PortForwarderOptions): Promise<PortForwarder> {
  const { binary, args = [], detached = false, onSpawn, readyTimeoutMs = READY_TIMEOUT_MS, ...input } = opts;
  const config = validateConfig(input);
  const [exitRead, exitWrite] = libc.pipe2();
  const [readyRead, readyWrite] = libc.pipe2();
  let proc: Forwarder;
  try {
    // Its own session, as podman's Setpgid: a ^C at the terminal must not take the ports down.
    proc = Bun.spawn([binary, ...args, "_rootlessport"], {
      stdio: ["pipe", "pipe", "pipe", exitRead, readyWrite, ...(detached ? [exitWrite] : [])],
      detached: true,
    }) as Forwarder;
  } catch (err) {
    libc.close(exitWrite);
    libc.close(readyRead);
    throw new CtrnetError(`cannot start the port forwarder ${binary}: ${(err as Error).message}`, { cause: err });
  } finally {
    // The child has its copies; the parent's would hide the child's death from both pipes.
    libc.close(exitRead);
    libc.close(readyWrite);
  }
  // Detached, the child holds the only write end left: the parent's copy would tie its life to ours.
  const ownExitWrite = detached ? undefined : exitWrite;
  if (detached) libc.close(exitWrite);
  const stdout = collect(proc.stdout);
  const stderr = collect(proc.stderr);
  const release = () => {
    if (ownExitWrite !== undefined) libc.close(ownExitWrite);
  };
  try {
    onSpawn?.(proc.pid);
  } catch (err) {
    release();
    libc.close(readyRead);
    proc.kill("SIGKILL");
    await proc.exited;
    throw err;
  }
  proc.stdin.write(JSON.stringify(config));
  await proc.stdin.end();

  let ready: boolean | "timeout";
  try {
    ready = await waitReady(readyRead, readyTimeoutMs);
  } finally {
    libc.close(readyRead);
  }

  if (ready !== true) {
    release();
    // A detached forwarder that failed exits by itself; one that hangs is killed below.
    if (ready === "timeout" || !(await exitWithin(proc, STOP_TIMEOUT_MS))) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    await Promise.all([stdout.done, stderr.done]);
    if (ready === "timeout") throw new CtrnetError(`port forwarder was not ready within ${readyTimeoutMs} ms`);
    const why = lastLine(stdout.text()) || lastLine(stderr.text()) || `exited with code ${proc.exitCode ?? proc.signalCode}`;
    throw new CtrnetError(`port forwarder: ${why}`);
  }

  // From here the forwarder lives on its own: nothing in this process waits for it.
  await Promise.all([stdout.cancel(), stderr.cancel()]);
  proc.unref();
  let stopping: Promise<void> | undefined;
  return {
    pid: proc.pid,
    stop: () =>
      (stopping ??= (async () => {
        if (ownExitWrite !== undefined) libc.close(ownExitWrite);
        else if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
        if (!(await exitWithin(proc, STOP_TIMEOUT_MS))) {
          proc.kill("SIGKILL");
          await proc.exited;
        }
      })()),
  };
}
