// The supervisor of helpers that outlive the command that made them (`ctrnet create`, the OCI hook):
// one `ctrnet _supervise` per state root and user namespace, started by the first such command that finds
// none running, gone by itself (or stopped by `rm` / `gc`) once no container of its needs it. Every
// SUPERVISE_TICK_MS it looks at the helpers written down for its containers (helpers/ID.json, marked
// `supervisedIn` its user namespace) and starts each one that died again through the container's driver,
// with the configuration the record keeps, under the container's lock (so never against an `rm`).
//
// Why this process and not another (see the notes in README): the pause process exists only in ctrnet's
// own rootless namespace (not for root, nor for a hook inside a rootless runtime's user namespace, where
// helpers must be restarted from), is one per user whatever the state root, and is what keeps every netns
// mount alive, so it must stay the smallest possible program; a supervisor per container would cost a
// process (about 20 MiB) per container and a spawn on every create; the forwarder cannot restart itself,
// and a container without ports has none. This one costs one process per user while helpers run, and no
// work on the create path beyond reading a pid file once it runs.
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { CtrnetError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { ExitWatch } from "../process/exit-watch.ts";
import { running, startTimeOf, stopByPid, threadsGone, type TrackedProcess } from "../process/supervise.ts";
import { wayOutToWatch } from "../rootless/netns.ts";
import { selfCommand } from "../rootless/self.ts";
import {
  containersWithHelpers,
  forgetSupervisor,
  type HelperPids,
  readHelperPids,
  readSupervisor,
  supervisorFiles,
  supervisorNamespaces,
  writeHelperPids,
  writeSupervisor,
} from "../state/ledger.ts";
import { tryContainerLock, withHeldLock, withLock } from "../state/lock.ts";
import type { Context } from "./context.ts";
import { START_ORDER } from "./helpers.ts";
import { PortHolder, syncHeldPorts } from "./port-holder.ts";
import { deadHelpers, restartHelpers } from "./restart.ts";

/**
 * The supervisor wakes when a watched helper exits (its pidfd turns readable), and at least this often to
 * pick up the helpers of containers created since (a death in that window is seen at the next round, so
 * a helper is still running again within 2 s: this, plus its own start of about 100 ms) and to retire.
 */
const ROUND_MS = 1000;
/** After a failed restart, the next attempt waits this long, doubling up to the maximum. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/** This process's user namespace, by inode: helpers born in it can only be restarted from inside it. */
export function userNamespaceId(): number {
  return statSync("/proc/self/ns/user").ino;
}

/** The containers whose helpers the supervisor of this user namespace restarts, with their ledgers. */
function supervisedContainers(ctx: Context, userns: number): { id: string; ledger: HelperPids }[] {
  return containersWithHelpers(ctx).flatMap((id) => {
    const ledger = readHelperPids(ctx, id);
    return ledger.supervisedIn === userns ? [{ id, ledger }] : [];
  });
}

/**
 * Hands the container's helpers to the supervisor of this process's user namespace, started if none
 * runs. A container whose helpers cannot be supervised still works: a warning says so, and `ls` shows it
 * degraded if one of them dies.
 */
export async function superviseHelpers(ctx: Context, id: string, opts: { holdPorts?: boolean } = {}): Promise<void> {
  const ledger = readHelperPids(ctx, id);
  // root: host ports DNATed to the container are held by the supervisor (see port-holder.ts)
  const holdPorts = !ctx.rootless && (opts.holdPorts ?? ledger.holdsPorts === true);
  const helpers = START_ORDER.some((kind) => ledger[kind]);
  if (!helpers && !holdPorts) return;
  const userns = userNamespaceId();
  if (ledger.supervisedIn !== userns || (holdPorts && !ledger.holdsPorts)) {
    writeHelperPids(ctx, id, { ...ledger, supervisedIn: userns, ...(holdPorts ? { holdsPorts: true } : {}) });
  }
  try {
    await ensureSupervisor(ctx, userns);
  } catch (err) {
    if (helpers) log.warn(`container ${id}: nothing will restart its helpers if they die: ${errorMessage(err)}`);
    if (holdPorts) log.warn(`container ${id}: nothing holds its host ports: ${errorMessage(err)}`);
    return;
  }
  if (holdPorts) for (const err of await syncHeldPorts(ctx, userns, id)) log.warn(`holding host ports: ${err}`);
}

/** After `rm` of a container whose ports were held: the supervisor, if it still runs, lets go of them before rm returns. */
export async function releaseHeldPorts(ctx: Context, id: string): Promise<void> {
  const userns = userNamespaceId();
  const known = readSupervisor(ctx, userns);
  if (!known || !running(known)) return;
  for (const err of await syncHeldPorts(ctx, userns, id)) log.warn(`holding host ports: ${err}`);
}

/** The variables that give a child ctrnet this command's directories. */
function contextEnv(ctx: Context): Record<string, string> {
  return { ...(process.env as Record<string, string>), ...ctx.childEnv };
}

/** The supervisor's pid, started under the lock if none runs (a second concurrent create finds it there). */
export async function ensureSupervisor(ctx: Context, userns = userNamespaceId()): Promise<number> {
  const known = readSupervisor(ctx, userns);
  if (known && running(known)) return known.pid;
  const { lockFile } = supervisorFiles(ctx, userns);
  mkdirSync(dirname(lockFile), { recursive: true, mode: 0o700 });
  return withLock(lockFile, async () => {
    const current = readSupervisor(ctx, userns);
    if (current && running(current)) return current.pid;
    // Its own session, stdio to /dev/null: it must hold neither the caller's terminal nor its pipes.
    const child = Bun.spawn([...selfCommand(), "_supervise"], { stdio: ["ignore", "ignore", "ignore"], env: contextEnv(ctx), detached: true });
    child.unref();
    const startTime = startTimeOf(child.pid);
    if (startTime === undefined) throw new CtrnetError(`the helper supervisor (pid ${child.pid}) exited at once`);
    writeSupervisor(ctx, userns, { pid: child.pid, startTime });
    log.debug(`started the helper supervisor ${child.pid}`);
    return child.pid;
  });
}

/**
 * For `rm` and `gc`: stops every supervisor of this state root none of whose containers is left (the
 * supervisor also goes by itself, within a tick; this leaves nothing behind when the command returns).
 * Every error.
 */
export async function stopIdleSupervisors(ctx: Context): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const userns of supervisorNamespaces(ctx)) {
    try {
      await withHeldLock(supervisorFiles(ctx, userns).lockFile, async (lock) => {
        if (supervisedContainers(ctx, userns).length > 0) return;
        const proc = readSupervisor(ctx, userns);
        if (proc) {
          await stopByPid("helper supervisor", proc);
          // its held host ports are free only once its last thread is gone
          await threadsGone(proc.pid);
        }
        forgetSupervisor(ctx, userns);
        rmSync(supervisorFiles(ctx, userns).socketFile, { force: true });
        lock.discard();
      });
    } catch (err) {
      errors.push(err);
    }
  }
  return errors;
}

/** Restarts the container's dead helpers unless another command holds it, or a recent attempt failed. */
async function heal(ctx: Context, id: string, ledger: HelperPids, retryAt: Map<string, { at: number; wait: number }>): Promise<void> {
  const now = Date.now();
  if ((retryAt.get(id)?.at ?? 0) > now) return;
  if (deadHelpers(ledger).length === 0) {
    retryAt.delete(id);
    return;
  }
  // held: an rm, reload or create is at it, and knows what it does
  const lock = tryContainerLock(ctx, id);
  if (!lock) return;
  try {
    const rec = ctx.state().find(id);
    if (rec?.id !== id || rec.state !== "ready") return;
    // read again under the lock: a command may have replaced them meanwhile
    const errors = await restartHelpers(ctx, rec, deadHelpers(readHelperPids(ctx, id)));
    if (errors.length === 0) {
      retryAt.delete(id);
      return;
    }
    const wait = Math.min((retryAt.get(id)?.wait ?? FIRST_RETRY_MS / 2) * 2, MAX_RETRY_MS);
    retryAt.set(id, { at: Date.now() + wait, wait });
    for (const err of errors) log.warn(`container ${id}: ${errorMessage(err)}; trying again in ${wait} ms`);
  } finally {
    lock.release();
  }
}

/**
 * The slirp4netns of a rootless user's shared netns is every rootless bridge container's way out: it is
 * started again too (it is not in `helpers` because no single container owns it: abandon leaves it).
 */
async function healWayOut(ctx: Context): Promise<void> {
  if (!ctx.rootless) return;
  try {
    if (await ctx.restartRootlessWayOut()) log.info("the way out of the rootless netns (slirp4netns or pasta) was gone and is running again");
  } catch (err) {
    log.warn(`the rootless netns: ${errorMessage(err)}`);
  }
}

/** Another supervisor took over (its pid file names a live other process). */
function supervisorReplaced(ctx: Context, userns: number): boolean {
  const owner = readSupervisor(ctx, userns);
  return owner !== undefined && owner.pid !== process.pid && running(owner);
}

/**
 * True when this supervisor, which found none of its containers left, should go: checked again under
 * the lock, so that a create marking a container right now either is seen here or finds no supervisor
 * and starts one.
 */
async function retire(ctx: Context, userns: number): Promise<boolean> {
  return withHeldLock(supervisorFiles(ctx, userns).lockFile, async (lock) => {
    if (supervisedContainers(ctx, userns).length > 0) return false;
    if (readSupervisor(ctx, userns)?.pid === process.pid) {
      forgetSupervisor(ctx, userns);
      rmSync(supervisorFiles(ctx, userns).socketFile, { force: true });
      lock.discard();
    }
    return true;
  });
}

/** `ctrnet _supervise`: runs until none of its containers is left. */
export async function runSupervisor(ctx: Context): Promise<void> {
  const userns = userNamespaceId();
  const retryAt = new Map<string, { at: number; wait: number }>();
  const deaths = new ExitWatch();
  log.debug(`helper supervisor ${process.pid} of ${ctx.runtimeDir} watching`);
  let helpers: TrackedProcess[] = [];
  // The state database is open only while the supervisor reads it: a connection kept open for its life
  // would keep the database's WAL file and hold its pages for every other command.
  const idle = { waiting: false };
  const ports = new PortHolder(ctx, userns, () => supervisedContainers(ctx, userns), () => {
    if (idle.waiting) ctx.close();
  });
  ports.listen();
  ctx.close();
  try {
    await superviseRounds(ctx, userns, retryAt, deaths, ports, (h) => (helpers = h), idle);
  } finally {
    // the socket file was removed under the lock by retire, or is another supervisor's now
    ports.close(false);
  }
  if (!existsSync(ctx.runtimeDir)) await abandon(helpers);
}

async function superviseRounds(
  ctx: Context,
  userns: number,
  retryAt: Map<string, { at: number; wait: number }>,
  deaths: ExitWatch,
  ports: PortHolder,
  watching: (helpers: TrackedProcess[]) => void,
  idle: { waiting: boolean },
): Promise<void> {
  for (;;) {
    if (!existsSync(ctx.runtimeDir)) return;
    const watched = supervisedContainers(ctx, userns);
    if (watched.length === 0 && (await retire(ctx, userns))) return;
    if (supervisorReplaced(ctx, userns)) return;
    // containers gone without an rm that asked (gc, a record removed): their ports are let go of
    for (const err of ports.sync()) log.warn(`holding host ports: ${err}`);
    await healWayOut(ctx);
    for (const { id, ledger } of watched) {
      try {
        await heal(ctx, id, ledger, retryAt);
      } catch (err) {
        log.warn(`container ${id}: ${errorMessage(err)}`);
      }
    }
    const helpers = supervisedContainers(ctx, userns).flatMap(({ ledger }) => START_ORDER.flatMap((kind) => ledger[kind] ?? []));
    watching(helpers);
    const wayOut = ctx.rootless ? wayOutToWatch(ctx.rootlessNetns) : undefined;
    // root: the event loop stays free to answer port-hold requests (port-holder.ts)
    ctx.close();
    idle.waiting = true;
    try {
      await deaths.wait(wayOut ? [...helpers, wayOut] : helpers, ROUND_MS, { serving: !ctx.rootless });
    } finally {
      idle.waiting = false;
    }
  }
}

/**
 * The state root was removed under the supervisor (`rm -r` of it, a test's temporary one): no command can
 * find, stop or heal these helpers any more, so the supervisor that last watched them stops them.
 */
async function abandon(helpers: readonly TrackedProcess[]): Promise<void> {
  for (const proc of helpers) {
    try {
      await stopByPid("helper of a removed state directory", proc);
    } catch (err) {
      log.warn(errorMessage(err));
    }
  }
}
