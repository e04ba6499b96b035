// Network namespace work on a disposable C thread that enters and never comes back (see nsthread.c for why
// the JS thread must not enter a network namespace itself). Compiled on first use, in a few milliseconds.
import { embedC } from "./compile.ts";
import { SysError } from "./errno.ts";
import source from "./nsthread.c" with { type: "text" };

const nsthread = embedC("nsthread.c", source, {
  nsthread_socket: { args: ["i32", "i32", "i32", "i32", "ptr"], returns: "i32" },
  nsthread_create_netns: { args: ["ptr", "ptr"], returns: "i32" },
  nsthread_open: { args: ["i32", "ptr", "i32", "ptr"], returns: "i32" },
});

// Steps as numbered in nsthread.c.
const STEP_NAMES: Record<number, string> = { 1: "pthread_create", 2: "setns", 3: "socket", 4: "unshare", 5: "mount", 6: "open" };

function check(ret: number, step: Int32Array, detail: (syscall: string) => string): number {
  if (ret >= 0) return ret;
  const syscall = STEP_NAMES[step[0]!] ?? `nsthread step ${step[0]}`;
  throw new SysError(syscall, -ret, detail(syscall));
}

/** A close-on-exec socket created inside the network namespace nsFd refers to; this thread never enters it. */
export function socketInNetns(nsFd: number, domain: number, type: number, protocol: number): number {
  const step = new Int32Array(1);
  const ret = nsthread().nsthread_socket(nsFd, domain, type, protocol, step);
  return check(ret, step, (syscall) => (syscall === "socket" ? `domain ${domain} protocol ${protocol} in netns fd ${nsFd}` : `netns fd ${nsFd}`));
}

/** A new network namespace, bind-mounted onto path (an existing file); this thread never enters it. */
export function createNetnsAt(path: string): void {
  const step = new Int32Array(1);
  const ret = nsthread().nsthread_create_netns(Buffer.from(`${path}\0`, "utf8"), step);
  check(ret, step, (syscall) => (syscall === "mount" ? `new network namespace on ${path}` : "network namespace"));
}

/**
 * A close-on-exec fd of path opened from inside the network namespace nsFd refers to, for files whose
 * meaning depends on the opener's netns (/proc/sys/net/*); this thread never enters it.
 */
export function openInNetns(nsFd: number, path: string, flags: number): number {
  const step = new Int32Array(1);
  const ret = nsthread().nsthread_open(nsFd, Buffer.from(`${path}\0`, "utf8"), flags, step);
  return check(ret, step, (syscall) => (syscall === "open" ? `${path} in netns fd ${nsFd}` : `netns fd ${nsFd}`));
}
