// Bun's cc leaves a directory behind in every process that cannot use its per-uid one (ffi/cc-dir.ts),
// e.g. when /tmp/bun-cc-UID belongs to another user, or inside a user namespace where root's shows as
// nobody's. Bun reads its temporary directory only at start-up, so such a process runs itself again with
// BUN_TMPDIR in ctrnet's runtime directory before doing anything.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { compilerDirUsable } from "../../ffi/cc-dir.ts";
import { selfCommand } from "../rootless/self.ts";
import { runtimeDir } from "../state/db.ts";

/** Returns when Bun's own directory will do, or when nothing better can be had; otherwise never returns. */
export function ensureCompilerDir(): void {
  if (compilerDirUsable()) return;
  const dir = join(runtimeDir(), "tmp");
  const env = { ...process.env, BUN_TMPDIR: dir };
  // Run again only into a directory Bun will take: a second run finding it unusable too must not loop.
  if (process.env.BUN_TMPDIR === dir) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return;
  }
  if (!compilerDirUsable(env)) return;
  process.execve!(process.execPath, [...selfCommand(), ...process.argv.slice(2)], env);
}
