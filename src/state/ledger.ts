// Small files next to the state database that outlive a record or say what a record can't: which netns
// files ctrnet made (so `gc` may remove them when no record names them any more, and never another tool's),
// which process a container's netns was adopted from, and the pids and start times of its helper
// processes. They stay files, not rows: a damaged database is set aside and replaced (db.ts), and these
// are what lets gc still find and stop what its containers left.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "../../ffi/fs.ts";
import { basename, join } from "node:path";
import type { AdoptedProcess, TrackedProcess } from "../process/supervise.ts";
import { AdoptedProcessFile, HelperPidsFile, readJsonFile, SupervisorFile } from "../schema/state-files.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import type { HelperKind } from "./record.ts";

/** Where the files live: the runtime directory of a command's context. */
type Context = { readonly runtimeDir: string };

function dir(ctx: Context, kind: "netns" | "processes" | "helpers"): string {
  const path = join(ctx.runtimeDir, kind);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return path;
}

/**
 * The same path, not made: what only reads (or writes through writeFileAtomic, which makes it) must not
 * bring back a state directory removed under a running process (the helper supervisor).
 */
function place(ctx: Context, kind: "helpers" | "supervisors"): string {
  return join(ctx.runtimeDir, kind);
}

/** The file names in a directory of ours; none when it does not exist. */
function namesIn(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
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

export interface HelperRestarts {
  count: number;
  /** Milliseconds since the epoch. */
  lastAt?: number;
  /** Why the last attempt failed; absent once one succeeded. */
  error?: string;
}

export type HelperPids = Partial<Record<HelperKind, TrackedProcess>> & {
  /** The user namespace (inode) whose supervisor restarts these helpers; absent: nobody does (`ctrnet run`). */
  supervisedIn?: number;
  /** Root: the supervisor holds the host ports DNATed to the container, as podman's conmon does. */
  holdsPorts?: boolean;
  restarts?: Partial<Record<HelperKind, HelperRestarts>>;
};

/** The directory of helper files, and of slirp4netns's API sockets. */
export function helpersDir(ctx: Context): string {
  return dir(ctx, "helpers");
}

function helpersPath(ctx: Context, id: string): string {
  return join(place(ctx, "helpers"), `${id}.json`);
}

export function readHelperPids(ctx: Context, id: string): HelperPids {
  return readJsonFile(() => readFileSync(helpersPath(ctx, id), "utf8"), HelperPidsFile) ?? {};
}

/** Whole or not at all: the supervisor reads these files while commands write them. */
export function writeHelperPids(ctx: Context, id: string, pids: HelperPids): void {
  writeFileAtomic(helpersPath(ctx, id), JSON.stringify(pids));
}

export function forgetHelperPids(ctx: Context, id: string): void {
  rmSync(helpersPath(ctx, id), { force: true });
}

/** Where the supervisor of the helpers started in one user namespace is written down (see lifecycle/supervisor.ts). */
export function supervisorFiles(ctx: Context, userns: number): { pidFile: string; lockFile: string; socketFile: string } {
  const d = place(ctx, "supervisors");
  return { pidFile: join(d, `${userns}.json`), lockFile: join(d, `${userns}.lock`), socketFile: join(d, `${userns}.sock`) };
}

/** The user namespaces (inodes) some supervisor of this state root was started for. */
export function supervisorNamespaces(ctx: Context): number[] {
  return namesIn(place(ctx, "supervisors")).flatMap((f) => (/^[0-9]+\.json$/.test(f) ? [Number(f.slice(0, -".json".length))] : []));
}

/** The supervisor, and the watchdog that starts it again if it dies. */
export type SupervisorProcess = TrackedProcess & { watchdog?: TrackedProcess };

export function readSupervisor(ctx: Context, userns: number): SupervisorProcess | undefined {
  return readJsonFile(() => readFileSync(supervisorFiles(ctx, userns).pidFile, "utf8"), SupervisorFile);
}

export function writeSupervisor(ctx: Context, userns: number, proc: SupervisorProcess): void {
  writeFileAtomic(supervisorFiles(ctx, userns).pidFile, JSON.stringify(proc));
}

export function forgetSupervisor(ctx: Context, userns: number): void {
  rmSync(supervisorFiles(ctx, userns).pidFile, { force: true });
}

/** Ids of containers whose helpers are written down; some may have no record any more. */
export function containersWithHelpers(ctx: Context): string[] {
  return namesIn(place(ctx, "helpers")).flatMap((f) => (f.endsWith(".json") ? [f.slice(0, -".json".length)] : []));
}
