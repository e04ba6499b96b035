import type { PortMapping } from "../schema/ports.ts";
import type { ContainerRecord } from "../state/index.ts";

/**
 * The published ports a container's network at `index` (in its driver's attachment order) carries: the
 * container's on the first, none on the others, as podman gives them only to the first network. When
 * the first goes, the next one becomes first and takes them over.
 */
export function publishedOn(rec: ContainerRecord, index: number): readonly PortMapping[] {
  return index === 0 ? rec.ports : [];
}
