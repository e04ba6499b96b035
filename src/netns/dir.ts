import { mkdirSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { isSysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";
import { validateName } from "../names.ts";
import { hostUid } from "../identity.ts";

/** env CTRNET_NETNS_DIR, else /run/netns for root (as `ip netns`), else $XDG_RUNTIME_DIR/netns (as podman). */
export function defaultNetnsDir(): string {
  const fromEnv = process.env.CTRNET_NETNS_DIR;
  if (fromEnv) return fromEnv;
  const uid = hostUid();
  if (uid === 0) return "/run/netns";
  return join(process.env.XDG_RUNTIME_DIR || `/run/user/${uid}`, "netns");
}

/** A name becomes a path in dir; anything with a slash is taken as a path as it is. */
export function netnsPath(pathOrName: string, dir = defaultNetnsDir()): { name: string; path: string } {
  if (pathOrName.includes("/")) return { name: pathOrName.slice(pathOrName.lastIndexOf("/") + 1), path: pathOrName };
  return { name: pathOrName, path: join(dir, validateName("network namespace name", pathOrName)) };
}

/**
 * Creates dir 0755 and makes it a shared mount point, bind-mounting it onto itself first if it is not a
 * mount point yet: a namespace mounted in it then propagates to mount namespaces made later (containers,
 * `ip netns exec`), which keep seeing it as a namespace file instead of an empty file.
 */
export function prepareNetnsDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (makeShared(dir)) return;
  // Not a mount point yet. Two ctrnets (or ip netns) that both found so would stack two bind mounts, and
  // one unmount would leave the dir busy: the first to hold the dir's lock binds it, the others find it bound.
  const fd = libc.open(dir, libc.O_RDONLY | libc.O_DIRECTORY | libc.O_CLOEXEC);
  try {
    libc.flock(fd, libc.LOCK_EX);
    if (makeShared(dir)) return;
    libc.mount(dir, dir, null, libc.MS_BIND | libc.MS_REC);
    libc.mount(null, dir, null, libc.MS_SHARED | libc.MS_REC);
  } finally {
    libc.close(fd);
  }
}

/** False when dir is no mount point (EINVAL). */
function makeShared(dir: string): boolean {
  try {
    libc.mount(null, dir, null, libc.MS_SHARED | libc.MS_REC);
    return true;
  } catch (err) {
    if (!isSysError(err, "EINVAL")) throw err;
    return false;
  }
}
