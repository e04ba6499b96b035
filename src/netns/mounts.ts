import * as libc from "../../ffi/libc.ts";
import { restoreNamespaceOrExit } from "./enter.ts";

/**
 * Runs fn with this thread in a new mount namespace whose mounts no longer propagate back (rslave), then
 * returns the thread to its original one. What fn mounts stays visible to children it spawned
 * synchronously (they keep the new namespace alive) and to nobody else.
 */
export function withPrivateMounts<T>(fn: () => T): T {
  // setns and unshare of mount namespaces are refused while the thread shares its fs_struct (root, cwd)
  // with Bun's other threads; giving the JS thread its own copy is harmless and stays so.
  libc.unshare(libc.CLONE_FS);
  const cwd = process.cwd();
  const original = libc.open("/proc/thread-self/ns/mnt", libc.O_RDONLY);
  try {
    libc.unshare(libc.CLONE_NEWNS);
    try {
      libc.mount(null, "/", null, libc.MS_REC | libc.MS_SLAVE);
      return fn();
    } finally {
      restoreNamespaceOrExit(original, libc.CLONE_NEWNS, "mount namespace");
      // setns into a mount namespace moves the thread to its root directory
      process.chdir(cwd);
    }
  } finally {
    libc.close(original);
  }
}
