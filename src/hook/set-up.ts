// createRuntime (and the deprecated prestart): the container's network, made once per container id.
// Runtimes may call both stages, and several calls for one id may race: the first makes the network,
// the others find its record (waiting on the container's lock while it is still being made) and leave it.
// A record of the same id for another netns is what an earlier container of that id left when its
// poststop never ran; it is torn down first.
import { resolve } from "node:path";
import { ErrorList, UsageError } from "../errors.ts";
import { type Context, type CreateRequest, createContainer, parseNetworkMode, removeContainer } from "../lifecycle/index.ts";
import type { EtcOptions } from "../container/etc-options.ts";
import { etcFilesOf, pickEtcFiles, wantedEtcFiles } from "../lifecycle/etc-files.ts";
import { withContainerLock } from "../state/lock.ts";
import { log } from "../log.ts";
import { validateName } from "../names.ts";
import type { BundleConfig, OciState } from "../schema/oci.ts";
import type { ContainerRecord } from "../state/index.ts";
import { recordOf } from "./lookup.ts";
import { restoreRootfsEtc, writeRootfsEtc } from "./rootfs-etc.ts";
import { type HookSettings, runtimeContainerName, validateHostname } from "./settings.ts";
import { type HookTarget, hookTarget, sameNetns } from "./target.ts";

/** The record once no other call is making or removing it. */
async function settledRecord(ctx: Context, id: string): Promise<ContainerRecord | undefined> {
  const rec = recordOf(ctx, id);
  if (!rec || rec.state === "ready") return rec;
  return withContainerLock(ctx, id, async (lock) => {
    const now = recordOf(ctx, id);
    if (!now) lock.discard();
    return now;
  });
}

function createRequest(ctx: Context, state: OciState, id: string, settings: HookSettings, target: HookTarget): CreateRequest {
  const req: CreateRequest = { id, ports: settings.ports, aliases: settings.aliases };
  // `ctrnet ls` shows the runtime's name; one another container holds already is left out, not an error
  const name = runtimeContainerName(state.annotations ?? {});
  if (name !== undefined && name !== id && ctx.state().find(name) === undefined) req.name = name;
  if (settings.network !== undefined) req.network = settings.network;
  // as create's --ip and --ip6: --ip6 alone is the one static address, beside --ip the IPv6 one
  if (settings.ip !== undefined) req.ip = settings.ip;
  if (settings.ip6 !== undefined) {
    if (settings.ip === undefined) req.ip = settings.ip6;
    else req.ip6 = settings.ip6;
  }
  if (settings.mac !== undefined) req.mac = settings.mac;
  if (settings.expose.length) req.expose = settings.expose;
  if (settings.publishAll) req.publishAll = true;
  if (target.kind === "adopt") {
    // A rootless hook runs in the runtime's user namespace (or podman's), whose mount namespace is not
    // its own to mount in, and a bind mount there would be out of sight of every later ctrnet anyway.
    if (ctx.rootless) req.netns = { kind: "adopt", pid: target.pid, keep: "process", ...(target.via !== undefined ? { via: target.via } : {}) };
    else if (target.via !== undefined) throw new UsageError("a netns reached through another path can only be kept through its process");
    else req.netns = { kind: "adopt", pid: target.pid, keep: "mount" };
  }
  if (target.kind === "join") req.netns = { kind: "join", path: target.path, ...(state.pid ? { watchPid: state.pid } : {}) };
  return req;
}

/** config.json's hostname when it is one (runtimes accept any string there). */
function configHostname(config: BundleConfig): string | undefined {
  if (config.hostname === undefined) return undefined;
  try {
    return validateHostname(config.hostname);
  } catch {
    return undefined;
  }
}

function rootfsOf(state: OciState, config: BundleConfig): string {
  if (!config.root) throw new UsageError(`io.ctrnet.write-etc needs the root filesystem, and ${state.bundle}/config.json has no root.path`);
  return resolve(state.bundle, config.root.path);
}

async function writeEtc(ctx: Context, rec: ContainerRecord, rootfs: string, hostname: string | undefined, etc: EtcOptions): Promise<void> {
  // the hostname first on the container's own lines, then its name (podman's getHostsEntries)
  const { files, fellBack } = await etcFilesOf(ctx, rec, hostname === undefined ? etc : { ...etc, hostname });
  if (fellBack) log.warn(`container "${rec.id}": the host has no nameserver the container can reach; using public ones`);
  writeRootfsEtc(ctx, rec.id, rootfs, pickEtcFiles(files, wantedEtcFiles(etc)));
}

async function discard(ctx: Context, id: string): Promise<void> {
  const errors: unknown[] = [];
  try {
    restoreRootfsEtc(ctx, id);
  } catch (err) {
    errors.push(err);
  }
  try {
    await removeContainer(ctx, id, { force: true });
  } catch (err) {
    errors.push(err);
  }
  ErrorList.throwIfAny(`cannot remove the network of container "${id}"`, errors);
}

function raceLost(ctx: Context, id: string, err: unknown): boolean {
  return err instanceof UsageError && recordOf(ctx, id) !== undefined;
}

/**
 * A rootless hook runs in the runtime's user namespace, never in ctrnet's own, where the rootless netns
 * that holds a rootless user's bridges lives: CNI networks are out of its reach.
 */
export function checkRootlessHookNetwork(network: string | undefined): void {
  const spec = parseNetworkMode(network, true);
  if (spec.mode.kind !== "bridge") return;
  const what = spec.defaultNetwork ? "the default network" : `network ${spec.networks.map((n) => `"${n}"`).join(", ")}`;
  throw new UsageError(
    `${what} cannot be given to a rootless runtime's container: a rootless user's CNI bridges live in ctrnet's rootless netns, out of reach from the runtime's user namespace; use slirp4netns, pasta or none`,
  );
}

export async function setUpContainer(ctx: Context, state: OciState, config: BundleConfig, settings: HookSettings, holder?: number): Promise<void> {
  const id = validateName("container id", state.id);
  if (ctx.rootless) checkRootlessHookNetwork(settings.network);
  const mode = parseNetworkMode(settings.network, ctx.rootless).mode;
  const rootfs = settings.writeEtc ? rootfsOf(state, config) : undefined;
  const known = () => ctx.state().list().flatMap((r) => (r.netns ? [{ id: r.id, path: r.netns.path }] : []));
  const target = hookTarget(state, config, mode, known, holder);
  for (let attempt = 0; ; attempt++) {
    const existing = await settledRecord(ctx, id);
    if (existing?.state === "ready" && sameNetns(existing.netns?.path, target)) {
      log.debug(`container "${id}" already has its network`);
      return;
    }
    if (existing) {
      log.warn(`container "${id}": removing the network an earlier container of this id left behind`);
      await discard(ctx, id);
    }
    if (target.kind === "shared") {
      log.info(`container "${id}" shares the network namespace of container "${target.owner}": nothing to configure`);
      return;
    }
    let rec: ContainerRecord;
    try {
      rec = await createContainer(ctx, createRequest(ctx, state, id, settings, target));
    } catch (err) {
      // Another call for this id claimed it between our look and our insert: settle on what it made.
      if (attempt === 0 && raceLost(ctx, id, err)) continue;
      throw err;
    }
    if (rootfs === undefined) return;
    try {
      await writeEtc(ctx, rec, rootfs, settings.hostname ?? configHostname(config), settings.etc ?? {});
    } catch (err) {
      const undo: unknown[] = [];
      await removeContainer(ctx, id, { force: true }).catch((e: unknown) => undo.push(e));
      ErrorList.throwIfAny(`cannot write /etc files of container "${id}"`, [err, ...undo]);
    }
    return;
  }
}
