// For root tests and benchmarks only: puts the JS thread into a network namespace for a synchronous fn, so that a server
// (Bun.listen, Bun.udpSocket) or a child (Bun.spawn) a test makes lives there. ctrnet itself never does this:
// inside a user namespace the thread could not come back (see ffi/nsthread.c). As root it can.
import * as libc from "../../ffi/libc.ts";
import { openNetns } from "../../src/netns/index.ts";

/** fn must be synchronous: only what it does before returning happens inside. */
export function withNetns<T>(target: number | string, fn: () => T): T {
  const targetFd = typeof target === "number" ? target : openNetns(target);
  const home = libc.open("/proc/thread-self/ns/net", libc.O_RDONLY);
  try {
    libc.setns(targetFd, libc.CLONE_NEWNET);
    try {
      return fn();
    } finally {
      try {
        libc.setns(home, libc.CLONE_NEWNET);
      } catch (err) {
        // every later test would run in the wrong namespace
        console.error(`cannot return to the test's network namespace: ${err}`);
        process.exit(70);
      }
    }
  } finally {
    libc.close(home);
    if (targetFd !== target) libc.close(targetFd);
  }
}
