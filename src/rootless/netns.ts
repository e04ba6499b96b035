// The seed v3's rootless CNI namespace (GetRootlessCNINetNs, Cleanup): one network namespace per user,
// `rootless-netns` in the user's netns dir, where the CNI plugins of every rootless bridge container run
// and make their bridges, with a way out to the host's network (slirp4netns on tap0, or pasta, started by
// the function the caller hands in). Made by the first bridge attachment,
// removed once no CNI attachment of the user is cached any more. One lock serialises everything that
// touches it across ctrnet processes; it sits outside the namespace's directory, which goes with it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "../../ffi/fs.ts";
import { dirname, join } from "node:path";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { formatResolvConf, readHostEtc } from "../container/dns-files.ts";
import { bringLoopbackUp } from "../netlink/index.ts";
import { createNetns, netnsUsable, removeNetns } from "../netns/index.ts";
import { running, startTimeOf, stopByPid, type TrackedProcess } from "../process/supervise.ts";
import { readJsonFile, RootlessNetnsStateFile, WayOutProcessFile } from "../schema/state-files.ts";
import { withLock } from "../state/lock.ts";

export const ROOTLESS_NETNS_NAME = "rootless-netns";

/** Where one user's rootless netns and its files are. */
export interface RootlessNetnsPaths {
  /** The netns file, in the user's netns dir. */
  netns: string;
  /** resolv.conf, the plugins' /run, and state.json; removed with the namespace. */
  dir: string;
  lockFile: string;
}

/** The process that connects the namespace to the outside, and the addresses it gives it. */
export interface WayOut {
  /** slirp4netns or pasta, for messages and `rootless-netns info`. */
  program: string;
  pid: number;
  ip: string;
  prefixLength: number;
  gateway: string;
  /** A DNS forwarder to the host's resolver. */
  dns: string;
}

/**
 * Starts the way out in the netns at netnsPath, running on after this process (its own session, no exit
 * fd); onSpawn gets its pid the moment it exists, before it is ready.
 */
export type StartWayOut = (netnsPath: string, onSpawn: (pid: number, program: string) => void, program?: WayOutProgram) => Promise<WayOut>;

/** The programs a way out can be; a restart keeps the one written down. */
export type WayOutProgram = "slirp4netns" | "pasta";

export interface RootlessNetnsState {
  /** The way out's process, whichever program it is (the key is slirp4netns's, from before pasta). */
  slirp4netns: TrackedProcess;
  /** Absent in state written before pasta could be the way out: slirp4netns. */
  program?: string;
  ip: string;
  prefixLength: number;
  gateway: string;
  dns: string;
}

export function rootlessNetnsPaths(runtimeDir: string, netnsDir: string): RootlessNetnsPaths {
  return {
    netns: join(netnsDir, ROOTLESS_NETNS_NAME),
    dir: join(runtimeDir, ROOTLESS_NETNS_NAME),
    lockFile: join(runtimeDir, `${ROOTLESS_NETNS_NAME}.lock`),
  };
}

export const resolvConfPath = (paths: RootlessNetnsPaths): string => join(paths.dir, "resolv.conf");
/** Bound over /run for the plugins: iptables' xtables.lock and the plugins' own state are the user's there. */
export const pluginRunDir = (paths: RootlessNetnsPaths): string => join(paths.dir, "run");
const statePath = (paths: RootlessNetnsPaths): string => join(paths.dir, "state.json");

/** The state once the way out was ready; undefined before that, or without a namespace. */
export function readRootlessNetnsState(paths: RootlessNetnsPaths): RootlessNetnsState | undefined {
  return readJsonFile(() => readFileSync(statePath(paths), "utf8"), RootlessNetnsStateFile);
}

/** The way out's process as written down, ready or not. */
function wayOutProcess(paths: RootlessNetnsPaths): TrackedProcess | undefined {
  return readJsonFile(() => readFileSync(statePath(paths), "utf8"), WayOutProcessFile)?.slirp4netns;
}

/** The program of the way out written down; undefined before pasta could be one (slirp4netns) or without one. */
function wayOutProgram(paths: RootlessNetnsPaths): WayOutProgram | undefined {
  return readJsonFile(() => readFileSync(statePath(paths), "utf8"), WayOutProcessFile)?.program;
}

/** For messages. */
function wayOutName(paths: RootlessNetnsPaths): string {
  return `${wayOutProgram(paths) ?? "slirp4netns"} of the rootless netns`;
}

function writeState(paths: RootlessNetnsPaths, state: Partial<RootlessNetnsState>): void {
  writeFileSync(statePath(paths), JSON.stringify(state), { mode: 0o600 });
}

/** The nameserver is the way out's forwarder (slirp4netns's cidr + 3, pasta's --dns-forward); search domains and options stay the host's. */
function writeResolvConf(paths: RootlessNetnsPaths, dns: string): void {
  const host = readHostEtc().resolvConf;
  writeFileSync(resolvConfPath(paths), formatResolvConf({ nameservers: [dns], search: host.search, options: host.options }), { mode: 0o644 });
}

/** The way out outlives the ctrnet that starts it and is stopped by pid, written down the moment it exists. */
async function startSlirp(paths: RootlessNetnsPaths, start: StartWayOut, program?: WayOutProgram): Promise<RootlessNetnsState> {
  const slirp = await start(paths.netns, (pid, program) => writeState(paths, { slirp4netns: { pid, startTime: startTimeOf(pid) ?? "" }, program }), program);
  const startTime = startTimeOf(slirp.pid);
  if (startTime === undefined) throw new Error(`${slirp.program} (pid ${slirp.pid}) of the rootless netns exited right after it was ready`);
  const state: RootlessNetnsState = {
    slirp4netns: { pid: slirp.pid, startTime },
    program: slirp.program,
    ip: slirp.ip,
    prefixLength: slirp.prefixLength,
    gateway: slirp.gateway,
    dns: slirp.dns,
  };
  writeState(paths, state);
  return state;
}

/** Stops the way out (only the process written down), unmounts the namespace, removes the directory; every error. */
async function destroy(paths: RootlessNetnsPaths): Promise<unknown[]> {
  const errors: unknown[] = [];
  const proc = wayOutProcess(paths);
  if (proc) {
    try {
      await stopByPid(wayOutName(paths), proc);
    } catch (err) {
      errors.push(err);
    }
  }
  try {
    if (existsSync(paths.netns)) removeNetns(paths.netns);
  } catch (err) {
    errors.push(err);
  }
  if (errors.length === 0) rmSync(paths.dir, { recursive: true, force: true });
  return errors;
}

async function create(paths: RootlessNetnsPaths, start: StartWayOut): Promise<RootlessNetnsState> {
  log.debug(`creating the rootless netns ${paths.netns}`);
  try {
    if (existsSync(paths.netns)) removeNetns(paths.netns);
    createNetns({ name: ROOTLESS_NETNS_NAME, dir: dirname(paths.netns) });
    bringLoopbackUp(paths.netns);
    const state = await startSlirp(paths, start);
    writeResolvConf(paths, state.dns);
    return state;
  } catch (err) {
    const undo = await destroy(paths);
    for (const e of undo) log.error(`undoing the rootless netns: ${errorMessage(e)}`);
    throw err;
  }
}

/** Call with the lock held. A namespace that lost its way out gets a new one; its bridges stay. */
async function ensure(paths: RootlessNetnsPaths, start: StartWayOut): Promise<RootlessNetnsState> {
  mkdirSync(pluginRunDir(paths), { recursive: true, mode: 0o700 });
  const proc = wayOutProcess(paths);
  if (!netnsUsable(paths.netns)) {
    if (proc) await stopByPid(wayOutName(paths), proc);
    return create(paths, start);
  }
  const state = readRootlessNetnsState(paths);
  if (state && running(state.slirp4netns)) return state;
  // one that never became ready, left by a ctrnet that died meanwhile, makes way for a new one
  const name = wayOutName(paths);
  const written = wayOutProgram(paths);
  if (proc) await stopByPid(name, proc);
  log.warn(`${name} is gone; starting it again`);
  const fresh = await startSlirp(paths, start, written);
  writeResolvConf(paths, fresh.dns);
  return fresh;
}

/** Runs fn under the lock with the rootless netns there, made first if it is not. */
export async function withRootlessNetns<T>(paths: RootlessNetnsPaths, start: StartWayOut, fn: (state: RootlessNetnsState) => Promise<T>): Promise<T> {
  mkdirSync(dirname(paths.lockFile), { recursive: true, mode: 0o700 });
  return withLock(paths.lockFile, async () => fn(await ensure(paths, start)));
}

/**
 * For the helper supervisor: the way out of a rootless netns that is there and was ready, or undefined.
 * Not ready yet, or no namespace (also: a user namespace from which its mount is not visible), means
 * nothing to watch.
 */
export function wayOutToWatch(paths: RootlessNetnsPaths): TrackedProcess | undefined {
  return netnsUsable(paths.netns) ? readRootlessNetnsState(paths)?.slirp4netns : undefined;
}

/**
 * Starts the way out again (the same program) when its slirp4netns or pasta died while the namespace, and with it the bridges of the
 * user's containers, stays; true when it did. The bridges and their addresses are untouched.
 */
export async function restartWayOut(paths: RootlessNetnsPaths, start: StartWayOut): Promise<boolean> {
  const proc = wayOutToWatch(paths);
  if (proc === undefined || running(proc)) return false;
  mkdirSync(dirname(paths.lockFile), { recursive: true, mode: 0o700 });
  return withLock(paths.lockFile, async () => {
    // again under the lock: the last container may have taken the namespace away meanwhile
    const dead = wayOutToWatch(paths);
    if (dead === undefined || running(dead)) return false;
    const written = wayOutProgram(paths);
    log.warn(`${wayOutName(paths)} is gone; starting it again`);
    const fresh = await startSlirp(paths, start, written);
    writeResolvConf(paths, fresh.dns);
    return true;
  });
}

/**
 * Commands running inside the namespace that are no container (`unshare --rootless-netns`, podman's ref
 * count): one file per process, named by its pid, holding its start time. Beside the namespace's
 * directory, which goes with it.
 */
const usersDir = (paths: RootlessNetnsPaths): string => `${paths.dir}.users`;

/** Call with the lock held: the namespace stays while the process lives (or until removeUser). */
export function addUser(paths: RootlessNetnsPaths, pid: number): void {
  const startTime = startTimeOf(pid);
  if (startTime === undefined) return;
  mkdirSync(usersDir(paths), { recursive: true, mode: 0o700 });
  writeFileSync(join(usersDir(paths), String(pid)), startTime, { mode: 0o600 });
}

export function removeUser(paths: RootlessNetnsPaths, pid: number): void {
  rmSync(join(usersDir(paths), String(pid)), { force: true });
}

/** Whether a process written down as a user still runs; the files of those gone (killed) are removed. */
function hasUsers(paths: RootlessNetnsPaths): boolean {
  let names: string[];
  try {
    names = readdirSync(usersDir(paths));
  } catch {
    return false;
  }
  let live = false;
  for (const name of names) {
    const file = join(usersDir(paths), name);
    let startTime = "";
    try {
      startTime = readFileSync(file, "utf8").trim();
    } catch {
      // removed meanwhile
    }
    if (/^\d+$/.test(name) && running({ pid: Number(name), startTime })) live = true;
    else rmSync(file, { force: true });
  }
  if (!live) rmSync(usersDir(paths), { recursive: true, force: true });
  return live;
}

/**
 * The seed's Cleanup: once `inUse` says no attachment needs it any more, and no command runs inside it
 * (addUser), the namespace goes. Returns every error.
 */
export async function releaseRootlessNetns(paths: RootlessNetnsPaths, inUse: () => Promise<boolean>): Promise<unknown[]> {
  if (!existsSync(paths.dir) && !existsSync(paths.netns)) return [];
  mkdirSync(dirname(paths.lockFile), { recursive: true, mode: 0o700 });
  return withLock(paths.lockFile, async () => {
    if (hasUsers(paths) || (await inUse())) return [];
    log.debug(`removing the rootless netns ${paths.netns}: no container is attached any more`);
    return destroy(paths);
  });
}
