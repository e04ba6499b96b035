// Small files next to the state database that outlive a record or say what a record can't: which netns
// files ctrnet made (so `gc` may remove them when no record names them any more, and never another tool's),
// and which process a container's netns was adopted from.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { AdoptedProcess } from "../process/supervise.ts";

/** Where the files live: the runtime directory of a command's context. */
type Context = { readonly runtimeDir: string };

function dir(ctx: Context, kind: "netns" | "processes"): string {
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
  try {
    const parsed = JSON.parse(readFileSync(join(dir(ctx, "processes"), id), "utf8")) as Partial<AdoptedProcess>;
    if (typeof parsed.pid === "number" && typeof parsed.netnsInode === "number") {
      const proc: AdoptedProcess = { pid: parsed.pid, netnsInode: parsed.netnsInode };
      if (typeof parsed.startTime === "string") proc.startTime = parsed.startTime;
      return proc;
    }
  } catch {
    // none, or unreadable: nothing to watch
  }
  return undefined;
}

export function forgetProcess(ctx: Context, id: string): void {
  rmSync(join(dir(ctx, "processes"), id), { force: true });
}
