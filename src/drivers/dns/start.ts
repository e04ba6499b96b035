// Starting and stopping the one `ctrnet _dns` of a ctrnet installation (root: in the host's netns; a rootless
// user: inside the rootless netns, where its bridges are). It outlives the ctrnet that starts it, in a session
// of its own, and is known by pid and start time in a file beside its configuration, so any later ctrnet can
// tell it a new configuration (SIGHUP), see that it died, or stop it. Reusable by a supervisor: launch, wait
// and stop take only the paths (the caller holds paths.lock) and know nothing of containers.
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "../../../ffi/fs.ts";
import { join } from "node:path";
import { launch } from "../../../ffi/launcher.ts";
import { CtrnetError } from "../../errors.ts";
import { running, startTimeOf, stopByPid, type TrackedProcess } from "../../process/supervise.ts";
import { selfCommand } from "../../rootless/self.ts";
import { DnsProcessFile, HelperRestartsFile, readJsonFile } from "../../schema/state-files.ts";
import { writeFileAtomic } from "../../state/atomic-file.ts";
import type { DnsStatus } from "../../schema/dns.ts";
import { readDnsConfig, statusPathOf, waitForDnsStatus } from "./config.ts";
import { startNicedEnv } from "../../process/priority.ts";

/** The files of the helper, in one directory of the runtime directory. */
export interface DnsHelperPaths {
  dir: string;
  config: string;
  /** pid and start time of the running helper. */
  process: string;
  /** Its stderr: why it failed to start, its warnings. */
  log: string;
  /** How often it was started again after it died, and when (see noteDnsRestart). */
  restarts: string;
  lock: string;
}

export function dnsHelperPaths(runtimeDir: string): DnsHelperPaths {
  const dir = join(runtimeDir, "dns");
  return { dir, config: join(dir, "config.json"), process: join(dir, "helper.json"), log: join(dir, "helper.log"), restarts: join(dir, "restarts.json"), lock: join(runtimeDir, "dns.lock") };
}

/** How long a new helper has to listen: a compiled ctrnet starts in a few ms, a loaded machine takes longer. */
const READY_TIMEOUT_MS = 10_000;

/** The helper written down, whether or not it still runs, with the user namespace of its supervisor. */
export function dnsHelperProcess(paths: DnsHelperPaths): (TrackedProcess & { supervisedIn?: number }) | undefined {
  return readJsonFile(() => readFileSync(paths.process, "utf8"), DnsProcessFile);
}

export interface DnsRestarts {
  count: number;
  /** Milliseconds since the epoch. */
  lastAt?: number;
  /** Why the last attempt failed; absent once one succeeded. */
  error?: string;
}

export function dnsRestarts(paths: DnsHelperPaths): DnsRestarts {
  return readJsonFile(() => readFileSync(paths.restarts, "utf8"), HelperRestartsFile) ?? { count: 0 };
}

/** A helper started again after it died (or why the attempt failed): kept until the helper stops for good. */
export function noteDnsRestart(paths: DnsHelperPaths, error?: string): void {
  const before = dnsRestarts(paths);
  const after = error === undefined ? { count: before.count + 1, lastAt: Date.now() } : { ...before, error };
  writeFileAtomic(paths.restarts, JSON.stringify(after));
}

export function dnsHelperRunning(paths: DnsHelperPaths): TrackedProcess | undefined {
  const proc = dnsHelperProcess(paths);
  return proc && running(proc) ? proc : undefined;
}

function lastLine(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").at(-1) ?? "";
  } catch {
    return "";
  }
}

export interface StartDnsOptions {
  /** An open fd of the netns to serve in (the rootless netns); this process's own when absent. */
  netnsFd?: number;
  /** argv that runs ctrnet (selfCommand() by default). */
  command?: readonly string[];
  /** The user namespace (inode) whose helper supervisor restarts it if it dies. */
  supervisedIn?: number;
}

/**
 * Starts the helper on the configuration already written at paths.config and returns at once: its start-up
 * (a few ms of runtime) overlaps the caller's work. waitForDnsHelper waits for it. Call under paths.lock with
 * no helper running.
 */
export function launchDnsHelper(paths: DnsHelperPaths, opts: StartDnsOptions = {}): void {
  if (!readDnsConfig(paths.config)) throw new CtrnetError(`${paths.config}: no DNS configuration to serve`);
  rmSync(statusPathOf(paths.config), { force: true });
  const devNull = openSync("/dev/null", "r+");
  const log = openSync(paths.log, "w", 0o600);
  try {
    const argv = [...(opts.command ?? selfCommand()), "_dns", "--config", paths.config];
    const env = { ...process.env, CTRNET_LOG_LEVEL: process.env.CTRNET_LOG_LEVEL ?? "warn" };
    // In this netns, Bun's own spawn does (detached: setsid, out of reach of a terminal's ^C and hangup: it
    // serves every container, not this command); the C launcher, which joins a netns, costs its first
    // compile (about 3 ms) on the first container's create. ctrnet opens its own files O_CLOEXEC, so the
    // helper inherits none (a lock held now among them).
    const pid =
      opts.netnsFd === undefined
        ? spawnDetached(argv, env, [devNull, devNull, log])
        : launch({ argv, env, join: [{ fd: opts.netnsFd, type: "net" as const }], fds: { 0: devNull, 1: devNull, 2: log }, setsid: true }).pid;
    const startTime = startTimeOf(pid);
    // whole or not at all: the supervisor reads it when it changes
    if (startTime !== undefined) writeFileAtomic(paths.process, JSON.stringify({ pid, startTime, ...(opts.supervisedIn ? { supervisedIn: opts.supervisedIn } : {}) }));
  } finally {
    closeSync(devNull);
    closeSync(log);
  }
}

function spawnDetached(argv: string[], env: Record<string, string | undefined>, stdio: [number, number, number]): number {
  // its start-up yields to this command's attach: it starts niced, by its own hand before anything else, and
  // takes its normal priority back once it serves (runDnsHelper)
  const child = Bun.spawn(argv, { env: startNicedEnv(env), stdio, detached: true });
  // this command does not wait for it: it outlives the command
  child.unref();
  return child.pid;
}

/**
 * Until the launched helper serves its first configuration (from then on it takes SIGHUP). Throws with the
 * helper's own last words when it exits or listens nowhere it should; nothing is left running then, and
 * its files are gone unless `keep` (the supervisor's restart, to be tried again on the same configuration).
 */
export async function waitForDnsHelper(paths: DnsHelperPaths, opts: { keep?: boolean } = {}): Promise<DnsStatus> {
  const proc = dnsHelperProcess(paths);
  const deadline = performance.now() + READY_TIMEOUT_MS;
  let status: DnsStatus | null = null;
  while (performance.now() < deadline) {
    status = await waitForDnsStatus(paths.config, 0, 20);
    if (status || !proc || !running(proc)) break;
  }
  // a gateway not listened on yet (IPv6 under DAD) is tried again by the server itself
  if (status && (status.listening.length > 0 || status.errors.length === 0)) return status;
  if (proc) await stopByPid("DNS server", proc).catch(() => {});
  const why = status?.errors.join("; ") || lastLine(paths.log) || (status ? "" : "it exited before it listened");
  if (!opts.keep) forgetDnsHelper(paths);
  throw new CtrnetError(`DNS server for container names did not start: ${why}`);
}

/** launchDnsHelper, then waitForDnsHelper. */
export async function startDnsHelper(paths: DnsHelperPaths, opts: StartDnsOptions = {}): Promise<DnsStatus> {
  launchDnsHelper(paths, opts);
  return waitForDnsHelper(paths);
}

/** A helper told to stop closes its sockets and exits within a few ms: looked for every ms for this long. */
const QUICK_STOP_MS = 200;

/**
 * Stops the helper written down (only that process: a recycled pid is never signalled) and removes its
 * files; throws when it would not stop, even on SIGKILL.
 */
export async function stopDnsHelper(paths: DnsHelperPaths): Promise<void> {
  const proc = dnsHelperProcess(paths);
  if (proc && running(proc)) {
    try {
      process.kill(proc.pid, "SIGTERM");
    } catch {
      // gone already
    }
    // its port 53 must be free before the next ctrnet's helper listens there: wait for the exit, closely
    for (const end = performance.now() + QUICK_STOP_MS; running(proc) && performance.now() < end; ) await Bun.sleep(1);
    if (running(proc)) await stopByPid("DNS server", proc);
  }
  forgetDnsHelper(paths);
}

function forgetDnsHelper(paths: DnsHelperPaths): void {
  for (const p of [paths.process, paths.config, statusPathOf(paths.config), paths.log, paths.restarts]) rmSync(p, { force: true });
  if (existsSync(paths.dir)) rmSync(paths.dir, { recursive: true, force: true });
}
