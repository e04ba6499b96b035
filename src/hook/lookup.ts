import type { Context } from "../lifecycle/index.ts";
import { findExact } from "../lifecycle/lookup.ts";
import type { ContainerRecord } from "../state/index.ts";

/** The record with exactly this OCI container id: a container whose name or id prefix matches is another one. */
export function recordOf(ctx: Context, id: string): ContainerRecord | undefined {
  const rec = findExact(ctx.state(), id);
  return rec?.id === id ? rec : undefined;
}
