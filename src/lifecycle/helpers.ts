// The helper processes of a container: slirp4netns or pasta, and the port forwarder. Each is written down the
// moment it exists (pid and start time), before it is even ready, so that whatever happens to the ctrnet
// that started it, some later `rm` or `gc` can stop it.
//
// Two lifetimes. `ctrnet run` holds their exit descriptors: they die with it, even by SIGKILL, and while
// it lives it stops them through the handles kept here. `ctrnet create` returns at once and nobody holds
// a descriptor: they run on their own, and `rm` or `gc` (other processes) stop them by pid. A pid is
// signalled only while its start time is the one written down: a recycled pid is never killed.
import { rmSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { CtrnetError } from "../errors.ts";
import { running, startTimeOf, stopByPid } from "../process/supervise.ts";
import { forgetHelperPids, helpersDir, readHelperPids, writeHelperPids } from "../state/ledger.ts";
import type { ContainerRecord, HelperKind } from "../state/index.ts";
import type { HelperHandle, HelperRegistry } from "../drivers/driver.ts";
import type { Context } from "./context.ts";

/** Stopped in this order: nothing forwards into a network that is already gone. */
const STOP_ORDER: readonly HelperKind[] = ["portForwarder", "slirp4netns", "pasta"];
/** Started (again) in this order: the network before what forwards into it. */
export const START_ORDER: readonly HelperKind[] = [...STOP_ORDER].reverse();

export const HELPER_NAMES: Record<HelperKind, string> = { slirp4netns: "slirp4netns", pasta: "pasta", portForwarder: "port forwarder" };
const NAMES = HELPER_NAMES;

/** Handles of the helpers this process started, by container id. */
const held = new Map<string, Partial<Record<HelperKind, HelperHandle>>>();

/** sun_path holds 108 bytes, the last a NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * slirp4netns's API socket for port_handler=slirp4netns. Named by a hash of the id: ids can be long,
 * and a socket path cannot.
 */
export function apiSocketPath(ctx: Context, id: string): string {
  const path = socketPath(ctx, id);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new CtrnetError(`slirp4netns API socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter --root`);
  }
  return path;
}

function socketPath(ctx: Context, id: string): string {
  return join(helpersDir(ctx), `${new Bun.CryptoHasher("sha256").update(id).digest("hex").slice(0, 16)}.sock`);
}

/** Writes the helper down; a process that is already gone needs no stopping and is not written. */
export function recordHelper(ctx: Context, id: string, kind: HelperKind, pid: number): void {
  const startTime = startTimeOf(pid);
  if (startTime === undefined) return;
  const ledger = { ...readHelperPids(ctx, id), [kind]: { pid, startTime } };
  writeHelperPids(ctx, id, ledger);
}

export function holdHelper(id: string, kind: HelperKind, handle: HelperHandle): void {
  held.set(id, { ...held.get(id), [kind]: handle });
}

/** A helper the record names that died: which one, and the line that says so. */
export interface Degradation {
  helper: HelperKind;
  /** e.g. `its slirp4netns (pid 123) is gone`, and why restarting it failed if it did. */
  reason: string;
}

/** The first helper the container's record names that is not running, or undefined when all are. */
export function degradation(ctx: Context, rec: ContainerRecord): Degradation | undefined {
  const ledger = readHelperPids(ctx, rec.id);
  for (const kind of START_ORDER) {
    const pid = rec.helpers[kind];
    if (pid === null) continue;
    const proc = ledger[kind];
    if (proc?.pid === pid ? running(proc) : startTimeOf(pid) !== undefined) continue;
    const failed = ledger.restarts?.[kind]?.error;
    return { helper: kind, reason: `its ${NAMES[kind]} (pid ${pid}) is gone${failed === undefined ? "" : `; restarting it failed: ${failed}`}` };
  }
  return undefined;
}

/** Why the container's network is broken, when a helper its record names has died; undefined otherwise. */
export function deadHelper(ctx: Context, rec: ContainerRecord): string | undefined {
  return degradation(ctx, rec)?.reason;
}

/** Whether the supervisor restarts the container's helpers when they die (not `ctrnet run`'s, which die with it). */
export function helpersSupervised(ctx: Context, id: string): boolean {
  return readHelperPids(ctx, id).supervisedIn !== undefined;
}

export interface HelperState {
  pid: number;
  running: boolean;
  /** How often the supervisor (or reload) started it again. */
  restarts: number;
  /** Milliseconds since the epoch. */
  lastRestart?: number;
  /** Why the last restart failed. */
  restartError?: string;
}

/** The container's helpers as the record names them, for inspect. */
export function helperStates(ctx: Context, rec: ContainerRecord): Partial<Record<HelperKind, HelperState>> {
  const ledger = readHelperPids(ctx, rec.id);
  const out: Partial<Record<HelperKind, HelperState>> = {};
  for (const kind of START_ORDER) {
    const pid = rec.helpers[kind];
    if (pid === null) continue;
    const proc = ledger[kind];
    const restarts = ledger.restarts?.[kind];
    out[kind] = {
      pid,
      running: proc?.pid === pid ? running(proc) : startTimeOf(pid) !== undefined,
      restarts: restarts?.count ?? 0,
      ...(restarts?.lastAt !== undefined ? { lastRestart: restarts.lastAt } : {}),
      ...(restarts?.error !== undefined ? { restartError: restarts.error } : {}),
    };
  }
  return out;
}

/**
 * Stops every helper of the container, through this process's handle or by pid, then forgets them and
 * removes the API socket. Returns every error; what could not be stopped stays written down, for `gc`.
 */
export async function stopHelpers(ctx: Context, id: string): Promise<unknown[]> {
  const errors: unknown[] = [];
  const ledger = readHelperPids(ctx, id);
  const handles = held.get(id) ?? {};
  for (const kind of STOP_ORDER) {
    try {
      const handle = handles[kind];
      const proc = ledger[kind];
      if (handle) await handle.stop();
      // another command (connect, disconnect) may have replaced the one this process started
      if (proc && proc.pid !== handle?.pid) await stopByPid(NAMES[kind], proc);
      delete handles[kind];
      delete ledger[kind];
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) {
    writeHelperPids(ctx, id, ledger);
    return errors;
  }
  held.delete(id);
  forgetHelperPids(ctx, id);
  rmSync(socketPath(ctx, id), { force: true });
  return errors;
}

/**
 * Stops the container's running helpers of these kinds by pid, and keeps them written down: gone, they
 * are what restartHelpers starts again (reload). Every error.
 */
export async function stopForRestart(ctx: Context, id: string, kinds: readonly HelperKind[]): Promise<unknown[]> {
  const ledger = readHelperPids(ctx, id);
  const errors: unknown[] = [];
  for (const kind of STOP_ORDER) {
    const proc = ledger[kind];
    if (!kinds.includes(kind) || proc === undefined) continue;
    try {
      await stopByPid(NAMES[kind], proc);
    } catch (err) {
      errors.push(err);
    }
  }
  return errors;
}

/** Stops the container's helper of one kind and forgets it, in the record too; every error. */
async function stopHelper(ctx: Context, id: string, kind: HelperKind): Promise<unknown[]> {
  const ledger = readHelperPids(ctx, id);
  const handles = held.get(id) ?? {};
  const handle = handles[kind];
  const proc = ledger[kind];
  if (!handle && !proc) return [];
  try {
    if (handle) await handle.stop();
    if (proc && proc.pid !== handle?.pid) await stopByPid(NAMES[kind], proc);
  } catch (err) {
    return [err];
  }
  delete handles[kind];
  delete ledger[kind];
  writeHelperPids(ctx, id, ledger);
  const state = ctx.state();
  if (state.find(id)?.id === id) state.update(id, (r) => ({ ...r, helpers: { ...r.helpers, [kind]: null } }));
  return [];
}

/** Where the drivers write down the helpers they start for container id: the ledger, the record, this process. */
export function helperRegistry(ctx: Context, id: string): HelperRegistry {
  return {
    spawned(kind, pid) {
      recordHelper(ctx, id, kind, pid);
      ctx.state().update(id, (r) => ({ ...r, helpers: { ...r.helpers, [kind]: pid } }));
    },
    started: (kind, handle: HelperHandle) => holdHelper(id, kind, handle),
    stop: (kind) => stopHelper(ctx, id, kind),
    apiSocket: () => apiSocketPath(ctx, id),
  };
}
