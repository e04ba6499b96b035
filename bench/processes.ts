// Running the measured commands. Wall time is taken around a synchronous spawn, so nothing of the event loop
// lands between the exit and the clock. Peak memory comes from GNU time: a process's ru_maxrss also holds the
// memory of whatever it was before exec, and a child forked from this Bun process starts as a copy of it.
import { readFileSync } from "node:fs";

export interface Timed {
  ms: number;
  stdout: string;
}

/** argv as a shell would take it, for the report and for error messages. */
export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(" ");
}

export class CommandError extends Error {
  constructor(argv: readonly string[], status: string, output: string) {
    super(`${commandLine(argv)} failed (${status}): ${output.trim() || "no output"}`);
  }
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: Uint8Array;
}

/** Longer than any single measured command takes even on a loaded machine; a hang fails the run instead of stalling it. */
const TIMEOUT_MS = 60_000;

/** Runs argv to completion and times it; a failure throws with the command and what it said. */
export function timed(argv: readonly string[], opts: RunOptions = {}): Timed {
  const t0 = performance.now();
  const r = Bun.spawnSync([...argv], {
    env: opts.env ?? process.env,
    stdin: opts.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: TIMEOUT_MS,
  });
  const elapsed = performance.now() - t0;
  const stdout = r.stdout.toString();
  if (r.exitCode !== 0) throw new CommandError(argv, String(r.exitCode ?? r.signalCode), `${r.stderr.toString()}${stdout}`);
  return { ms: elapsed, stdout };
}

/** Like timed, under `/usr/bin/time`, adding the peak resident set of the process and the children it waited for. */
export function timedWithPeakRss(argv: readonly string[], rssFile: string, opts: RunOptions = {}): Timed & { rssBytes: number } {
  const t = timed(["/usr/bin/time", "-o", rssFile, "-f", "%M", ...argv], opts);
  return { ...t, rssBytes: Number(readFileSync(rssFile, "utf8").trim().split("\n").at(-1)) * 1024 };
}

/** stdout of a command that must succeed; for set-up steps and version strings. */
export function run(argv: readonly string[], opts: RunOptions = {}): string {
  return timed(argv, opts).stdout;
}

/** stdout of a running child once it exits, killing it after limitMs; throws when it fails. */
export async function output(p: Bun.Subprocess<"ignore", "pipe", "pipe">, argv: readonly string[], limitMs: number): Promise<string> {
  const timer = setTimeout(() => p.kill("SIGKILL"), limitMs);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (p.exitCode !== 0) throw new CommandError(argv, String(p.exitCode ?? p.signalCode), `${err}${out}`);
  return out;
}
