// A rootless runtime run directly by a user (runc, crun) runs its hooks on the host as that user,
// while the container's netns belongs to the user namespace the runtime made for the container: only
// from inside that namespace may ctrnet configure it. So the hook runs itself again there (its mount
// namespace stays the host's, so paths and the user's runtime dir mean what they mean here), with the
// state it already read and checked on stdin. In there the user is root, and everything ctrnet starts
// (slirp4netns, the port forwarder) is born in the container's user namespace too. When the namespace
// cannot be opened yet (crun), the createContainer hook's process is reached instead (rendezvous.ts).
import { readFileSync } from "../../ffi/fs.ts";
import { isSysError, type SysError } from "../../ffi/errno.ts";
import { launch, type LaunchedProcess } from "../../ffi/launcher.ts";
import * as libc from "../../ffi/libc.ts";
import { CtrnetError } from "../errors.ts";
import { inUserNamespace, isInitialUserNamespace, parentId } from "../identity.ts";
import { namespaceEnv } from "../rootless/pause.ts";
import { selfCommand } from "../rootless/self.ts";
import { forwardSignals, standInStatus } from "../rootless/signals.ts";

/**
 * The pid whose user namespace the hook must run in: when this hook runs unprivileged outside any user
 * namespace and the container's process is in one (its uid map is not the initial one). Root, or a hook
 * already inside a user namespace (as podman runs it, or after the re-run), configures the netns where it is.
 */
export function containerUserNamespace(pid: number | undefined): number | undefined {
  if ((process.geteuid?.() ?? 0) === 0 || inUserNamespace() || !pid) return undefined;
  try {
    return isInitialUserNamespace(readFileSync(`/proc/${pid}/uid_map`, "utf8")) ? undefined : pid;
  } catch {
    return undefined;
  }
}

/**
 * False when the container's user namespace cannot be opened by its own user, as while crun 1.8 runs the
 * createRuntime hook (its process stays undumpable until it execs the container's program): then the
 * createContainer hook reaches it instead (rendezvous.ts). runc's is open.
 */
export function userNamespaceOpen(pid: number): boolean {
  try {
    libc.close(libc.open(`/proc/${pid}/ns/user`, libc.O_RDONLY));
    return true;
  } catch (err) {
    if (isSysError(err, "EACCES") || isSysError(err, "EPERM")) return false;
    throw err;
  }
}

function openUserNamespace(pid: number): number {
  try {
    return libc.open(`/proc/${pid}/ns/user`, libc.O_RDONLY);
  } catch (err) {
    throw new CtrnetError(`cannot open the user namespace of process ${pid}: ${(err as SysError).message}`, { cause: err });
  }
}

/** Only root in the namespace keeps its capabilities across the exec; a user mapped elsewhere would have none. */
function checkMappedToRoot(pid: number): void {
  const uid = process.geteuid?.() ?? 0;
  let map: string;
  try {
    map = readFileSync(`/proc/${pid}/uid_map`, "utf8");
  } catch (err) {
    throw new CtrnetError(`cannot read the uid map of the container's process ${pid}: ${(err as Error).message}`);
  }
  if (parentId(map, 0) !== uid) {
    throw new CtrnetError(
      `the user namespace of the container's process ${pid} does not map uid ${uid} to root, so ctrnet cannot configure its network namespace from inside it: map the runtime's user to container uid 0`,
    );
  }
}

/** The whole of `text` into fd; a reader that went early makes EPIPE, left for its exit status to explain. */
export function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  for (let off = 0; off < bytes.byteLength; ) {
    try {
      off += libc.write(fd, bytes.subarray(off));
    } catch (err) {
      if (isSysError(err, "EINTR")) continue;
      if (isSysError(err, "EPIPE")) return;
      throw err;
    }
  }
}

export interface ReRunOptions {
  /** The fd the re-run writes its stdout and stderr to (default: this process's own). */
  output?: number;
  /** Set in the re-run's environment on top of this process's. */
  env?: Record<string, string>;
}

/** Runs `ctrnet ARGV…` inside the user namespace of pid with `stateText` on stdin; returns its exit status. */
export async function runInContainerUserNamespace(pid: number, argv: string[], stateText: string, opts: ReRunOptions = {}): Promise<number> {
  checkMappedToRoot(pid);
  const [stdinRead, writeEnd] = libc.pipe2();
  let stdinWrite = writeEnd;
  let child: LaunchedProcess | undefined;
  const stopForwarding = forwardSignals(() => child);
  try {
    let userns: number | undefined;
    try {
      userns = openUserNamespace(pid);
      // stdout and stderr stay the runtime's, so the re-run's one-line error reaches it unchanged. It
      // dies with us, as a hook the runtime kills must; the helpers it leaves running are detached.
      child = launch({
        argv: [...selfCommand(), ...argv],
        env: { ...namespaceEnv(), ...opts.env },
        cwd: process.cwd(),
        join: [{ fd: userns, type: "user" }],
        fds: opts.output === undefined ? { 0: stdinRead } : { 0: stdinRead, 1: opts.output, 2: opts.output },
        pdeathsig: "SIGKILL",
      });
    } finally {
      if (userns !== undefined) libc.close(userns);
      libc.close(stdinRead);
    }
    writeAll(stdinWrite, stateText);
    libc.close(stdinWrite);
    stdinWrite = -1;
    return standInStatus(await child.exited);
  } finally {
    if (stdinWrite >= 0) libc.close(stdinWrite);
    stopForwarding();
  }
}
