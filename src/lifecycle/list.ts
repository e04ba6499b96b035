import type { ContainerRecord } from "../state/index.ts";
import type { Context } from "./context.ts";

/** Every container record, oldest first. */
export async function listContainers(ctx: Context): Promise<ContainerRecord[]> {
  return ctx.state().list();
}
