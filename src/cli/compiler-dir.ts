// Where Bun's cc stages its headers (ffi/cc-dir.ts, ffi/compile.ts). With no BUN_TMPDIR from the caller,
// in ctrnet's runtime directory (tmpfs), set at the first compile. With one Bun cannot use (bun-cc-UID
// belongs to another user, or shows as nobody's inside a user namespace), Bun would leave a directory
// behind in every process, and the variable is Bun's own from its start-up: such a process runs itself
// again with BUN_TMPDIR in ctrnet's runtime directory before doing anything.
import { mkdirSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { compilerDirUsable, stageHeadersIn } from "../../ffi/cc-dir.ts";
import { selfCommand } from "../rootless/self.ts";
import { runtimeDir } from "../state/runtime-dir.ts";

function compilerDir(): string {
  return join(runtimeDir(), "tmp");
}

/** For a process whose caller set no BUN_TMPDIR. */
export function stageHeadersInRuntimeDir(): void {
  stageHeadersIn(compilerDir);
}

/** Returns when Bun's own directory will do, or when nothing better can be had; otherwise never returns. */
export function ensureCompilerDir(): void {
  if (compilerDirUsable()) return;
  const dir = compilerDir();
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
