// Small files next to the state database that outlive a record or say what a record can't: which netns
// files ctrnet made (so `gc` may remove them when no record names them any more, and never another tool's),
// which process a container's netns was adopted from, and the pids and start times of its helper
// processes. They stay files, not rows: a damaged database is set aside and replaced (db.ts), and these
// are what lets gc still find and stop what its containers left.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { AdoptedProcess, TrackedProcess } from "../process/supervise.ts";
import { AdoptedProcessFile, HelperPidsFile, readJsonFile } from "../schema/state-files.ts";
import type { HelperKind } from "./record.ts";

/** Where the files live: the runtime directory of a command's context. */
type Context = { readonly runtimeDir: string };

function dir(ctx: Context, kind: "netns" | "processes" | "helpers"): string {
  const path = join(ctx.runtimeDir, kind);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return path;
}

/** Written before the netns file is made, removed after it is gone. */
export function markNetns(ctx: Context, netnsPath: string): void {
  writeFileSync(join(dir(ctx, "netns"), basename(netnsPath)), netnsPath, { mode: 0o600 });
}

export function unmarkNetns(ctx: Context, netnsPath: string): void {
  rmSync(join(dir(ctx, "netns"), basename(netnsPath)), { force: true });
}

/** Paths of every netns file ctrnet made and has not removed yet. */
export function markedNetns(ctx: Context): string[] {
  const d = dir(ctx, "netns");
  return readdirSync(d).flatMap((name) => {
    try {
      return [readFileSync(join(d, name), "utf8")];
    } catch {
      return [];
    }
  });
}

export function recordProcess(ctx: Context, id: string, proc: AdoptedProcess): void {
  writeFileSync(join(dir(ctx, "processes"), id), JSON.stringify(proc), { mode: 0o600 });
}

export function adoptedProcess(ctx: Context, id: string): AdoptedProcess | undefined {
  return readJsonFile(() => readFileSync(join(dir(ctx, "processes"), id), "utf8"), AdoptedProcessFile);
}

export function forgetProcess(ctx: Context, id: string): void {
  rmSync(join(dir(ctx, "processes"), id), { force: true });
}

export type HelperPids = Partial<Record<HelperKind, TrackedProcess>>;

/** The directory of helper files, and of slirp4netns's API sockets. */
export function helpersDir(ctx: Context): string {
  return dir(ctx, "helpers");
}

function helpersPath(ctx: Context, id: string): string {
  return join(dir(ctx, "helpers"), `${id}.json`);
}

export function readHelperPids(ctx: Context, id: string): HelperPids {
  return readJsonFile(() => readFileSync(helpersPath(ctx, id), "utf8"), HelperPidsFile) ?? {};
}

export function writeHelperPids(ctx: Context, id: string, pids: HelperPids): void {
  writeFileSync(helpersPath(ctx, id), JSON.stringify(pids), { mode: 0o600 });
}

export function forgetHelperPids(ctx: Context, id: string): void {
  rmSync(helpersPath(ctx, id), { force: true });
}

/** Ids of containers whose helpers are written down; some may have no record any more. */
export function containersWithHelpers(ctx: Context): string[] {
  return readdirSync(dir(ctx, "helpers")).flatMap((f) => (f.endsWith(".json") ? [f.slice(0, -".json".length)] : []));
}
