// Which user namespace this process is in: helpers started in one can only be restarted from inside it.
import { statSync } from "../../ffi/fs.ts";

/** This process's user namespace, by inode. */
export function userNamespaceId(): number {
  return statSync("/proc/self/ns/user").ino;
}
