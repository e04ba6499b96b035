import { readlinkSync } from "../../ffi/fs.ts";
import { isSysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";
import { NetnsNotFoundError, NotANetnsError } from "./errors.ts";

/**
 * Opens a network namespace file (a bind mount in a netns dir, or /proc/PID/ns/net) as an O_CLOEXEC fd,
 * after checking that it is one: on an nsfs (or, as pkg/ns allows, proc) file system, and of type
 * CLONE_NEWNET by ioctl_ns, so that a mount or user namespace file is refused here and not at setns.
 */
export function openNetns(path: string): number {
  let fd: number;
  try {
    fd = libc.open(path, libc.O_RDONLY);
  } catch (err) {
    if (isSysError(err, "ENOENT")) throw new NetnsNotFoundError(path);
    throw err;
  }
  try {
    const fsType = libc.fstatfsType(fd);
    if (fsType !== libc.NSFS_MAGIC && fsType !== libc.PROC_SUPER_MAGIC) {
      throw new NotANetnsError(path, `unknown filesystem type 0x${fsType.toString(16)}`);
    }
    let nsType: number;
    try {
      nsType = libc.nsType(fd);
    } catch (err) {
      throw isSysError(err, "ENOTTY", "EINVAL") ? new NotANetnsError(path, "not a namespace file") : err;
    }
    if (nsType !== libc.CLONE_NEWNET) throw new NotANetnsError(path, "it is another kind of namespace");
    return fd;
  } catch (err) {
    libc.close(fd);
    throw err;
  }
}

/** The network namespace of the calling thread, e.g. "net:[4026531840]". */
export function currentNetnsId(): string {
  return readlinkSync("/proc/thread-self/ns/net");
}
