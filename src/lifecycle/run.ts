// `ctrnet run`: a container's network made for one command, and taken away when it ends. The command
// runs in the container's netns, in a private mount namespace where the container's own resolv.conf and
// hosts are bound over /etc; ctrnet stays its parent, passes signals on, and tears down after it.
import { hostname } from "node:os";
import { signalExitStatus } from "../../ffi/signals.ts";
import { isSysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";
import { CtrnetError, errorMessage, exitCodeOf } from "../errors.ts";
import { log } from "../log.ts";
import { type ExecOptions, type NetnsProcess, spawnInNetns } from "../netns/index.ts";
import type { ContainerRecord } from "../state/index.ts";
import type { Context } from "./context.ts";
import { adopted, createContainer } from "./create.ts";
import { recordProcess } from "../state/ledger.ts";
import type { EtcOptions } from "../container/etc-options.ts";
import { etcFilesOf, etcOptionsOf, wantedEtcFiles, writeEtcFiles, writeHostnameFile } from "./etc-files.ts";
import { SHORT_ID_LENGTH } from "../container/dns-members.ts";
import { netnsOwner } from "./lookup.ts";
import { removeContainer } from "./remove.ts";
import { holdHostPorts } from "./host-ports.ts";
import { driverFor } from "../drivers/select.ts";
import type { CreateRequest } from "./types.ts";

export interface RunOptions {
  /** The command's stdin, stdout and stderr; ctrnet's own by default. */
  stdio?: ExecOptions["stdio"];
  /** Signals passed on to the command; their handlers are installed for the whole run. */
  signals?: readonly NodeJS.Signals[];
  /** podman's --uts: private (the default), host, or container:ID (that container's hostname). */
  uts?: string;
}

/**
 * Every signal whose default action would end ctrnet and leave the network behind: each is passed on, and
 * ctrnet tears down once the command has gone.
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/** Keyboard signals: a terminal sends ^C and ^\ to its whole foreground process group. */
const KEYBOARD_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(["SIGINT", "SIGQUIT"]);

/**
 * True when a keyboard signal ctrnet got has reached the command by itself: the command is in ctrnet's
 * process group and that group is the foreground of ctrnet's terminal. Passing it on too would deliver
 * it twice, and a program for which a second ^C means "quit now" would skip its graceful stop.
 */
function terminalSentItToo(signal: NodeJS.Signals, commandPid: number): boolean {
  if (!KEYBOARD_SIGNALS.has(signal)) return false;
  const group = libc.getpgrp();
  if (libc.getpgid(commandPid) !== group) return false;
  return [0, 1, 2].some((fd) => libc.tcgetpgrp(fd) === group);
}

/** Exit status 125: `run` failed before the command started (docker and podman use the same). */
export class RunError extends CtrnetError {
  override readonly exitCode = 125;
}

/** Exit status 127 (not found) or 126 (not executable), as a shell gives for a command it cannot run. */
export class CommandNotRunError extends CtrnetError {
  constructor(
    message: string,
    override readonly exitCode: 126 | 127,
  ) {
    super(message);
  }
}

/** A random 64-hex id, as podman gives containers. */
export function randomContainerId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}

/** Bad input keeps its exit code 2; anything else that stops `run` before the command starts is 125. */
function beforeStart(err: unknown): unknown {
  if (exitCodeOf(err) === 2 || err instanceof RunError) return err;
  return new RunError(errorMessage(err), { cause: err });
}

/**
 * podman's hostname of a container: --hostname; the host's in the host's uts namespace (--uts host, or the
 * host's network without --hostname); that container's with --uts container:ID; else the first 12
 * characters of its id.
 */
export function commandHostname(ctx: Context, record: ContainerRecord, etc: EtcOptions, uts = "private"): { name: string; hostUts: boolean } {
  if (uts === "host" || (uts === "private" && etc.hostname === undefined && record.mode.kind === "host")) return { name: hostname(), hostUts: true };
  if (uts.startsWith("container:")) {
    const target = ctx.state().get(uts.slice("container:".length));
    return { name: target.etc?.hostname ?? target.id.slice(0, SHORT_ID_LENGTH), hostUts: false };
  }
  return { name: etc.hostname ?? record.id.slice(0, SHORT_ID_LENGTH), hostUts: false };
}

async function startCommand(ctx: Context, record: ContainerRecord, argv: string[], opts: RunOptions, etc: EtcOptions): Promise<NetnsProcess> {
  // A container:ID container runs in the netns of the container at the end of the chain, with its /etc view.
  const owner = netnsOwner(ctx.state(), record);
  const { files, fellBack } = await etcFilesOf(ctx, owner, etcOptionsOf(owner, record, etc));
  if (fellBack) log.debug(`container ${record.id}: no nameserver of the host is reachable from its network, using public ones`);
  // --no-hosts, --dns none: the /etc/hosts, /etc/resolv.conf the command sees stays the host's
  const etcFiles = writeEtcFiles(ctx, record.id, files, wantedEtcFiles(etc));
  // A container in the host's namespace still gets its own /etc files, so its name resolves.
  const netns = owner.netns?.path ?? "/proc/self/ns/net";
  const name = commandHostname(ctx, record, etc, opts.uts);
  const hostnameFile = name.hostUts ? undefined : writeHostnameFile(ctx, record.id, name.name);
  try {
    return spawnInNetns(netns, argv, { stdio: opts.stdio, etcFiles, dieWithParent: true, hostname: { ...name, ...(hostnameFile ? { file: hostnameFile } : {}) } });
  } catch (err) {
    // Only execve's own errors: the namespace and mount steps fail with ENOENT or EACCES too
    if (!isSysError(err, "ENOENT", "EACCES", "ENOEXEC") || err.syscall !== "execve") throw err;
    const reason = err.code === "ENOENT" ? "command not found" : err.code === "ENOEXEC" ? "exec format error" : "permission denied";
    throw new CommandNotRunError(`cannot run "${argv[0]}": ${reason}`, err.code === "ENOENT" ? 127 : 126);
  }
}

/**
 * The command as the container's process, while it runs: podman's State.Pid in inspect, and for gc what
 * ends the container if run itself is killed. The teardown forgets it. A command gone already has none.
 */
function noteCommand(ctx: Context, id: string, pid: number): void {
  let proc;
  try {
    proc = adopted(pid, `/proc/${pid}/ns/net`);
  } catch {
    return;
  }
  recordProcess(ctx, id, proc);
}

/**
 * Teardown failures are reported, not thrown: the command's status (or first error) is what run returns.
 * The container's teardown also removes the etc files written for it.
 */
async function teardown(ctx: Context, id: string): Promise<void> {
  try {
    await removeContainer(ctx, id);
  } catch (err) {
    log.error(`tearing down container ${id}: ${errorMessage(err)}`);
  }
}

/**
 * Creates the container, runs argv in it, tears everything down when argv exits, and returns its exit
 * status (128 + signal when a signal killed it). A forwarded signal that arrives before argv starts
 * cancels it: the container is torn down and the status is 128 + that signal, as if argv had been killed.
 * Throws a UsageError (exit 2) for bad input, a RunError (125) for any other failure before argv starts,
 * and a CommandNotRunError (126/127) when argv cannot be executed; nothing is left behind in each case.
 */
export async function runContainer(ctx: Context, req: CreateRequest, argv: string[], opts: RunOptions = {}): Promise<number> {
  const signals = opts.signals ?? FORWARDED_SIGNALS;
  let child: NetnsProcess | undefined;
  let cancelled: NodeJS.Signals | undefined;
  // From the start: a signal during setup must not end ctrnet half-way, leaving the network behind.
  // After the command has gone, signals are ignored so that the teardown can finish.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (child === undefined) cancelled ??= signal;
    else if (terminalSentItToo(signal, child.pid)) log.debug(`${signal} came from the terminal, which sent it to the command too`);
    else child.kill(signal);
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    let record: ContainerRecord;
    try {
      // ctrnet stays as long as the container: its helpers die with it, even when it is killed.
      record = await createContainer(ctx, req, { helpersDieWithProcess: true });
    } catch (err) {
      // A signal during setup lets the plugins finish (they run in sessions of their own); a failure
      // after it is still taken as its echo.
      if (cancelled === undefined || exitCodeOf(err) === 2) throw beforeStart(err);
      log.debug(`setup interrupted by ${cancelled}: ${errorMessage(err)}`);
      return signalExitStatus(cancelled);
    }
    let releasePorts = () => {};
    try {
      if (cancelled !== undefined) return signalExitStatus(cancelled);
      try {
        // As podman's conmon: ports DNATed to the container are held for as long as it runs.
        const driver = driverFor(record.mode, ctx);
        if (driver && !driver.listensOnHostPorts && record.ports.length) releasePorts = holdHostPorts(record.ports);
        child = await startCommand(ctx, record, argv, opts, req.etc ?? {});
      } catch (err) {
        throw err instanceof CommandNotRunError ? err : beforeStart(err);
      }
      noteCommand(ctx, record.id, child.pid);
      const { code, signal } = await child.exited;
      return signal === null ? code! : signalExitStatus(signal);
    } finally {
      releasePorts();
      await teardown(ctx, record.id);
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
