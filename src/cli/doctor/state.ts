// Stale state: records a crashed command left half-made, network namespaces that are gone, helpers that
// died. Each is what `ctrnet gc` (or `ctrnet reload`) repairs; doctor only reports.
import { existsSync } from "../../../ffi/fs.ts";
import type { ContainerRecord } from "../../state/index.ts";
import { type Finding, ok, problem } from "./finding.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function checkState(records: readonly ContainerRecord[]): Finding[] {
  const out: Finding[] = [];
  for (const rec of records) {
    const name = rec.name ? `${rec.name} (${rec.id.slice(0, 12)})` : rec.id.slice(0, 12);
    if (rec.state !== "ready") {
      const since = new Date(rec.createdAt).toISOString();
      out.push(problem("state", `container ${name} is still ${rec.state} (created ${since}): the command making or removing it died`, "ctrnet gc"));
      continue;
    }
    if (rec.netns && !existsSync(rec.netns.path)) {
      out.push(problem("state", `container ${name}: its network namespace ${rec.netns.path} is gone`, `ctrnet gc (or ctrnet rm ${rec.id.slice(0, 12)})`));
    }
    for (const [helper, pid] of Object.entries(rec.helpers)) {
      if (pid !== null && !alive(pid)) {
        out.push(problem("state", `container ${name}: its ${helper} (pid ${pid}) is not running`, `ctrnet reload ${rec.id.slice(0, 12)} (or ctrnet rm ${rec.id.slice(0, 12)})`));
      }
    }
  }
  if (out.length === 0) out.push(ok("state", `${records.length} container record${records.length === 1 ? "" : "s"}, none stale`));
  return out;
}
