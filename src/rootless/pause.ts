// The rootless namespace: a user namespace (the user as root, plus its subordinate ids) and a mount
// namespace, held open by a long-lived `ctrnet _pause` process whose pid is kept in
// $XDG_RUNTIME_DIR/ctrnet/pause.pid. Every ctrnet command of the user joins both (reexec.ts), so the netns
// files one invocation mounts are there for the next. As podman's pause process.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "../../ffi/fs.ts";
import { SIGNAL_NUMBERS } from "../../ffi/signals.ts";
import { join } from "node:path";
import { launch, type LaunchedProcess } from "../../ffi/launcher.ts";
import * as libc from "../../ffi/libc.ts";
import { CtrnetError, errorMessage } from "../errors.ts";
import type { ContainerState } from "../state/index.ts";
import { log } from "../log.ts";
import { listNetns } from "../netns/index.ts";
import { withLock } from "../state/lock.ts";
import { hostUid, inUserNamespace } from "../identity.ts";
import { writeNamespaceMaps } from "./idmap.ts";
import { selfCommand } from "./self.ts";

const PAUSE_COMMAND = "_pause";

export interface PauseFiles {
  dir: string;
  pidFile: string;
  /** Serialises starting and stopping, so concurrent first commands end up with one pause process. */
  lockFile: string;
}

/**
 * One per user, under $XDG_RUNTIME_DIR whatever --root or CTRNET_ROOT say: two pause processes would mean
 * two mount namespaces, each blind to the netns files mounted in the other.
 */
export function pauseFiles(env: Readonly<Record<string, string | undefined>> = process.env, uid = hostUid()): PauseFiles {
  const dir = join(env.XDG_RUNTIME_DIR || `/run/user/${uid}`, "ctrnet");
  return { dir, pidFile: join(dir, "pause.pid"), lockFile: join(dir, "pause.lock") };
}

/**
 * The environment of a ctrnet started inside the namespace. Bun's `cc` (ctrnet's C parts) writes its
 * headers to $BUN_TMPDIR/bun-cc-UID, read once at start-up; inside the namespace the uid reads 0, the
 * host's /tmp/bun-cc-0 belongs to root, and Bun falls back to a new /tmp directory per process that
 * nothing removes. A directory of the user's own, reused by every such process, avoids that. The same
 * holds for a hook re-run inside a rootless runtime's user namespace (src/hook/user-namespace.ts).
 */
export function namespaceEnv(files: PauseFiles = pauseFiles()): Record<string, string | undefined> {
  const tmp = join(files.dir, "tmp");
  try {
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
  } catch (err) {
    // No runtime dir of the user's (no login session): Bun's own fallback still works, only untidily.
    log.debug(`cannot make ${tmp} for Bun's compiler files: ${errorMessage(err)}`);
    return process.env;
  }
  return { ...process.env, BUN_TMPDIR: tmp };
}

export function readPausePid(pidFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, "utf8").trim();
  } catch {
    return undefined;
  }
  return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : undefined;
}

/** Real uid from /proc/PID/status, as seen from this process's user namespace. */
function processUid(pid: number): number | undefined {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^Uid:\s+(\d+)/m);
  return line ? Number(line[1]) : undefined;
}

/**
 * Whether pid is this user's pause process and not a recycled pid: same real uid, running `ctrnet
 * _pause`, and in a user namespace other than ours when we are outside it (the same one inside). A zombie
 * has an empty command line and no namespaces, so it never qualifies.
 */
function isPause(pid: number, seenFrom: "outside" | "inside"): boolean {
  try {
    if (processUid(pid) !== process.getuid?.()) return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (argv.at(-2) !== PAUSE_COMMAND) return false;
    const sameUserNs = readlinkSync(`/proc/${pid}/ns/user`) === readlinkSync("/proc/self/ns/user");
    return seenFrom === "inside" ? sameUserNs : !sameUserNs;
  } catch {
    return false;
  }
}

function prepareDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CtrnetError(
      `cannot create ${dir} for the rootless namespace: ${errorMessage(err)}; set XDG_RUNTIME_DIR to a directory of yours (normally /run/user/${hostUid()}, made at login)`,
    );
  }
}

function writePidFile(pidFile: string, pid: number): void {
  // rename is atomic: a reader sees the old pid or the new one, never a partial write
  const tmp = `${pidFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o600 });
  renameSync(tmp, pidFile);
}

/**
 * The new mount namespace keeps the mounts as they are: being owned by a less privileged user namespace,
 * its copies of shared mounts became slaves, so host mounts still arrive and what ctrnet mounts inside
 * (netns files) never reaches the host, while every ctrnet joining it sees the same mounts.
 */
async function startPause(): Promise<number> {
  const devNull = libc.open("/dev/null", libc.O_RDWR);
  let child: LaunchedProcess;
  try {
    // Its own session and /dev/null for stdio: it must not hold the caller's terminal or pipes open.
    child = launch({
      argv: [...selfCommand(), PAUSE_COMMAND],
      env: namespaceEnv(),
      cwd: "/",
      unshare: ["user", "mnt"],
      hold: true,
      setsid: true,
      fds: { 0: devNull, 1: devNull, 2: devNull },
    });
  } finally {
    libc.close(devNull);
  }
  try {
    await writeNamespaceMaps(child.pid);
    child.go();
  } catch (err) {
    child.kill("SIGKILL");
    await child.exited;
    throw new CtrnetError(`cannot set up the rootless namespace: ${errorMessage(err)}`, { cause: err });
  }
  log.debug(`started rootless namespace pause process ${child.pid}`);
  return child.pid;
}

/** The pid of this user's pause process, started (or started again, for a stale pid file) if needed. */
export async function ensurePause(files = pauseFiles()): Promise<number> {
  const known = readPausePid(files.pidFile);
  if (known !== undefined && isPause(known, "outside")) return known;
  prepareDir(files.dir);
  return withLock(files.lockFile, async () => {
    const current = readPausePid(files.pidFile);
    if (current !== undefined && isPause(current, "outside")) return current;
    if (current !== undefined) log.debug(`pause process ${current} of ${files.pidFile} is gone: starting another`);
    const pid = await startPause();
    writePidFile(files.pidFile, pid);
    return pid;
  });
}

/** Processes of ours in this user namespace other than this one and the pause process. */
function othersInNamespace(pausePid: number): number[] {
  const mine = readlinkSync("/proc/self/ns/user");
  return readdirSync("/proc").flatMap((entry) => {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || pid === pausePid) return [];
    try {
      // a zombie keeps its credentials, and with them its user namespace, but holds nothing any more
      return readlinkSync(`/proc/${pid}/ns/user`) === mine && alive(pid) ? [pid] : [];
    } catch {
      // another user's, or gone
      return [];
    }
  });
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

const STOP_TIMEOUT_MS = 5000;
const STOP_POLL_MS = 10;

/** Polls: the pause process is not our child, so there is nothing to wait on. */
async function stopProcess(pid: number): Promise<void> {
  for (const signal of [SIGNAL_NUMBERS.SIGTERM, SIGNAL_NUMBERS.SIGKILL]) {
    try {
      libc.kill(pid, signal);
    } catch {
      return;
    }
    for (const end = Date.now() + STOP_TIMEOUT_MS; Date.now() < end; await Bun.sleep(STOP_POLL_MS)) {
      if (!alive(pid)) return;
    }
  }
  throw new CtrnetError(`pause process ${pid} did not stop`);
}

/**
 * Stops the pause process when nothing needs the rootless namespace any more: no container record, no
 * file in the netns dir (its mount lives in this mount namespace only), and no other process of ours in
 * the user namespace. Called from inside it (`ctrnet gc`); true when the pause process was stopped.
 */
export async function stopPauseIfUnused(ctx: { readonly rootless: boolean; readonly netnsDir: string; state(): ContainerState }): Promise<boolean> {
  if (!ctx.rootless || !inUserNamespace()) return false;
  const files = pauseFiles();
  const known = readPausePid(files.pidFile);
  if (known === undefined || !isPause(known, "inside")) return false;
  return withLock(files.lockFile, async () => {
    const pid = readPausePid(files.pidFile);
    if (pid === undefined || !isPause(pid, "inside")) return false;
    if (ctx.state().list().length > 0 || listNetns(ctx.netnsDir).length > 0) return false;
    const others = othersInNamespace(pid);
    if (others.length > 0) {
      log.debug(`rootless namespace still in use by processes ${others.join(", ")}`);
      return false;
    }
    await stopProcess(pid);
    rmSync(files.pidFile, { force: true });
    rmSync(join(files.dir, "tmp"), { recursive: true, force: true });
    log.info(`stopped rootless namespace pause process ${pid}`);
    return true;
  });
}
