import { statfsSync, unlinkSync } from "../../ffi/fs.ts";
import { isSysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";
import { UsageError } from "../errors.ts";
import { defaultNetnsDir, netnsPath } from "./dir.ts";

const BUSY_RETRIES = 50;
const BUSY_WAIT_MS = 10;

function unmount(path: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      libc.umount2(path, libc.MNT_DETACH);
      return;
    } catch (err) {
      // EINVAL: no longer a mount point; ENOENT: gone meanwhile, which unlink reports
      if (isSysError(err, "EINVAL", "ENOENT")) return;
      if (!isSysError(err, "EBUSY") || attempt === BUSY_RETRIES) throw err;
      Bun.sleepSync(BUSY_WAIT_MS);
    }
  }
}

/**
 * Unmounts and deletes a persistent network namespace, given by name (in dir) or by path. Only a
 * namespace mount is unmounted, so a wrong path cannot detach some other file system; a plain file (left
 * by a create that failed half-way) is just deleted.
 */
export function removeNetns(pathOrName: string, opts: { dir?: string } = {}): void {
  const { name, path } = netnsPath(pathOrName, opts.dir ?? defaultNetnsDir());
  const missing = (): UsageError =>
    new UsageError(`network namespace ${pathOrName.includes("/") ? path : `"${name}"`} does not exist`);
  let fsType: number;
  try {
    fsType = Number(statfsSync(path).type);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw missing();
    throw err;
  }
  if (fsType === libc.NSFS_MAGIC) unmount(path);
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw missing();
    throw err;
  }
}
