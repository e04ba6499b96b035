// Starts pasta for a network namespace as podman 5 does: pasta configures the netns (--config-net),
// binds the published ports, then forks into the background; the command it was started as exits 0 at
// that moment, which is the readiness signal, or 1 with its reason. pasta quits by itself once a netns
// file it was given is deleted; ctrnet also writes down its pid (--pid) and stops it by pid, so a netns
// ctrnet does not delete (ns:PATH, --pid, a hook's /proc path) does not keep it running.
//
// Tied to this process (`ctrnet run`), pasta stays in the foreground as a child that the kernel kills
// when this process dies, even by SIGKILL, as slirp4netns does through its exit descriptor; its pid file
// appearing is then the readiness signal (pasta writes it once initialisation is done).
//
// A netns known only as /proc/PID/ns/net (a hook's container, --pid) is handed to pasta as an open
// descriptor: pasta drops CAP_SYS_PTRACE before it opens the namespace, and a runtime's container process
// is not dumpable until it execs its program, so pasta could not open that path itself.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "../../../ffi/fs.ts";
import { dirname } from "node:path";
import { launch } from "../../../ffi/launcher.ts";
import { close } from "../../../ffi/libc.ts";
import { CtrnetError, UsageError } from "../../errors.ts";
import { hostUid } from "../../identity.ts";
import { openNetns } from "../../netns/index.ts";
import { startTimeOf, stopByPid, type TrackedProcess } from "../../process/supervise.ts";
import type { PortMapping } from "../../schema/ports.ts";
import { openUnlinkedLog } from "../slirp4netns/log.ts";
import { settlesWithin } from "../slirp4netns/ready.ts";
import { pastaArgs, type PastaCommand } from "./argv.ts";
import { pastaBinary, probePasta } from "./features.ts";
import { parsePastaOptions } from "./options.ts";

export interface StartPastaInput {
  netnsPath: string;
  /** As the record keeps them: the strings after `pasta:`. */
  options: readonly string[];
  ports: readonly PortMapping[];
  /** Where pasta writes its pid; removed once read. A --pid FILE among the options is used instead, and kept. */
  pidFile: string;
  /** pasta dies with this process, even by SIGKILL (`ctrnet run`); otherwise it runs on until stopped. */
  tied?: boolean;
  /** Default: pasta from PATH. */
  binary?: string;
  featuresCache?: string;
  /** Default 10000: pasta probes the host's routes and binds every port before it is ready. */
  timeoutMs?: number;
  logDir?: string;
}

export interface Pasta extends PastaCommand {
  pid: number;
  process: TrackedProcess;
  /**
   * SIGTERM, SIGKILL after a grace time: tied, as this process's child; otherwise by pid and start time,
   * as the pasta that forked into the background is no child of anyone here.
   */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function pastaCommand(input: Omit<StartPastaInput, "timeoutMs" | "logDir">, binary: string): PastaCommand {
  const features = probePasta(binary, input.featuresCache);
  return pastaArgs({
    features,
    options: parsePastaOptions(input.options, features),
    ports: input.ports,
    netnsPath: input.netnsPath,
    pidFile: input.pidFile,
    root: hostUid() === 0,
  });
}

/**
 * pasta refuses a bad value (`-a notanip`, `-t 80x`, `-i nosuch0`) while reading its command line, before
 * it touches anything: those failures are the user's input, and exit 2 as podman's "pasta failed" would.
 */
const BAD_INPUT = /^(?:Invalid |Options .* mutually exclusive|Multiple |Too many |Duplicate |.*unrecognized option|.*invalid option|.*requires an argument)/m;

/** Lines that say nothing about why it failed: syslog noise where there is no /dev/log, and the usage. */
function meaningful(output: string): string {
  const usage = output.search(/^Usage: /m);
  return (usage < 0 ? output : output.slice(0, usage))
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("Failed to send ") && !/^No (external )?routable interface for IPv[46]$/.test(l))
    .join("; ");
}

/** The descriptor number pasta finds a process's netns at (see above). */
const NETNS_FD = 3;

export async function startPasta(input: StartPastaInput): Promise<Pasta> {
  const binary = input.binary ?? pastaBinary();
  const byFd = input.netnsPath.startsWith("/proc/");
  const command = pastaCommand({ ...input, netnsPath: byFd ? `/proc/self/fd/${NETNS_FD}` : input.netnsPath }, binary);
  const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // the user's --pid FILE where given (its directory is theirs to make), else ctrnet's own
  const pidFile = command.pidFile;
  if (!command.userPidFile) mkdirSync(dirname(pidFile), { recursive: true, mode: 0o700 });
  rmSync(pidFile, { force: true });
  const log = openUnlinkedLog("ctrnet-pasta", input.logDir);
  let netnsFd: number | undefined;
  try {
    if (byFd) netnsFd = openNetns(input.netnsPath);
    const io = { logFd: log.fd, netnsFd };
    const started = input.tied ? await foreground(binary, command.args, pidFile, io, timeoutMs) : await background(binary, command.args, pidFile, io, timeoutMs);
    if ("failed" in started) {
      const words = meaningful(log.read());
      if (started.failed === "timeout") throw new CtrnetError(`pasta did not report ready within ${timeoutMs} ms and was stopped: ${JSON.stringify(words)}`);
      const { code, signal } = started.failed;
      const message = code === null ? `pasta was killed by signal ${signal}: ${words}` : `pasta failed with exit code ${code}: ${words}`;
      if (code === 1 && BAD_INPUT.test(words)) throw new UsageError(message);
      throw new CtrnetError(message);
    }
    let stopping: Promise<void> | undefined;
    return { ...command, pid: started.process.pid, process: started.process, stop: () => (stopping ??= started.stop()) };
  } finally {
    log.close();
    if (netnsFd !== undefined) close(netnsFd);
    if (!command.userPidFile) rmSync(pidFile, { force: true });
  }
}

interface ChildIo {
  logFd: number;
  /** At NETNS_FD in the child. */
  netnsFd: number | undefined;
}

type Started = { process: TrackedProcess; stop: () => Promise<void> } | { failed: "timeout" | { code: number | null; signal: string | null } };

/** podman's way: pasta forks into the background once ready, and the command exits 0. */
async function background(binary: string, args: string[], pidFile: string, io: ChildIo, timeoutMs: number): Promise<Started> {
  let proc;
  try {
    // its own session, as slirp4netns: a ^C at the terminal must not reach the network's helper
    const stdio: ("ignore" | number)[] = ["ignore", io.logFd, io.logFd, ...(io.netnsFd === undefined ? [] : [io.netnsFd])];
    proc = Bun.spawn([binary, ...args], { stdio: stdio as ["ignore", number, number], detached: true });
  } catch (err) {
    throw new CtrnetError(`failed to start pasta: ${(err as Error).message}`, { cause: err });
  }
  if (!(await settlesWithin(proc.exited, timeoutMs))) {
    proc.kill("SIGKILL");
    await proc.exited;
    // it may have forked already: the pid file names the one that stays
    await stopWritten(pidFile);
    return { failed: "timeout" };
  }
  if (proc.exitCode !== 0) {
    await stopWritten(pidFile);
    return { failed: { code: proc.exitCode, signal: proc.signalCode === null ? null : String(proc.signalCode) } };
  }
  const tracked = readWritten(pidFile);
  if (tracked === undefined) throw new CtrnetError(`pasta reported ready but is not running (pid file ${pidFile})`);
  return { process: tracked, stop: () => stopByPid("pasta", tracked) };
}

const PID_FILE_POLL_MS = 2;
const STOP_GRACE_MS = 3000;

/** A child in the foreground that the kernel kills with this process; ready once its pid file exists. */
async function foreground(binary: string, args: string[], pidFile: string, io: ChildIo, timeoutMs: number): Promise<Started> {
  const devNull = openSync("/dev/null", "r");
  let child;
  try {
    const fds: Record<number, number> = { 0: devNull, 1: io.logFd, 2: io.logFd };
    if (io.netnsFd !== undefined) fds[NETNS_FD] = io.netnsFd;
    child = launch({ argv: [binary, "--foreground", ...args], fds, pdeathsig: "SIGKILL", setsid: true });
  } catch (err) {
    throw new CtrnetError(`failed to start pasta: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(devNull);
  }
  let exited: { code: number | null; signal: string | null } | undefined;
  void child.exited.then((s) => {
    exited = s;
  });
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(pidFile) && exited === undefined) {
    if (performance.now() >= deadline) {
      child.kill("SIGKILL");
      await child.exited;
      return { failed: "timeout" };
    }
    await Bun.sleep(PID_FILE_POLL_MS);
  }
  const startTime = exited === undefined ? startTimeOf(child.pid) : undefined;
  if (startTime === undefined) return { failed: (await child.exited) as { code: number | null; signal: string | null } };
  const stop = async () => {
    child.kill("SIGTERM");
    if (!(await settlesWithin(child.exited, STOP_GRACE_MS))) {
      child.kill("SIGKILL");
      await child.exited;
    }
  };
  return { process: { pid: child.pid, startTime }, stop };
}

/** The running pasta the pid file names, with its start time; undefined when there is none. */
function readWritten(pidFile: string): TrackedProcess | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid < 1) return undefined;
  const startTime = startTimeOf(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

async function stopWritten(pidFile: string): Promise<void> {
  const proc = readWritten(pidFile);
  if (proc) await stopByPid("pasta", proc);
}
