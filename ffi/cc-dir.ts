// Where Bun's cc (compile.ts) stages its headers, and whether Bun will use that place. Measured with Bun
// 1.4.5: it is $BUN_TMPDIR (else $TMPDIR, else /tmp)/bun-cc-UID, read from the C environment at the first
// compile and kept, so setting process.env.BUN_TMPDIR changes nothing. Bun uses it only when it is a directory (not a symlink)
// owned by the process's uid and writable by no one else, or when it can make it; otherwise each process
// makes a new `.RANDOM-UID.bun-cc` beside it, which nothing ever removes.
import { accessSync, constants, lstatSync } from "./fs.ts";
import { join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

export function bunTmpDir(env: Env = process.env): string {
  return env.BUN_TMPDIR || env.TMPDIR || "/tmp";
}

export function compilerDirUsable(env: Env = process.env, uid: number = process.getuid!()): boolean {
  const tmp = bunTmpDir(env);
  try {
    const st = lstatSync(join(tmp, `bun-cc-${uid}`));
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    try {
      accessSync(tmp, constants.W_OK | constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
}

let headersDir: (() => string) | undefined;

/**
 * Where Bun's headers go at the first compile (compile.ts), for a process whose caller set no BUN_TMPDIR:
 * `dir()` is called then, made (0700) if need be, and used when Bun would take it; otherwise Bun's default
 * stays. Here rather than in compile.ts, so that setting it does not load bun:ffi and the compiler.
 */
export function stageHeadersIn(dir: () => string): void {
  headersDir = dir;
}

/** The directory stageHeadersIn set, once: the first compile takes it. */
export function takeHeadersDir(): (() => string) | undefined {
  const dir = headersDir;
  headersDir = undefined;
  return dir;
}
