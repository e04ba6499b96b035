// `ctrnet rootless-netns info|enter`: what the rootless netns is now, and a way into it for debugging.
import { close } from "../../ffi/libc.ts";
import type { LaunchedProcess } from "../../ffi/launcher.ts";
import { CtrnetError, UsageError } from "../errors.ts";

import type { Context } from "./context.ts";
import { enterRootlessNetns, rootlessNetnsMounts } from "../rootless/netns-exec.ts";
import { readRootlessNetnsState, resolvConfPath } from "../rootless/netns.ts";
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
