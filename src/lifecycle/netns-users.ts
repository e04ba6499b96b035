// Which processes live in a network namespace: `gc` never tears down a container with one inside (a
// server whose helper died is still a container someone runs).
import { readdirSync, statSync } from "../../ffi/fs.ts";

/**
 * Pids of the processes whose main thread is in a netns, by the netns's inode, read once from /proc.
 * Processes this user may not inspect are not counted.
 */
export function netnsUsers(): Map<number, number[]> {
  const users = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let inode: number;
    try {
      inode = statSync(`/proc/${entry}/ns/net`).ino;
    } catch {
      // gone, a kernel thread, or another user's
      continue;
    }
    const pids = users.get(inode);
    if (pids) pids.push(Number(entry));
    else users.set(inode, [Number(entry)]);
  }
  return users;
}
