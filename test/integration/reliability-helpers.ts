// What the reliability tests (issue 18) share: the binary with extra environment, and the check that
// an error is one line.
import { expect } from "bun:test";
import { BINARY, type CliResult } from "../helpers/binary.ts";
import type { Installation } from "./lifecycle-helpers.ts";

export function oneLine(stderr: string): void {
  expect(stderr.endsWith("\n")).toBe(true);
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
}

/** The binary with the installation's environment and `env` over it. */
export function cliWith(inst: Installation, args: string[], env: Record<string, string> = {}): CliResult {
  const r = Bun.spawnSync([BINARY, ...args], { env: { ...process.env, ...inst.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Exit 2, nothing on stdout, one line on stderr containing message. */
export function refused(inst: Installation, args: string[], message: string, env: Record<string, string> = {}): string {
  const r = cliWith(inst, args, env);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  oneLine(r.stderr);
  expect(r.stderr).toContain(message);
  return r.stderr;
}
