// Kernel parameters under /proc/sys/net, in the host's network namespace or in another one. A container
// network sets a few: forwarding on the host, route_localnet on a bridge, accept_dad off on a container's
// interface. Each is one open + write on this thread: for another namespace the open happens on a
// disposable thread that has entered it, since /proc/sys/net resolves against the opener's namespace.
import { close, O_RDONLY, O_WRONLY, open, read, write } from "../../ffi/libc.ts";
import { openInNetns } from "../../ffi/nsthread.ts";
import { UsageError } from "../errors.ts";
import { openNetns } from "./open.ts";

/**
 * A parameter as path segments below /proc/sys/net, e.g. ["ipv4", "conf", "br0", "route_localnet"]:
 * segments, not a dotted name, because interface names may contain dots.
 */
export type SysctlKey = readonly string[];

function sysctlPath(key: SysctlKey): string {
  if (key.length === 0 || key.some((s) => s === "" || s === "." || s === ".." || s.includes("/") || s.includes("\0"))) {
    throw new UsageError(`invalid sysctl key ${JSON.stringify(key.join("."))}`);
  }
  return `/proc/sys/net/${key.join("/")}`;
}

/** An fd of the parameter's file, opened in `netns` (an open fd or a path) or in this thread's own. */
function openSysctl(key: SysctlKey, flags: number, netns?: number | string): number {
  const path = sysctlPath(key);
  if (netns === undefined) return open(path, flags);
  const fd = typeof netns === "number" ? netns : openNetns(netns);
  try {
    return openInNetns(fd, path, flags);
  } finally {
    if (fd !== netns) close(fd);
  }
}

export function writeSysctl(key: SysctlKey, value: string, netns?: number | string): void {
  const fd = openSysctl(key, O_WRONLY, netns);
  try {
    write(fd, Buffer.from(value));
  } finally {
    close(fd);
  }
}

export function readSysctl(key: SysctlKey, netns?: number | string): string {
  const fd = openSysctl(key, O_RDONLY, netns);
  try {
    const buf = new Uint8Array(4096);
    const n = read(fd, buf);
    return Buffer.from(buf.subarray(0, n)).toString("utf8").trim();
  } finally {
    close(fd);
  }
}
