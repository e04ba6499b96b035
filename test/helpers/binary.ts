// The compiled binary the CLI tests drive, rebuilt when any source is newer than it.
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const BINARY = join(ROOT, "dist/ctrnet");
const SOURCES = ["src", "ffi", "build.ts", "package.json", "bun.lock"];

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((max, entry) => Math.max(max, newestMtime(join(path, entry))), st.mtimeMs);
}

function binaryMtime(): number {
  try {
    return statSync(BINARY).mtimeMs;
  } catch {
    return -1;
  }
}

/** Builds dist/ctrnet if it is missing or older than its sources; returns its path. */
export function ensureBinary(): string {
  const sources = Math.max(...SOURCES.map((s) => newestMtime(join(ROOT, s))));
  if (binaryMtime() >= sources) return BINARY;
  const build = Bun.spawnSync([process.execPath, "build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`bun build.ts failed:\n${build.stderr.toString()}${build.stdout.toString()}`);
  return BINARY;
}

export interface CliResult {
  /** null when the process was killed by a signal */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the binary to completion with extra environment. */
export function ctrnet(args: string[], env: Record<string, string> = {}): CliResult {
  const r = Bun.spawnSync([BINARY, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
