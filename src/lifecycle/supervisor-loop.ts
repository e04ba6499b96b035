// The loop of `ctrnet _supervise` (see supervisor.ts, which commands use to start it): rounds on events
// (a pidfd, inotify, its socket), restarts of dead helpers under their container's lock, the DNS server
// and the rootless way out, its watchdog, and retiring once nothing is left to supervise.
import { existsSync, mkdirSync, rmSync } from "../../ffi/fs.ts";
import { dirname, join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { CtrnetError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { DirWatch, type WatchedDir } from "../process/dir-watch.ts";
import { ExitWatch } from "../process/exit-watch.ts";
import { running, startTimeOf, stopByPid, threadsGone, type TrackedProcess } from "../process/supervise.ts";
import { userNamespaceId } from "../process/user-namespace.ts";
import { wayOutToWatch } from "../rootless/netns.ts";
import { selfCommand } from "../rootless/self.ts";
import { containersWithHelpers, forgetSupervisor, type HelperPids, readHelperPids, readSupervisor, supervisorFiles, writeSupervisor } from "../state/ledger.ts";
import { tryContainerLock, tryLock, withHeldLock, withLock } from "../state/lock.ts";
import type { Context } from "./context.ts";
import { dnsServerToWatch, dnsSupervisedBy, restartDeadDns } from "./dns.ts";
import { START_ORDER } from "./helpers.ts";
import { type HandedPorts, PortHolder } from "./port-holder.ts";
import { deadHelpers, restartHelpers } from "./restart.ts";
import { contextEnv, stopWatchdog, supervisedContainers, supervisorNeeded } from "./supervisor.ts";

/** After a failed restart, the next attempt waits this long, doubling up to the maximum. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
/** A helper found dead while a command holds its container (or the DNS server's) lock: looked at again this soon. */
const BUSY_RETRY_MS = 100;
/** Without inotify (a kernel without it) the supervisor looks at its files this often instead. */
const FALLBACK_ROUND_MS = 1000;
/**
 * How long the supervisor lets a change (a container's helpers written down, its ports handed over) settle
 * before its round: the command that made the change is then done, rather than sharing the CPU with the
 * round (on two cores, half the creates of a container whose ports it holds took about 1.5 ms longer). A
 * death is acted on at once; requests on its socket (rm's) are answered as they come.
 */
const SETTLE_MS = 20;
/** How long a supervisor restored by its watchdog waits for the one it replaces to finish exiting. */
const DYING_WAIT_MS = 2000;

/** When to look again at what could not be done now: per key (a container id, "dns", "way out", "watchdog"). */
class Retries {
  private readonly at = new Map<string, { at: number; wait: number }>();

  /** False while an earlier attempt's wait has not passed. */
  due(key: string, now = Date.now()): boolean {
    return (this.at.get(key)?.at ?? 0) <= now;
  }

  done(key: string): void {
    this.at.delete(key);
  }

  /** After a failure: the wait doubles from FIRST_RETRY_MS up to MAX_RETRY_MS. Returns it. */
  failed(key: string): number {
    const wait = Math.min((this.at.get(key)?.wait ?? FIRST_RETRY_MS / 2) * 2, MAX_RETRY_MS);
    this.at.set(key, { at: Date.now() + wait, wait });
    return wait;
  }

  /** Something else holds it for now: soon again, without counting as a failure. */
  busy(key: string): void {
    this.at.set(key, { at: Date.now() + BUSY_RETRY_MS, wait: this.at.get(key)?.wait ?? FIRST_RETRY_MS / 2 });
  }

  /** Milliseconds until the first pending look, -1 when none is pending (wait for an event only). */
  timeout(): number {
    let first = Number.POSITIVE_INFINITY;
    for (const { at } of this.at.values()) first = Math.min(first, at);
    return first === Number.POSITIVE_INFINITY ? -1 : Math.max(first - Date.now(), 0);
  }
}

/**
 * Restarts the container's dead helpers unless another command holds it (then soon again), the record is
 * not ready yet, or a recent attempt failed (then after a growing wait).
 */
async function heal(ctx: Context, id: string, ledger: HelperPids, retries: Retries): Promise<void> {
  if (deadHelpers(ledger).length === 0) {
    retries.done(id);
    return;
  }
  if (!retries.due(id)) return;
  // held: an rm, reload or create is at it, and knows what it does
  const lock = tryContainerLock(ctx, id);
  if (!lock) {
    retries.busy(id);
    return;
  }
  try {
    const rec = ctx.state().find(id);
    if (rec?.id !== id) return;
    if (rec.state !== "ready") {
      // being made (or a failed one gc will take): nothing says when it is ready, so look again
      retries.failed(id);
      return;
    }
    // read again under the lock: a command may have replaced them meanwhile
    const errors = await restartHelpers(ctx, rec, deadHelpers(readHelperPids(ctx, id)));
    if (errors.length === 0) {
      retries.done(id);
      return;
    }
    const wait = retries.failed(id);
    for (const err of errors) log.warn(`container ${id}: ${errorMessage(err)}; trying again in ${wait} ms`);
  } finally {
    lock.release();
  }
}

/**
 * The slirp4netns of a rootless user's shared netns is every rootless bridge container's way out: it is
 * started again too (it is not in `helpers` because no single container owns it: abandon leaves it).
 */
async function healWayOut(ctx: Context, retries: Retries): Promise<void> {
  if (!ctx.rootless || !retries.due("way out")) return;
  try {
    if (await ctx.restartRootlessWayOut()) log.info("the way out of the rootless netns (slirp4netns or pasta) was gone and is running again");
    retries.done("way out");
  } catch (err) {
    const wait = retries.failed("way out");
    log.warn(`the rootless netns: ${errorMessage(err)}; trying again in ${wait} ms`);
  }
}

/** The DNS server for container names, when it was launched from this user namespace and died. */
async function healDns(ctx: Context, userns: number, retries: Retries): Promise<void> {
  if (!retries.due("dns")) return;
  try {
    const done = await restartDeadDns(ctx, userns);
    if (done === "busy") retries.busy("dns");
    else retries.done("dns");
    if (done === "restarted") log.info("the DNS server for container names was gone and is running again");
  } catch (err) {
    const wait = retries.failed("dns");
    log.warn(`the DNS server for container names: ${errorMessage(err)}; trying again in ${wait} ms`);
  }
}

/** Another supervisor took over (its pid file names a live other process). */
function supervisorReplaced(ctx: Context, userns: number): boolean {
  const owner = readSupervisor(ctx, userns);
  return owner !== undefined && owner.pid !== process.pid && running(owner);
}

/**
 * A restored supervisor (its watchdog's) writes itself down, under the lock: false when another one runs
 * already (a command started it meanwhile), and this one should go.
 *
 * The one it replaces may still look alive: the kernel closes a dying process's files (the pipe's write
 * end, whose EOF woke the watchdog) before the process turns zombie, and on a loaded machine that window
 * (the process in D state, exiting) can outlast this process's exec and start. A record that names this
 * very process as its supervisor's watchdog (an exec keeps pid and start time) is that case: its supervisor
 * holds nothing any more, so this one waits for it to be gone (its host ports free to bind again) and
 * takes over even if the wait runs out. Going instead would leave no supervisor at all.
 */
async function register(ctx: Context, userns: number): Promise<boolean> {
  if (!existsSync(ctx.runtimeDir)) return false;
  const { lockFile } = supervisorFiles(ctx, userns);
  mkdirSync(dirname(lockFile), { recursive: true, mode: 0o700 });
  return withLock(lockFile, async () => {
    const current = readSupervisor(ctx, userns);
    if (current?.pid === process.pid) return true;
    const startTime = startTimeOf(process.pid);
    if (startTime === undefined) return false;
    if (current && running(current)) {
      const mine = current.watchdog?.pid === process.pid && current.watchdog.startTime === startTime;
      if (!mine) return false;
      log.debug(`helper supervisor ${current.pid}, whose watchdog this was, is still exiting: waiting for it`);
      await threadsGone(current.pid, DYING_WAIT_MS);
    }
    writeSupervisor(ctx, userns, { pid: process.pid, startTime });
    return true;
  });
}

/**
 * The supervisor's watchdog: a shell blocked reading a pipe whose only writer is the supervisor. When
 * the supervisor dies, however it dies (kill -9 included), the read ends and the shell becomes a new
 * supervisor (exec), which writes itself down under the lock and starts a watchdog of its own. The
 * supervisor watches its watchdog in turn and starts another when it dies. It costs a shell's memory
 * (about 1 MiB) and no wake-up: it sleeps in read(2) until then. A supervisor that goes by itself kills
 * its watchdog first, as `rm` and `gc` do for one they stop.
 */
export const WATCHDOG_SCRIPT = 'read -r _ || exec "$@" </dev/null';

class Watchdog {
  proc: TrackedProcess | undefined;
  private writeEnd: number | undefined;

  /** Starts one unless it runs, under the supervisor lock, and writes it down beside the supervisor. */
  ensure(ctx: Context, userns: number, retries: Retries): void {
    if (this.proc && running(this.proc)) return;
    if (!retries.due("watchdog")) return;
    const lock = tryLock(supervisorFiles(ctx, userns).lockFile);
    if (!lock) {
      // an rm or gc may be stopping this supervisor: not now
      retries.busy("watchdog");
      return;
    }
    try {
      const me = readSupervisor(ctx, userns);
      if (me?.pid !== process.pid) {
        // forgotten by an rm or gc that stops this supervisor: the lock file goes, as they leave it
        if (!me) lock.discard();
        return;
      }
      this.start(ctx);
      if (this.proc) writeSupervisor(ctx, userns, { pid: me.pid, startTime: me.startTime, watchdog: this.proc });
      retries.done("watchdog");
    } catch (err) {
      const wait = retries.failed("watchdog");
      log.warn(`the helper supervisor's watchdog: ${errorMessage(err)}; trying again in ${wait} ms`);
    } finally {
      lock.release();
    }
  }

  private start(ctx: Context): void {
    this.closePipe();
    const [readEnd, writeEnd] = libc.pipe2(libc.O_CLOEXEC);
    try {
      const sh = Bun.which("sh") ?? "/bin/sh";
      // its own session: out of reach of whatever signals the supervisor's process group
      const child = Bun.spawn([sh, "-c", WATCHDOG_SCRIPT, "ctrnet-supervisor-watchdog", ...selfCommand(), "_supervise"], {
        stdio: [readEnd, "ignore", "ignore"],
        env: contextEnv(ctx),
        detached: true,
      });
      child.unref();
      const startTime = startTimeOf(child.pid);
      if (startTime === undefined) throw new CtrnetError(`the watchdog (pid ${child.pid}) exited at once`);
      this.proc = { pid: child.pid, startTime };
      this.writeEnd = writeEnd;
    } catch (err) {
      libc.close(writeEnd);
      throw err;
    } finally {
      libc.close(readEnd);
    }
  }

  private closePipe(): void {
    if (this.writeEnd !== undefined) libc.close(this.writeEnd);
    this.writeEnd = undefined;
  }

  /** For a supervisor that goes by itself: its watchdog goes first. */
  async stop(): Promise<void> {
    if (this.proc) await stopWatchdog(this.proc);
    this.proc = undefined;
    this.closePipe();
  }
}

/**
 * Exits when this supervisor, which found nothing left to supervise, should go: checked again under
 * the lock, so that a create marking a container right now either is seen here or finds no supervisor
 * and starts one. It exits holding the lock: an `rm` that waits for it (stopIdleSupervisors) gets it
 * only once this process is gone, with the host ports it held.
 */
async function retire(ctx: Context, userns: number, watchdog: Watchdog, ports: PortHolder): Promise<void> {
  await withHeldLock(supervisorFiles(ctx, userns).lockFile, async (lock) => {
    if (supervisorNeeded(ctx, userns)) return;
    await watchdog.stop();
    if (readSupervisor(ctx, userns)?.pid === process.pid) {
      forgetSupervisor(ctx, userns);
      rmSync(supervisorFiles(ctx, userns).socketFile, { force: true });
      lock.discard();
    }
    ports.close(false);
    ctx.close();
    process.exit(0);
  });
}

/** The directories whose changes wake the supervisor: what commands write when there is something new to watch. */
function watchedDirs(ctx: Context, userns: number): WatchedDir[] {
  const own = new Set(["helpers", "dns", "supervisors"]);
  const pidFile = `${userns}.json`;
  return [
    // the directories below, made or removed
    { path: ctx.runtimeDir, mask: libc.IN_CREATE | libc.IN_DELETE | libc.IN_MOVED_TO | libc.IN_MOVED_FROM, names: (n) => own.has(n) },
    // a container's helpers written down (atomically: renamed into place) or forgotten
    { path: join(ctx.runtimeDir, "helpers"), mask: libc.IN_MOVED_TO | libc.IN_DELETE, names: (n) => n.endsWith(".json") },
    // the DNS server started or stopped
    { path: join(ctx.runtimeDir, "dns"), mask: libc.IN_MOVED_TO | libc.IN_DELETE, names: (n) => n === "helper.json" },
    // this supervisor replaced or forgotten
    { path: join(ctx.runtimeDir, "supervisors"), mask: libc.IN_MOVED_TO | libc.IN_DELETE, names: (n) => n === pidFile },
  ];
}

/** `ctrnet _supervise`: runs until nothing it supervises is left; `handed`: the ports its starter bound for it. */
export async function runSupervisor(ctx: Context, handed: readonly HandedPorts[] = []): Promise<void> {
  const userns = userNamespaceId();
  if (!(await register(ctx, userns))) return;
  log.debug(`helper supervisor ${process.pid} of ${ctx.runtimeDir} watching`);
  const watchdog = new Watchdog();
  const deaths = new ExitWatch();
  let changes: DirWatch | undefined;
  try {
    changes = new DirWatch();
  } catch (err) {
    log.warn(`no inotify: the supervisor looks at its files every ${FALLBACK_ROUND_MS} ms: ${errorMessage(err)}`);
  }
  let helpers: TrackedProcess[] = [];
  // The state database is open only while the supervisor reads it: a connection kept open for its life
  // would keep the database's WAL file and hold its pages for every other command.
  const ports = new PortHolder(ctx, userns, () => supervisedContainers(ctx, userns));
  for (const h of handed) ports.adopt(h);
  const listener = ports.listen();
  ctx.close();
  try {
    await superviseRounds(ctx, userns, { deaths, changes, ports, listener, watchdog }, (h) => (helpers = h));
  } finally {
    // the socket file was removed under the lock by retire, or is another supervisor's now
    ports.close(false);
    deaths.close();
    changes?.close();
  }
  // replaced by another supervisor, or its state directory gone: its watchdog must not start another
  await watchdog.stop();
  if (!existsSync(ctx.runtimeDir)) await abandon(helpers);
}

interface Waits {
  deaths: ExitWatch;
  changes: DirWatch | undefined;
  ports: PortHolder;
  listener: number | undefined;
  watchdog: Watchdog;
}

/** The processes a supervisor waits on: each container's helpers, and the rest (way out, DNS server, watchdog). */
interface Watched {
  byContainer: Map<string, TrackedProcess[]>;
  others: TrackedProcess[];
}

/** The helpers the ledger names, running or not (a dead one is looked at when its retry is due). */
function helpersOf(ledger: HelperPids): TrackedProcess[] {
  return START_ORDER.flatMap((kind) => ledger[kind] ?? []);
}

/**
 * One round per event: a watched process exited (its pidfd turned readable), a command wrote down a
 * container's helpers, the DNS server, or this supervisor (inotify), a command asked for its ports (the
 * socket), or an attempt put off is due. Idle, the supervisor sleeps in poll(2) with no timeout.
 *
 * A change that concerns given containers only (their helpers file written or removed, their ports asked
 * for: what every create and rm does) is a round for those containers alone, so its cost does not grow
 * with the containers the supervisor has; a death, a retry that is due and every other change are a
 * round over all of them.
 */
async function superviseRounds(ctx: Context, userns: number, w: Waits, watching: (helpers: TrackedProcess[]) => void): Promise<void> {
  const retries = new Retries();
  const watched: Watched = { byContainer: new Map(), others: [] };
  let only: Set<string> | undefined;
  for (;;) {
    try {
      // before anything is read: a change from now on is an event
      w.changes?.watch(watchedDirs(ctx, userns));
      if (!existsSync(ctx.runtimeDir)) return;
      if (supervisorReplaced(ctx, userns)) return;
      if (only === undefined || !(await containersRound(ctx, userns, w, retries, watched, only))) await round(ctx, userns, w, retries, watched);
      watching([...watched.byContainer.values()].flat());
      retries.done("round");
    } catch (err) {
      // whatever failed (the state database busy, a file system full) is tried again after a growing wait
      const wait = retries.failed("round");
      log.warn(`helper supervisor: ${errorMessage(err)}; looking again in ${wait} ms`);
    } finally {
      ctx.close();
    }
    // the running ones: a helper that stays dead (its restart put off) is looked at again when its wait is over
    const procs = [...[...watched.byContainer.values()].flat(), ...watched.others].filter(running);
    only = await waitForEvent(ctx, w, procs, retries);
  }
}

/** Retires, or restarts what died; what to watch next goes into `watched`. */
async function round(ctx: Context, userns: number, w: Waits, retries: Retries, watched: Watched): Promise<void> {
  const containers = supervisedContainers(ctx, userns);
  if (containers.length === 0 && !dnsSupervisedBy(ctx, userns)) await retire(ctx, userns, w.watchdog, w.ports);
  // containers gone without an rm that asked (gc, a record removed): their ports are let go of
  for (const err of w.ports.sync()) log.warn(`holding host ports: ${err}`);
  await healWayOut(ctx, retries);
  for (const { id, ledger } of containers) {
    try {
      await heal(ctx, id, ledger, retries);
    } catch (err) {
      log.warn(`container ${id}: ${errorMessage(err)}`);
    }
  }
  await healDns(ctx, userns, retries);
  // after a first round, not before: a supervisor that cannot get through one is not started again and again
  w.watchdog.ensure(ctx, userns, retries);
  watched.byContainer = new Map(supervisedContainers(ctx, userns).map(({ id, ledger }) => [id, helpersOf(ledger)]));
  const wayOut = ctx.rootless ? wayOutToWatch(ctx.rootlessNetns) : undefined;
  const dns = dnsServerToWatch(ctx, userns);
  watched.others = [...(wayOut ? [wayOut] : []), ...(dns ? [dns] : []), ...(w.watchdog.proc ? [w.watchdog.proc] : [])];
}

/**
 * A round for the given containers only: each one's ports held or let go of, its helpers restarted if
 * dead, and watched. False when it cannot stand for a whole round: the last container gone (the
 * supervisor may have to retire) or no round done yet (the watchdog is started after a whole one).
 */
async function containersRound(ctx: Context, userns: number, w: Waits, retries: Retries, watched: Watched, ids: Set<string>): Promise<boolean> {
  if (!w.watchdog.proc) return false;
  let gone = false;
  for (const id of ids) {
    const ledger = readHelperPids(ctx, id);
    if (ledger.supervisedIn !== userns) {
      watched.byContainer.delete(id);
      gone = true;
    } else {
      try {
        await heal(ctx, id, ledger, retries);
      } catch (err) {
        log.warn(`container ${id}: ${errorMessage(err)}`);
      }
      // read again: heal writes down the helpers it started
      watched.byContainer.set(id, helpersOf(readHelperPids(ctx, id)));
    }
    for (const err of w.ports.syncOne(id)) log.warn(`holding host ports: ${err}`);
  }
  if (gone && containersWithHelpers(ctx).length === 0) return false;
  w.watchdog.ensure(ctx, userns, retries);
  return true;
}

/**
 * Until something calls for a round: the containers it is about, or undefined for a round over all. A
 * change of a name nobody watches for (the state database's own files beside the watched directories,
 * written by this round too) drains and waits again: no round. Changes are gathered for SETTLE_MS after
 * the first; a process that exits ends the wait at once.
 */
async function waitForEvent(ctx: Context, w: Waits, procs: readonly TrackedProcess[], retries: Retries): Promise<Set<string> | undefined> {
  const fds = [...(w.changes ? [w.changes.fd] : []), ...(w.listener !== undefined ? [w.listener] : [])];
  const listenerAt = w.listener !== undefined ? fds.length - 1 : -1;
  const helpersDir = join(ctx.runtimeDir, "helpers");
  let all = false;
  const ids = new Set<string>();
  let settled: number | undefined;
  for (;;) {
    const pending = retries.timeout();
    const waiting = w.changes ? pending : pending === -1 ? FALLBACK_ROUND_MS : Math.min(pending, FALLBACK_ROUND_MS);
    const timeout = settled === undefined ? waiting : Math.max(0, waiting === -1 ? settled - Date.now() : Math.min(waiting, settled - Date.now()));
    const started = Date.now();
    const ready = await w.deaths.wait(procs, timeout, fds);
    if (ready.length === 0) {
      // the changes have settled, and no process exited meanwhile: their round
      if (settled !== undefined && Date.now() >= settled && !all && procs.every(running)) return ids;
      // a process exited (none of the descriptors), or the timeout passed
      return undefined;
    }
    if (w.changes && ready.includes(0) && w.changes.drain()) {
      const changes = w.changes.lastChanges;
      if (changes === "all") all = true;
      else {
        for (const [dir, names] of changes) {
          if (dir !== helpersDir) all = true;
          else for (const name of names) ids.add(name.replace(/\.json$/, ""));
        }
      }
    }
    if (listenerAt >= 0 && ready.includes(listenerAt)) {
      const asked = w.ports.serve();
      if (asked === "all") all = true;
      else for (const id of asked) ids.add(id);
    }
    // the last container's helpers gone (its rm): no create to make way for, and the rm waits for this
    // supervisor to be gone before it returns, so it retires at once
    if (!all && ids.size > 0 && containersWithHelpers(ctx).length === 0) return procs.every(running) ? ids : undefined;
    if ((all || ids.size > 0) && settled === undefined) settled = Date.now() + SETTLE_MS;
    // changes that keep coming wait no longer than the first one did
    if (settled !== undefined && Date.now() >= settled) return !all && procs.every(running) ? ids : undefined;
    // only events of no interest: back to sleep, unless the wait for a pending attempt is over meanwhile
    if (settled === undefined && timeout !== -1 && Date.now() - started >= timeout) return undefined;
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
