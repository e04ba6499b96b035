// The container's network namespace as the lifecycle sees it: usable or gone, loopback, the process it
// was adopted from.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { isSysError } from "../../ffi/errno.ts";
import { close } from "../../ffi/libc.ts";
import { Netlink } from "../netlink/index.ts";
import { openNetns, removeNetns } from "../netns/index.ts";
import type { AdoptedProcess } from "./ledger.ts";
import { startTimeOf } from "./slirp-helpers.ts";

/** A name in the format of containers/common pkg/netns (`cni-` and a UUID's shape), chosen before creating it. */
export function plannedNetnsPath(netnsDir: string): string {
  return join(netnsDir, `cni-${crypto.randomUUID()}`);
}

/** True when path is a network namespace one can still enter. */
export function netnsUsable(path: string): boolean {
  try {
    close(openNetns(path));
    return true;
  } catch {
    return false;
  }
}

/** Usable, or there but closed to us: a starting crun container's /proc/PID/ns/net (see processAlive). */
export function netnsPresent(path: string): boolean {
  try {
    close(openNetns(path));
    return true;
  } catch (err) {
    return isSysError(err, "EACCES", "EPERM");
  }
}

/** Over netlink, not `ip`: the hot path spawns nothing but CNI plugins. */
export function bringLoopbackUp(netnsPath: string): void {
  const nl = Netlink.open({ netns: netnsPath });
  try {
    nl.linkSet("lo", { up: true });
  } finally {
    nl.close();
  }
}

/** Removes a netns file ctrnet made; already gone is fine. */
export function removeOwnedNetns(path: string): void {
  if (existsSync(path)) removeNetns(path);
}

export function netnsInode(path: string): number {
  return statSync(path).ino;
}

/**
 * Still running, and still in the namespace it was adopted from (so not a reused pid). Its netns may be
 * closed to us: crun's container until it execs its program (under `crun create`, for as long as `crun
 * start` waits), and any rootless runtime's container as seen from ctrnet's own user namespace. Then the
 * start time alone tells it (or, in an older record without one, it is taken as running): gc must not
 * tear down a container that lives.
 */
export function processAlive(proc: AdoptedProcess): boolean {
  const startTime = startTimeOf(proc.pid);
  if (startTime === undefined || (proc.startTime !== undefined && startTime !== proc.startTime)) return false;
  try {
    return statSync(`/proc/${proc.pid}/ns/net`).ino === proc.netnsInode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "EACCES" || code === "EPERM";
  }
}
