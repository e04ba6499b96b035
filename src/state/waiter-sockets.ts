// Where crun's rootless createRuntime leaves its waiter's socket (hook/rendezvous.ts), and gc's sweep of the
// sockets whose waiters are gone: here, below the hook, so that gc needs nothing of it.
import { readdirSync, readFileSync, rmSync } from "../../ffi/fs.ts";
import { join } from "node:path";

/** A hash of the id: ids may be long (64 hex digits from podman) and sun_path holds 108 bytes. */
export function rendezvousPath(runtimeDir: string, id: string): string {
  const name = new Bun.CryptoHasher("sha256").update(id).digest("hex").slice(0, 16);
  return join(runtimeDir, "hooks", `${name}.sock`);
}

/**
 * Sockets of waiters that are gone (killed, or their machine rebooted with a persistent runtime dir): no
 * socket is bound at the path any more (/proc/net/unix lists every bound one). Removes them; returns their paths.
 */
export function removeStaleWaiterSockets(runtimeDir: string): string[] {
  const dir = join(runtimeDir, "hooks");
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".sock"));
  } catch {
    return [];
  }
  if (names.length === 0) return [];
  const bound = new Set(
    readFileSync("/proc/net/unix", "utf8")
      .split("\n")
      .slice(1)
      .map((line) => line.trim().split(/\s+/)[7])
      .filter((p): p is string => p !== undefined),
  );
  const removed: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (bound.has(path)) continue;
    rmSync(path, { force: true });
    removed.push(path);
  }
  return removed;
}

