// crun 1.8 run by a user keeps the container's process undumpable until it execs the container's
// program: while createRuntime runs, not even the container's own user may open /proc/PID/ns/*, so a
// rootless hook cannot reach the container's netns from the host as it does for runc. The createContainer
// hook can be reached: the runtime runs it inside the container's namespaces as a fresh process of the
// same user, whose /proc/PID/ns/* are open. So:
//
//  1. createRuntime (on the host) binds a unix socket in the user's runtime dir, named by the container
//     id, and leaves a waiter (`ctrnet _hook-wait`) holding it; it exits at once, as the runtime waits.
//  2. createContainer (in the container) connects and stays connected.
//  3. The waiter takes the peer's pid from SO_PEERCRED, checks it is a child of the container's process,
//     runs ctrnet's createRuntime again in that process's user namespace, reaching the netns through
//     /proc/PEER/ns/net (CTRNET_HOOK_HOLDER), and sends back the exit status and everything it wrote.
//  4. createContainer prints that and exits with that status, so the runtime sees the failure as runc's
//     user does: the network is made before the container's program starts, or the container fails.
import { mkdirSync, readFileSync, rmSync, statSync, writeSync } from "../../ffi/fs.ts";
import { dirname } from "node:path";
import { isSysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";
import { CtrnetError, errorMessage, exitCodeOf } from "../errors.ts";
import { log } from "../log.ts";
import { startTimeOf } from "../process/supervise.ts";
import { rendezvousPath } from "../state/waiter-sockets.ts";
import { selfCommand } from "../rootless/self.ts";
import type { BundleConfig, OciState } from "../schema/oci.ts";
import { runInContainerUserNamespace, writeAll } from "./user-namespace.ts";

export { rendezvousPath } from "../state/waiter-sockets.ts";

/** The environment variable that tells the re-run which process's netns to configure the container's through. */
export const HOLDER_ENV = "CTRNET_HOOK_HOLDER";

/** How long the waiter waits for createContainer; the runtime calls it right after createRuntime. */
const WAIT_MS = 60_000;
/** How often the waiter looks whether the container's process is still there. */
const POLL_MS = 250;
/** The listening socket's fd in the waiter. */
const LISTEN_FD = 3;

/** True when config.json runs `ctrnet … hook createContainer`, which the rendezvous needs. */
export function hasCreateContainerHook(config: BundleConfig): boolean {
  return (config.hooks?.createContainer ?? []).some((h) => {
    const args = h.args ?? [];
    const at = args.indexOf("hook");
    return at >= 0 && args[at + 1] === "createContainer";
  });
}

/** The holder pid the waiter set for a re-run, or undefined. */
export function holderFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): number | undefined {
  const text = env[HOLDER_ENV];
  if (text === undefined || text === "") return undefined;
  const pid = Number(text);
  if (!/^[1-9][0-9]*$/.test(text) || !Number.isSafeInteger(pid)) throw new CtrnetError(`${HOLDER_ENV}: expected a process id, got "${text}"`);
  return pid;
}

export function listen(path: string): number {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  rmSync(path, { force: true });
  let address: Uint8Array;
  try {
    address = libc.unixAddress(path);
  } catch {
    throw new CtrnetError(`socket path ${path} is longer than a unix socket allows; use a shorter CTRNET_ROOT`);
  }
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
  try {
    libc.bind(fd, address);
    libc.listen(fd, 4);
    return fd;
  } catch (err) {
    libc.close(fd);
    throw err;
  }
}

/**
 * createRuntime's part: binds the socket and starts the waiter on it, with the state on its stdin and
 * `argv` (this hook call's arguments) to run again. Detached: the runtime waits for this hook to end.
 */
export function startWaiter(runtimeDir: string, state: OciState, stateText: string, argv: string[]): void {
  const path = rendezvousPath(runtimeDir, state.id);
  const listenFd = listen(path);
  // The state goes through a memfd, read from its start, so nothing waits on a pipe reader.
  const memfd = libc.memfdCreate("ctrnet-hook-state");
  let stdin = -1;
  try {
    writeAll(memfd, stateText);
    stdin = libc.open(`/proc/self/fd/${memfd}`, libc.O_RDONLY | libc.O_CLOEXEC);
    const child = Bun.spawn([...selfCommand(), "_hook-wait", path, "--", ...argv], {
      cwd: state.bundle,
      // Given whole: Bun.spawn's default is the environment this process started with, without the PATH runHook adds.
      env: { ...process.env },
      stdio: [stdin, "ignore", "ignore", listenFd],
      detached: true,
    });
    child.unref();
    log.debug(`container "${state.id}": its netns is closed until createContainer; waiter ${child.pid} on ${path}`);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  } finally {
    libc.close(memfd);
    if (stdin >= 0) libc.close(stdin);
    libc.close(listenFd);
  }
}

function parentPid(pid: number): number | undefined {
  try {
    const m = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

function reply(conn: number, status: number, text: string): void {
  try {
    writeAll(conn, `${status}\n${text}`);
  } catch (err) {
    log.debug(`cannot answer the createContainer hook: ${errorMessage(err)}`);
  }
}

/** A connection from a child of the container's process (its createContainer hook), or undefined when it is gone or too late. */
export function acceptHolder(listenFd: number, containerPid: number, path?: string): { conn: number; pid: number } | undefined {
  const timeout = BigInt(POLL_MS) * 1000n;
  libc.setsockopt(listenFd, libc.SOL_SOCKET, libc.SO_RCVTIMEO, new Uint8Array(new BigInt64Array([timeout / 1_000_000n, timeout % 1_000_000n]).buffer));
  const deadline = Date.now() + WAIT_MS;
  // A container that failed is a zombie until someone reaps it, and its pid may come back as another's.
  const started = startTimeOf(containerPid);
  // A second createRuntime (or prestart) for the container replaces the socket: its waiter takes over.
  const socket = path === undefined ? undefined : inodeOf(path);
  const ours = () => path === undefined || inodeOf(path) === socket;
  while (Date.now() < deadline && started !== undefined && startTimeOf(containerPid) === started && ours()) {
    let conn: number;
    try {
      conn = libc.accept(listenFd);
    } catch (err) {
      if (isSysError(err, "EAGAIN") || isSysError(err, "EINTR")) continue;
      throw err;
    }
    const peer = libc.peerCredentials(conn);
    if (parentPid(peer.pid) === containerPid) return { conn, pid: peer.pid };
    reply(conn, 2, `ctrnet: error: process ${peer.pid} is not a hook of the container's process ${containerPid}\n`);
    libc.close(conn);
  }
  return undefined;
}

/**
 * The waiter (`ctrnet _hook-wait PATH ARGV…`): fd 3 listens at PATH, the state is on stdin. Runs `ARGV` in
 * the user namespace of the createContainer hook that connects, and answers it. Returns its own exit status.
 */
export async function runWaiter(path: string, argv: string[], state: OciState, stateText: string): Promise<number> {
  let found: { conn: number; pid: number } | undefined;
  const socket = inodeOf(path);
  try {
    found = acceptHolder(LISTEN_FD, state.pid ?? 0, path);
  } finally {
    libc.close(LISTEN_FD);
    // only our own: a later waiter's socket stays
    if (socket !== undefined && inodeOf(path) === socket) rmSync(path, { force: true });
  }
  if (!found) {
    log.debug(`container "${state.id}": no createContainer hook came; its process is gone or it took over ${WAIT_MS} ms`);
    return 1;
  }
  const output = libc.memfdCreate("ctrnet-hook-output");
  try {
    let status: number;
    let text: string;
    try {
      status = await runInContainerUserNamespace(found.pid, argv, stateText, { output, env: { [HOLDER_ENV]: String(found.pid) } });
      text = readFileSync(`/proc/self/fd/${output}`, "utf8");
    } catch (err) {
      status = exitCodeOf(err);
      text = `ctrnet: error: ${errorMessage(err)}\n`;
    }
    reply(found.conn, status, text);
    return status;
  } finally {
    libc.close(output);
    libc.close(found.conn);
  }
}

function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(16 * 1024);
  for (;;) {
    let n: number;
    try {
      n = libc.read(fd, buf);
    } catch (err) {
      if (isSysError(err, "EINTR")) continue;
      throw err;
    }
    if (n === 0) return Buffer.concat(chunks).toString("utf8");
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

/**
 * createContainer's part: when createRuntime left a waiter for this container, hands it this process (and
 * with it the container's namespaces) and waits for its answer; prints what the re-run wrote and returns its
 * exit status. Undefined when there is no waiter: runc, root, or a runtime whose netns createRuntime reached;
 * an error when there was one and it is gone.
 */
export function handOver(runtimeDir: string, id: string): number | undefined {
  const path = rendezvousPath(runtimeDir, id);
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
  try {
    try {
      libc.connect(fd, libc.unixAddress(path));
    } catch (err) {
      if (isSysError(err, "ENOENT")) return undefined;
      if (!isSysError(err, "ECONNREFUSED")) throw err;
      // A waiter was left for this container and is gone (killed): its network will never be made.
      rmSync(path, { force: true });
      throw new CtrnetError(`container "${id}" gets no network: the waiter createRuntime left for it is gone (nothing listens on ${path})`);
    }
    const answer = readAll(fd);
    const newline = answer.indexOf("\n");
    const status = Number(answer.slice(0, newline));
    if (newline < 0 || !Number.isInteger(status)) throw new CtrnetError(`the waiter at ${path} ended without setting up container "${id}"`);
    if (newline + 1 < answer.length) writeSync(2, answer.slice(newline + 1));
    return status;
  } finally {
    libc.close(fd);
  }
}
