// The supervisor of helpers that outlive the command that made them (`ctrnet create`, the OCI hook):
// one `ctrnet _supervise` per state root and user namespace, started by the first such command that finds
// none running, gone by itself (or stopped by `rm` / `gc`) once no container of its needs it. It watches
// the helpers written down for its containers (helpers/ID.json, marked `supervisedIn` its user namespace)
// and starts each one that died again through the container's driver, with the configuration the record
// keeps, under the container's lock (so never against an `rm`); the same for the DNS server launched from
// its user namespace (lifecycle/dns.ts), on the configuration it served. It wakes only on events (a pidfd,
// inotify, its socket; see superviseRounds), and a watchdog starts it again if it is killed (Watchdog).
//
// Why this process and not another (see the notes in README): the pause process exists only in ctrnet's
// own rootless namespace (not for root, nor for a hook inside a rootless runtime's user namespace, where
// helpers must be restarted from), is one per user whatever the state root, and is what keeps every netns
// mount alive, so it must stay the smallest possible program; a supervisor per container would cost a
// process (about 20 MiB) per container and a spawn on every create; the forwarder cannot restart itself,
// and a container without ports has none. This one costs one process per user while helpers run, and no
// work on the create path beyond reading a pid file once it runs.
//
// This module is what commands use: hand a container to the supervisor, start one, stop idle ones. The
// supervisor's own loop, which only `ctrnet _supervise` runs, is supervisor-loop.ts.
import { mkdirSync, rmSync } from "../../ffi/fs.ts";
import { dirname } from "node:path";
import { CtrnetError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { running, startTimeOf, stopByPid, threadsGone, type TrackedProcess } from "../process/supervise.ts";
import { userNamespaceId } from "../process/user-namespace.ts";
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
import { withHeldLock, withLock } from "../state/lock.ts";
import type { Context } from "./context.ts";
import { dnsSupervisedBy } from "./dns.ts";
import { START_ORDER } from "./helpers.ts";
import { bindHostPorts, releaseOf } from "./host-ports.ts";
import { type HandedPorts, handedPortsArg, handHeldPorts, syncHeldPorts, wantedPorts } from "./port-holder.ts";
import type { PortMapping } from "../schema/ports.ts";

/** How long a watchdog told to go (SIGKILL) may take to be gone. */
const WATCHDOG_STOP_MS = 1000;

export { userNamespaceId };

/** The containers whose helpers the supervisor of this user namespace restarts, with their ledgers. */
export function supervisedContainers(ctx: Context, userns: number): { id: string; ledger: HelperPids }[] {
  return containersWithHelpers(ctx).flatMap((id) => {
    const ledger = readHelperPids(ctx, id);
    return ledger.supervisedIn === userns ? [{ id, ledger }] : [];
  });
}

/** Whether the supervisor of this user namespace has anything to do: a container's helpers, or the DNS server. */
export function supervisorNeeded(ctx: Context, userns: number): boolean {
  return supervisedContainers(ctx, userns).length > 0 || dnsSupervisedBy(ctx, userns);
}

/**
 * Hands the container's helpers, and the DNS server launched from this process's user namespace, to the
 * supervisor of that namespace, started if none runs. A container whose helpers cannot be supervised
 * still works: a warning says so, and `ls` shows it degraded if one of them dies.
 */
export async function superviseHelpers(ctx: Context, id: string, opts: { holdPorts?: boolean; ports?: readonly PortMapping[] } = {}): Promise<void> {
  const ledger = readHelperPids(ctx, id);
  // root: host ports DNATed to the container are held by the supervisor (see port-holder.ts)
  const holdPorts = !ctx.rootless && (opts.holdPorts ?? ledger.holdsPorts === true);
  const helpers = START_ORDER.some((kind) => ledger[kind]);
  const userns = userNamespaceId();
  const dns = dnsSupervisedBy(ctx, userns);
  if (!helpers && !holdPorts && !dns) return;
  if ((helpers || holdPorts) && (ledger.supervisedIn !== userns || (holdPorts && !ledger.holdsPorts))) {
    writeHelperPids(ctx, id, { ...ledger, supervisedIn: userns, ...(holdPorts ? { holdsPorts: true } : {}) });
  }
  for (let again = true; ; again = false) {
    let started: Supervisor;
    try {
      started = await ensureSupervisor(ctx, userns);
    } catch (err) {
      if (helpers) log.warn(`container ${id}: nothing will restart its helpers if they die: ${errorMessage(err)}`);
      if (holdPorts) log.warn(`container ${id}: nothing holds its host ports: ${errorMessage(err)}`);
      if (dns) log.warn(`nothing will restart the DNS server for container names if it dies: ${errorMessage(err)}`);
      return;
    }
    if (!holdPorts || started.handedPorts) return;
    // One found running may be retiring (an rm took its last container just before this one was written
    // down): then the next one, started once it is gone (its ports with it), takes them. (`retired` is
    // asked only when the supervisor does not answer.)
    let wentAway = false;
    const retired = () => (wentAway = readSupervisor(ctx, userns)?.pid !== started.pid);
    // create knows the ports: bound here and handed over, with no answer to wait for
    const errors = opts.ports ? await handHeldPorts(ctx, userns, id, opts.ports, retired) : await syncHeldPorts(ctx, userns, id, retired);
    if (again && wentAway) {
      await threadsGone(started.pid);
      continue;
    }
    for (const err of errors) log.warn(`holding host ports: ${err}`);
    return;
  }
}

/** After a command that may have started the DNS server (connect): the supervisor that restarts it runs. */
export async function superviseDnsServer(ctx: Context): Promise<void> {
  const userns = userNamespaceId();
  if (!dnsSupervisedBy(ctx, userns)) return;
  try {
    await ensureSupervisor(ctx, userns);
  } catch (err) {
    log.warn(`nothing will restart the DNS server for container names if it dies: ${errorMessage(err)}`);
  }
}

/**
 * For gc: a supervisor that is gone (killed, and its watchdog too) while something of its still needs it
 * is started again.
 */
export async function ensureNeededSupervisor(ctx: Context): Promise<void> {
  const userns = userNamespaceId();
  const ready = ctx.state().list().some((r) => r.state === "ready" && readHelperPids(ctx, r.id).supervisedIn === userns);
  if (ready || dnsSupervisedBy(ctx, userns)) await ensureSupervisor(ctx, userns);
}

/** After `rm` of a container whose ports were held: the supervisor, if it still runs, lets go of them before rm returns. */
export async function releaseHeldPorts(ctx: Context, id: string): Promise<void> {
  const userns = userNamespaceId();
  const known = readSupervisor(ctx, userns);
  if (!known || !running(known)) return;
  // one that retires meanwhile (another rm took its last container) lets go of every port as it exits
  // (asked only when it does not answer)
  let wentAway = false;
  const retired = () => (wentAway = readSupervisor(ctx, userns)?.pid !== known.pid || !running(known));
  for (const err of await syncHeldPorts(ctx, userns, id, retired)) log.warn(`holding host ports: ${err}`);
  // its sockets close with its last thread
  if (wentAway) await threadsGone(known.pid);
}

/** The variables that give a child ctrnet this command's directories. */
export function contextEnv(ctx: Context): Record<string, string> {
  return { ...(process.env as Record<string, string>), ...ctx.childEnv };
}

export interface Supervisor {
  pid: number;
  /** Started by this call, holding every host port it is to hold from its first instruction. */
  handedPorts: boolean;
}

/**
 * The host ports the supervisor about to start is to hold, bound here for it to inherit: its own sync
 * at its start would bind them only once its runtime is up. A container whose ports cannot be bound is
 * left to that sync, which tries again; the failure is said here, as a sync's would be.
 */
function portsToHand(ctx: Context, userns: number): HandedPorts[] {
  const handed: HandedPorts[] = [];
  for (const [id, ports] of wantedPorts(ctx, supervisedContainers(ctx, userns))) {
    try {
      handed.push({ id, fds: bindHostPorts(ports) });
    } catch (err) {
      log.warn(`holding host ports: container ${id}: ${errorMessage(err)}`);
    }
  }
  return handed;
}

/**
 * The supervisor, started under the lock if none runs (a second concurrent create finds it there). One
 * started here inherits the host ports it is to hold (portsToHand), so the caller has nothing to wait for.
 */
export async function ensureSupervisor(ctx: Context, userns = userNamespaceId()): Promise<Supervisor> {
  const known = readSupervisor(ctx, userns);
  if (known && running(known)) return { pid: known.pid, handedPorts: false };
  const { lockFile } = supervisorFiles(ctx, userns);
  mkdirSync(dirname(lockFile), { recursive: true, mode: 0o700 });
  return withLock(lockFile, async () => {
    const current = readSupervisor(ctx, userns);
    if (current && running(current)) return { pid: current.pid, handedPorts: false };
    // one that died leaves its watchdog, which is becoming the next supervisor (or is it already)
    if (current?.watchdog && running(current.watchdog)) {
      writeSupervisor(ctx, userns, current.watchdog);
      return { pid: current.watchdog.pid, handedPorts: false };
    }
    const handed = portsToHand(ctx, userns);
    const fds = handed.flatMap((h) => h.fds);
    let child: Bun.Subprocess;
    try {
      // Its own session, stdio to /dev/null: it must hold neither the caller's terminal nor its pipes.
      child = Bun.spawn([...selfCommand(), "_supervise", ...(handed.length ? ["--held", handedPortsArg(handed)] : [])], {
        stdio: ["ignore", "ignore", "ignore", ...fds],
        env: contextEnv(ctx),
        detached: true,
      });
    } finally {
      releaseOf(fds)();
    }
    child.unref();
    const startTime = startTimeOf(child.pid);
    if (startTime === undefined) throw new CtrnetError(`the helper supervisor (pid ${child.pid}) exited at once`);
    writeSupervisor(ctx, userns, { pid: child.pid, startTime });
    log.debug(`started the helper supervisor ${child.pid}, holding the host ports of ${handed.length} containers`);
    return { pid: child.pid, handedPorts: true };
  });
}

/** Kills a supervisor's watchdog (SIGKILL: it must not start a supervisor on its way out) and waits until it is gone. */
export async function stopWatchdog(proc: TrackedProcess): Promise<void> {
  if (!running(proc)) return;
  try {
    process.kill(proc.pid, "SIGKILL");
  } catch {
    return;
  }
  for (const end = Date.now() + WATCHDOG_STOP_MS; running(proc) && Date.now() < end; ) await Bun.sleep(5);
}

/**
 * For `rm` and `gc`: stops every supervisor of this state root none of whose containers is left and
 * that has no DNS server to keep (the supervisor also goes by itself once it sees that; this leaves
 * nothing behind when the command returns). Its watchdog goes first, so that nothing starts it again.
 * Every error.
 */
export async function stopIdleSupervisors(ctx: Context): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const userns of supervisorNamespaces(ctx)) {
    try {
      await withHeldLock(supervisorFiles(ctx, userns).lockFile, async (lock) => {
        if (supervisorNeeded(ctx, userns)) return;
        const proc = readSupervisor(ctx, userns);
        if (proc?.watchdog) await stopWatchdog(proc.watchdog);
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
