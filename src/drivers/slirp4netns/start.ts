// Starts slirp4netns for a network namespace, as podman's setupSlirp4netns (a container's own netns,
// stopped through its exit descriptor) and GetRootlessCNINetNs (the shared rootless netns, no exit
// descriptor, stopped by pid) do.
import { existsSync, rmSync } from "../../../ffi/fs.ts";
import { isSysError } from "../../../ffi/errno.ts";
import { close, pipe2 } from "../../../ffi/libc.ts";
import { CtrnetError, errorMessage } from "../../errors.ts";
import { log as logger } from "../../log.ts";
import { Netlink } from "../../netlink/index.ts";
import { writeSysctl } from "../../netns/index.ts";
import { type Slirp4netnsAddresses, slirp4netnsAddresses } from "./addresses.ts";
import { type Slirp4netnsTarget, slirp4netnsArgs } from "./argv.ts";
import { probeSlirp4netns } from "./features.ts";
import { openUnlinkedLog } from "./log.ts";
import { defaultSlirp4netnsOptions, type Slirp4netnsOptions } from "./options.ts";
import { settlesWithin, waitForReady } from "./ready.ts";

export type StartSlirp4netnsInput = Slirp4netnsTarget & {
  /** Default: slirp4netns from PATH. */
  binary?: string;
  /** Default: tap0. */
  tapName?: string;
  options?: Slirp4netnsOptions;
  /** Where slirp4netns listens for add_hostfwd and friends (port_handler=slirp4netns); must not exist yet. */
  apiSocket?: string;
  /**
   * true: slirp4netns lives as long as this process holds the returned handle (or until stop()), and
   * dies with it, even by SIGKILL. false: it outlives this process and is stopped by pid.
   */
  exitFd: boolean;
  /** Default 5000. */
  timeoutMs?: number;
  /** Default true. false is podman's no_pivot_root: for roots that cannot be pivoted (ramfs). */
  sandbox?: boolean;
  /** Where the (at once unlinked) log file is made. Default: the OS temporary directory. */
  logDir?: string;
  /** Where the feature probe of the binary is kept between processes (see probeSlirp4netns). */
  featuresCache?: string;
  /**
   * Called with the pid as soon as the process exists, before it is ready: a caller that records it
   * there can stop it even if this process dies while waiting (needed when there is no exit descriptor).
   */
  onSpawn?: (pid: number) => void;
};

export interface Slirp4netns extends Slirp4netnsAddresses {
  pid: number;
  tap: string;
  /** The tap's global IPv6 address (fd00::…, from slirp4netns's router advertisement) with enable_ipv6, once it came. */
  ip6?: string;
  apiSocket?: string;
  /** The tail of slirp4netns's output so far, for debug logs; "" once stopped. */
  log(): string;
  /** Stops slirp4netns (exit descriptor, or SIGTERM), SIGKILL after a grace time; removes the API socket. */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5000;
const STOP_GRACE_MS = 3000;
const API_SOCKET_POLL_MS = 2;

function which(program: string, hint: string): string {
  const found = Bun.which(program);
  if (found === null) throw new CtrnetError(`${program} not found in PATH; ${hint}`);
  return found;
}

export async function startSlirp4netns(input: StartSlirp4netnsInput): Promise<Slirp4netns> {
  const binary = input.binary ?? which("slirp4netns", "install slirp4netns or give its path");
  const options = input.options ?? defaultSlirp4netnsOptions();
  const tap = input.tapName ?? "tap0";
  const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const target: Slirp4netnsTarget = "netnsPath" in input ? { netnsPath: input.netnsPath } : { pid: input.pid };
  const { apiSocket } = input;
  const addresses = slirp4netnsAddresses(options.cidr);

  // In the child, the exit descriptor (if any) is 3 and the ready descriptor follows it.
  const command = slirp4netnsArgs({
    binary,
    features: probeSlirp4netns(binary, input.featuresCache),
    options,
    target,
    tapName: tap,
    apiSocket,
    exitFd: input.exitFd ? 3 : undefined,
    readyFd: input.exitFd ? 4 : 3,
    sandbox: input.sandbox ?? true,
  });
  // The sandbox pivots root and detaches the old one; where / is shared (systemd's default) those
  // unmounts would propagate back and strip this namespace's mounts. podman starts it with
  // CLONE_NEWNS and / made rprivate (the workaround for slirp4netns PR 153); util-linux unshare does the
  // same and then execs slirp4netns, so the pid stays slirp4netns's.
  const argv = [binary, ...command.args];
  if (command.sandboxed) {
    const unshare = which("unshare", "slirp4netns --enable-sandbox needs util-linux unshare; install it or disable the sandbox");
    argv.unshift(unshare, "--mount", "--propagation", "private", "--");
  }

  const netnsPath = "netnsPath" in target ? target.netnsPath : `/proc/${target.pid}/ns/net`;
  if (options.enableIPv6) prepareIPv6(netnsPath);

  if (apiSocket !== undefined && existsSync(apiSocket)) {
    throw new CtrnetError(`slirp4netns API socket ${apiSocket} already exists; is another slirp4netns using it?`);
  }

  const log = openUnlinkedLog("ctrnet-slirp4netns", input.logDir);
  // Every end stays close-on-exec here: Bun.spawn dup2()s each into its slot in the child, where the
  // copy is inheritable, and no other child of this process ever gets one (or the exit descriptor's
  // write end would outlive this process in it).
  const [exitR, exitW] = input.exitFd ? pipe2() : [undefined, undefined];
  const [readyR, readyW] = pipe2();
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(argv, {
      stdio: ["ignore", log.fd, log.fd, ...(exitR === undefined ? [] : [exitR]), readyW],
      // its own session, as podman's Setpgid: a ^C at the terminal must not take the network down
      detached: true,
    });
  } catch (err) {
    for (const fd of [exitW, readyR]) if (fd !== undefined) close(fd);
    log.close();
    throw new CtrnetError(`failed to start slirp4netns process ${binary}: ${(err as Error).message}`, { cause: err });
  } finally {
    close(readyW);
    if (exitR !== undefined) close(exitR);
  }
  try {
    input.onSpawn?.(proc.pid);
  } catch (err) {
    proc.kill("SIGKILL");
    await proc.exited;
    if (exitW !== undefined) close(exitW);
    close(readyR);
    log.close();
    throw err;
  }

  const fail = async (what: string): Promise<never> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await proc.exited;
    const message = `${binary} ${what}: ${JSON.stringify(withoutUsage(log.read()))}`;
    if (exitW !== undefined) close(exitW);
    log.close();
    if (apiSocket !== undefined) rmSync(apiSocket, { force: true });
    throw new CtrnetError(message);
  };
  const exitStatus = () =>
    proc.signalCode !== null ? `killed by signal ${proc.signalCode}` : `failed: exit status ${proc.exitCode}`;

  const outcome = await waitForReady(readyR, proc.exited, timeoutMs);
  if (outcome === "exited") return fail(exitStatus());
  if (outcome === "timeout") return fail(`did not report ready within ${timeoutMs} ms and was stopped`);
  if (apiSocket !== undefined && !(await waitForFile(apiSocket, proc.exited, timeoutMs))) {
    if (proc.exitCode !== null || proc.signalCode !== null) return fail(exitStatus());
    return fail(`did not create its API socket ${apiSocket} within ${timeoutMs} ms and was stopped`);
  }
  const ip6 = options.enableIPv6 ? await untilGlobalIPv6(netnsPath, tap, proc.exited, timeoutMs) : undefined;
  if (options.enableIPv6 && ip6 === undefined) {
    if (proc.exitCode !== null || proc.signalCode !== null) return fail(exitStatus());
    logger.warn(`slirp4netns gave ${tap} no IPv6 address within ${timeoutMs} ms; the container starts without one`);
  }
  // This process's event loop must not wait for slirp4netns: it runs as long as the container does.
  proc.unref();

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    if (exitW !== undefined) close(exitW);
    else proc.kill("SIGTERM");
    if (!(await settlesWithin(proc.exited, STOP_GRACE_MS))) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    log.close();
    if (apiSocket !== undefined) rmSync(apiSocket, { force: true });
  };
  return {
    ...addresses,
    pid: proc.pid,
    tap,
    ip6,
    apiSocket,
    log: () => log.read(),
    stop: () => (stopping ??= stop()),
  };
}

/**
 * As podman: Duplicate Address Detection off in the netns before slirp4netns makes tap0, which takes the
 * `default` settings. slirp4netns is the only other node on the link, and with DAD on, the fd00::
 * address stays tentative (unusable) for about 2 s after slirp4netns reports ready. The router
 * solicitation goes out at once instead of after up to a second, so slirp4netns's advertisement, and with
 * it the address, follows within milliseconds. A kernel without IPv6 has no such files.
 */
function prepareIPv6(netns: string): void {
  const settings: [string, string, string][] = [
    ["default", "accept_dad", "0"],
    ["all", "accept_dad", "0"],
    ["default", "router_solicitation_delay", "0"],
  ];
  for (const [scope, key, value] of settings) {
    try {
      writeSysctl(["ipv6", "conf", scope, key], value, netns);
    } catch (err) {
      if (isSysError(err, "ENOENT")) return;
      throw new CtrnetError(`cannot set net.ipv6.conf.${scope}.${key} in ${netns}: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/** IFA_F_TENTATIVE: an IPv6 address that is not usable yet. */
const IFA_F_TENTATIVE = 0x40;
const IPV6_POLL_MS = 5;

function globalIPv6(nl: Netlink, tap: string): string | undefined {
  return nl.addresses({ link: tap, family: 6 }).find((a) => a.scope === 0 && (a.flags & IFA_F_TENTATIVE) === 0)?.address;
}

/**
 * slirp4netns reports ready once tap0 is up with its IPv4 address; the IPv6 one comes by SLAAC from its
 * router advertisement a moment later. Waiting for it here is what makes it usable when the container's
 * command starts, and lets published ports lead IPv6 clients to it. undefined when none came in time (or
 * slirp4netns exited).
 */
async function untilGlobalIPv6(netns: string, tap: string, exited: Promise<unknown>, timeoutMs: number): Promise<string | undefined> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const nl = Netlink.open({ netns });
  try {
    for (const deadline = performance.now() + timeoutMs; !gone && performance.now() < deadline; await Bun.sleep(IPV6_POLL_MS)) {
      const found = globalIPv6(nl, tap);
      if (found !== undefined) return found;
    }
    return undefined;
  } finally {
    nl.close();
  }
}

/** The usable global IPv6 address slirp4netns's advertisement gave the tap in netns, if any, as it is now. */
export function slirp4netnsIPv6(netns: string, tap = "tap0"): string | undefined {
  const nl = Netlink.open({ netns });
  try {
    return globalIPv6(nl, tap);
  } finally {
    nl.close();
  }
}

/** podman's WaitForFile: slirp4netns may report ready before it has bound its API socket. */
async function waitForFile(path: string, exited: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(path)) {
    if (gone || performance.now() >= deadline) return false;
    await Bun.sleep(API_SOCKET_POLL_MS);
  }
  return true;
}

/** slirp4netns follows a bad-argument message with its whole --help, which buries the message. */
function withoutUsage(log: string): string {
  const usage = log.search(/^Usage: /m);
  return usage < 0 ? log : log.slice(0, usage);
}
