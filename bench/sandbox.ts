// The bench runs as pid 1 of private network, mount and pid namespaces, with a fresh tmpfs on /run and only lo
// up: bridges, veths, firewall rules, netns files, state and helper processes all live in there, traffic can
// only reach loopback and namespaces the bench made, and the kernel ends and frees everything when pid 1 exits,
// however it exits (`--kill-child` covers the outer process being killed, Ctrl-C included).

const IN_SANDBOX = "--in-sandbox";

/** The bench's own directory on the sandbox's /run. */
export const WORK = "/run/ctrnet-bench";

/** Re-runs `script` with `args` inside the sandbox; resolves to its exit status. */
export async function runInSandbox(script: string, args: readonly string[]): Promise<number> {
  const setup = ["mount -t tmpfs -o mode=0755 tmpfs /run", "ip link set lo up", 'exec "$@"'].join(" && ");
  const child = Bun.spawn(
    ["unshare", "--net", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc",
      "--", "sh", "-c", setup, "sh", process.execPath, script, IN_SANDBOX, ...args],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  // pid 1 ignores signals it has no handler for: pass them on as a kill the sandbox can't ignore.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => child.kill("SIGKILL"));
  return await child.exited;
}
