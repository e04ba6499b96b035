// What a netns path is now: usable, present but closed to us, or gone; and the names of the ones ctrnet makes.
import { existsSync, statSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { isSysError } from "../../ffi/errno.ts";
import { close } from "../../ffi/libc.ts";
import { openNetns } from "./open.ts";
import { removeNetns } from "./remove.ts";

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

/** Removes a netns file ctrnet made; already gone is fine. */
export function removeOwnedNetns(path: string): void {
  if (existsSync(path)) removeNetns(path);
}

export function netnsInode(path: string): number {
  return statSync(path).ino;
}
