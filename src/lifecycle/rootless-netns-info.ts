// `ctrnet rootless-netns info|enter` and `unshare --rootless-netns`: what the rootless netns is now, and
// ways into it.
import { close } from "../../ffi/libc.ts";
import type { ExitStatus, LaunchedProcess } from "../../ffi/launcher.ts";
import { CtrnetError, errorMessage, UsageError } from "../errors.ts";
import { log } from "../log.ts";
import type { Context } from "./context.ts";
import { enterRootlessNetns, rootlessNetnsMounts } from "../rootless/netns-exec.ts";
import { addUser, readRootlessNetnsState, releaseRootlessNetns, removeUser, resolvConfPath } from "../rootless/netns.ts";
import { netnsUsable, openNetns } from "../netns/index.ts";
import { running } from "../process/supervise.ts";

export interface RootlessNetnsInfo {
  exists: boolean;
  path: string;
  /** The way out's process (the name from before pasta could be it), and which program it is. */
  slirp4netns: { pid: number; running: boolean } | null;
  program: string | null;
  /** The way out's address with its prefix (slirp4netns's tap0, pasta's copy of the host's), gateway and DNS. */
  address: string | null;
  gateway: string | null;
  dns: string | null;
  resolvConf: string | null;
  attached: { container: string; network: string; interface: string; addresses: string[] }[];
}

function requireRootless(ctx: Context): void {
  if (!ctx.rootless) throw new UsageError("the rootless netns is a rootless user's: root's bridge networks live in the host's network namespace");
}

export async function rootlessNetnsInfo(ctx: Context): Promise<RootlessNetnsInfo> {
  requireRootless(ctx);
  const paths = ctx.rootlessNetns;
  const exists = netnsUsable(paths.netns);
  const state = exists ? readRootlessNetnsState(paths) : undefined;
  const attached = await ctx.cni.cachedAttachments();
  const results = await Promise.all(attached.map((a) => ctx.cni.cachedResult(a)));
  return {
    exists,
    path: paths.netns,
    slirp4netns: state?.slirp4netns ? { pid: state.slirp4netns.pid, running: running(state.slirp4netns) } : null,
    program: state ? (state.program ?? "slirp4netns") : null,
    address: state ? `${state.ip}/${state.prefixLength}` : null,
    gateway: state?.gateway ?? null,
    dns: state?.dns ?? null,
    resolvConf: state ? resolvConfPath(paths) : null,
    attached: attached.map((a, i) => ({
      container: a.containerId,
      network: a.network,
      interface: a.ifName,
      addresses: results[i]?.ips.map((ip) => ip.address) ?? [],
    })),
  };
}

/** argv inside the rootless netns, with the mounts the plugins get; stdio inherited. */
export function enterRootlessNetnsOf(ctx: Context, argv: string[]): LaunchedProcess {
  requireRootless(ctx);
  const paths = ctx.rootlessNetns;
  if (!netnsUsable(paths.netns)) {
    throw new CtrnetError(`there is no rootless netns (${paths.netns}): it exists while a rootless container is on a bridge network`);
  }
  const fd = openNetns(paths.netns);
  try {
    return enterRootlessNetns(fd, rootlessNetnsMounts(paths, { netnsDir: ctx.netnsDir, cacheDir: ctx.cni.cacheDir }), argv);
  } finally {
    close(fd);
  }
}

/**
 * `unshare --rootless-netns`, podman's: argv in the rootless netns as `enter` runs it, the namespace made
 * first when no container has it (its way out started as for a container), and kept while argv runs, as
 * podman's ref count keeps it; removed afterwards when no container is attached. onStart gets the child
 * (for signals). Resolves with how it ended.
 */
export async function runInRootlessNetns(ctx: Context, argv: string[], onStart: (child: LaunchedProcess) => void): Promise<ExitStatus> {
  requireRootless(ctx);
  const paths = ctx.rootlessNetns;
  await ctx.withRootlessNetns(async () => addUser(paths, process.pid));
  try {
    const fd = openNetns(paths.netns);
    let child: LaunchedProcess;
    try {
      child = enterRootlessNetns(fd, rootlessNetnsMounts(paths, { netnsDir: ctx.netnsDir, cacheDir: ctx.cni.cacheDir }), argv);
    } finally {
      close(fd);
    }
    onStart(child);
    return await child.exited;
  } finally {
    removeUser(paths, process.pid);
    const errors = await releaseRootlessNetns(paths, async () => (await ctx.cni.cachedAttachments()).length > 0);
    for (const err of errors) log.warn(`removing the rootless netns: ${errorMessage(err)}`);
  }
}
