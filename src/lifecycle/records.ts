// Small pure steps on container records.
import type { ContainerRecord, ContainerState } from "../state/index.ts";

/** The record with this exact id or name; a prefix doesn't count (nor makes the lookup ambiguous). */
export function findExact(state: ContainerState, idOrName: string): ContainerRecord | undefined {
  let rec: ContainerRecord | undefined;
  try {
    rec = state.find(idOrName);
  } catch {
    return undefined;
  }
  return rec && (rec.id === idOrName || rec.name === idOrName) ? rec : undefined;
}
