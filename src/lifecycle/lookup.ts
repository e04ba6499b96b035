// Finding containers: by exact id or name, all of them, and the one whose netns a `container:ID` container shares.
import { CtrnetError, UsageError } from "../errors.ts";
import type { NetworkDriver } from "../drivers/driver.ts";
import type { ContainerRecord, ContainerState } from "../state/index.ts";
import type { Context } from "./context.ts";

const MAX_SHARING_DEPTH = 32;

/** The container that owns the netns rec uses: rec itself, or the end of its container:ID chain. */
export function netnsOwner(state: ContainerState, rec: ContainerRecord): ContainerRecord {
  let current = rec;
  for (let hops = 0; current.mode.kind === "container"; hops++) {
    if (hops === MAX_SHARING_DEPTH) throw new CtrnetError(`container "${rec.id}" shares a netns through a loop of containers`);
    const target = state.find(current.mode.id);
    if (!target) throw new CtrnetError(`container "${current.id}" shares the netns of container "${current.mode.id}", which no longer exists`);
    current = target;
  }
  return current;
}

export function requireReady(rec: ContainerRecord): void {
  if (rec.state !== "ready") {
    throw new CtrnetError(`container "${rec.id}" is ${rec.state}: another ctrnet command is at it, or one died (run ctrnet gc)`);
  }
}

/**
 * Only networks whose driver is live (CNI) can be connected, disconnected and reloaded, as the seeds'
 * isBridgeNetMode. Returns that driver.
 */
export function requireLive(rec: ContainerRecord, driver: NetworkDriver | undefined, what: string): NetworkDriver {
  if (!driver?.live) {
    throw new UsageError(`cannot ${what} container "${rec.id}": its network mode is ${rec.mode.kind}, not bridge: invalid network mode`);
  }
  if (!rec.netns) throw new CtrnetError(`cannot ${what} container "${rec.id}": it has no network namespace`);
  return driver;
}

/** The record with this exact id or name; a prefix doesn't count (nor makes the lookup ambiguous). */
export function findExact(state: ContainerState, idOrName: string): ContainerRecord | undefined {
  try {
    return state.findExact(idOrName);
  } catch {
    return undefined;
  }
}

/** podman's --latest: the container made last; "no such container" when there is none. */
export function latestContainer(state: ContainerState): ContainerRecord {
  const rec = state.list().at(-1);
  if (!rec) throw new CtrnetError("no containers to use with --latest: no such container");
  return rec;
}

/** Every container record, oldest first. */
export async function listContainers(ctx: Context): Promise<ContainerRecord[]> {
  return ctx.state().list();
}
