// ADD, CHECK and DEL of one attachment (container x network x interface) over a network's plugin list.
import { CtrnetError, ErrorList, errorMessage, UsageError } from "../../errors.ts";
import { CacheFileError, type CachedAttachment, type CacheKey, readCache, removeCache, writeCache } from "./cache.ts";
import type { NetworkConfig } from "./config.ts";
import { type CniArgs, type CniContext, validateAttachmentKey, validateCniArgs } from "./settings.ts";
import { type AttachmentEnv, type CniCommand, execPlugin, PluginError, PluginNotFoundError } from "./exec.ts";
import { buildPluginConfig, type CapabilityArgs, encodeConfig } from "./plugin-config.ts";
import { type CniResult, parseResult, toWire, type WireResult } from "./result.ts";
import { atLeast } from "./version.ts";
import { isMissingChainError } from "./missing-chain.ts";

export interface AttachmentRequest {
  network: NetworkConfig;
  containerId: string;
  /** Path of the container's network namespace (e.g. /run/netns/cni-…). */
  netnsPath: string;
  /** Interface name inside the container, e.g. eth0. */
  ifName: string;
  /** Runtime values by capability name; each plugin receives only those it declares. */
  capabilityArgs?: CapabilityArgs;
  /** CNI_ARGS pairs, e.g. [["IgnoreUnknown", "1"]]. */
  cniArgs?: CniArgs;
}

export interface DetachRequest extends Omit<AttachmentRequest, "netnsPath"> {
  /** Omit, or pass "", when the namespace is already gone: plugins then only release host-side state. */
  netnsPath?: string;
}

function checkRequest(req: DetachRequest, needsNetns: boolean): void {
  validateAttachmentKey(req.network.name, req.containerId, req.ifName);
  validateCniArgs(req.cniArgs ?? []);
  if (needsNetns && !req.netnsPath?.startsWith("/")) {
    throw new UsageError(`network namespace path must be absolute, got "${req.netnsPath ?? ""}"`);
  }
}

function attachmentEnv(req: DetachRequest, cniArgs: CniArgs, netnsPath: string): AttachmentEnv {
  return { containerId: req.containerId, netnsPath, ifName: req.ifName, cniArgs };
}

interface ChainStep {
  network: NetworkConfig;
  command: CniCommand;
  env: AttachmentEnv;
  capabilityArgs: CapabilityArgs;
  prevResult: WireResult | undefined;
}

async function runPlugin(ctx: CniContext, step: ChainStep, index: number): Promise<unknown> {
  const plugin = step.network.plugins[index]!;
  const stdin = encodeConfig(
    buildPluginConfig(step.network, plugin, { prevResult: step.prevResult, capabilityArgs: step.capabilityArgs }),
  );
  return execPlugin(
    { type: plugin.type, command: step.command, network: step.network.name, stdin, attachment: step.env },
    ctx.exec,
  );
}

/**
 * Every plugin's DEL in reverse order. Unlike the spec's "stop at the first error", it goes on past
 * failures, as every ctrnet teardown does: a plugin that failed must not keep the ones before it from
 * releasing their addresses and rules, and DEL is idempotent, so retrying the whole list later is safe.
 */
async function delChain(ctx: CniContext, step: Omit<ChainStep, "command">): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (let i = step.network.plugins.length - 1; i >= 0; i--) {
    try {
      await runPlugin(ctx, { ...step, command: "DEL" }, i);
    } catch (err) {
      // the rules it would delete are gone already, which is what the DEL is for
      if (!isMissingChainError(err)) errors.push(err);
    }
  }
  return errors;
}

function keyOf(req: DetachRequest): CacheKey {
  return { network: req.network.name, containerId: req.containerId, ifName: req.ifName };
}

function describe(req: DetachRequest): string {
  return `container ${req.containerId} interface ${req.ifName} on network ${req.network.name}`;
}

/**
 * Throws the ADD failure; when undoing the partial setup failed too, says so in the same line. A plugin
 * whose binary is missing cannot have set anything up, so its DEL failing is no undo failure.
 */
async function undoAdd(ctx: CniContext, step: Omit<ChainStep, "command">, cause: unknown): Promise<never> {
  const errors = (await delChain(ctx, step)).filter((e) => !(e instanceof PluginNotFoundError));
  if (errors.length === 0) throw cause;
  throw ErrorList.undoing(cause, errors, "the partial setup");
}

export async function addAttachment(ctx: CniContext, req: AttachmentRequest): Promise<CniResult> {
  checkRequest(req, true);
  const { network } = req;
  const cniArgs = req.cniArgs ?? [];
  const capabilityArgs = req.capabilityArgs ?? {};
  const env = attachmentEnv(req, cniArgs, req.netnsPath);
  let result: CniResult | undefined;
  // Per the spec, a failed ADD is followed by DEL over the whole list, even plugins never called; they
  // get the last result seen, which names what the earlier plugins set up.
  const chainState = () => ({ network, env, capabilityArgs, prevResult: result && toWire(result, network.cniVersion) });

  for (let i = 0; i < network.plugins.length; i++) {
    const plugin = network.plugins[i]!;
    try {
      const out = await runPlugin(ctx, { ...chainState(), command: "ADD" }, i);
      if (out === undefined) throw new PluginError(plugin.type, "ADD", network.name, "printed no result");
      try {
        result = parseResult(out);
      } catch (err) {
        throw new PluginError(plugin.type, "ADD", network.name, errorMessage(err));
      }
    } catch (err) {
      return undoAdd(ctx, chainState(), err);
    }
  }
  const final = result!;
  try {
    await writeCache(ctx.cacheDir, {
      network: network.name,
      containerId: req.containerId,
      ifName: req.ifName,
      owner: ctx.owner,
      netnsPath: req.netnsPath,
      cniArgs,
      capabilityArgs,
      config: network.bytes,
      result: toWire(final, network.cniVersion),
    });
  } catch (err) {
    return undoAdd(ctx, chainState(), new CtrnetError(`cannot cache the CNI result for ${describe(req)}: ${errorMessage(err)}`));
  }
  return final;
}

/** The cached ADD result in the network's version, for CHECK and DEL. */
function cachedPrevResult(cached: CachedAttachment | undefined, network: NetworkConfig): WireResult | undefined {
  if (!cached?.result) return undefined;
  return toWire(parseResult(cached.result), network.cniVersion);
}

export async function checkAttachment(ctx: CniContext, req: AttachmentRequest): Promise<void> {
  checkRequest(req, true);
  const { network } = req;
  if (!atLeast(network.cniVersion, "0.4.0")) {
    throw new UsageError(`network ${network.name} has cniVersion ${network.cniVersion}; CHECK needs 0.4.0 or later`);
  }
  if (network.disableCheck) return;
  const cached = await readCache(ctx.cacheDir, keyOf(req));
  let prevResult: WireResult | undefined;
  try {
    prevResult = cachedPrevResult(cached, network);
  } catch (err) {
    throw new CacheFileError(cached!.file, errorMessage(err));
  }
  if (!prevResult) throw new CtrnetError(`no cached CNI result for ${describe(req)} in ${ctx.cacheDir}: was it attached?`);
  const step: ChainStep = {
    network,
    command: "CHECK",
    env: attachmentEnv(req, req.cniArgs ?? [], req.netnsPath),
    capabilityArgs: req.capabilityArgs ?? {},
    prevResult,
  };
  for (let i = 0; i < network.plugins.length; i++) await runPlugin(ctx, step, i);
}

/**
 * DEL in reverse order with the cached ADD result as prevResult (0.4.0+): without it, plugins such as
 * firewall cannot find the rules they made. Arguments not given are taken from the cache. The cache file
 * goes only when every plugin succeeded, so a retry still has the result.
 */
export async function delAttachment(ctx: CniContext, req: DetachRequest): Promise<void> {
  checkRequest(req, false);
  const { network } = req;
  let cached: CachedAttachment | undefined;
  let prevResult: WireResult | undefined;
  try {
    cached = await readCache(ctx.cacheDir, keyOf(req));
    if (atLeast(network.cniVersion, "0.4.0")) prevResult = cachedPrevResult(cached, network);
  } catch {
    // An unusable cache file must not block teardown; the plugins do what they can without it.
  }
  const cniArgs = req.cniArgs ?? cached?.cniArgs ?? [];
  const netnsPath = req.netnsPath ?? cached?.netnsPath ?? "";
  const errors = await delChain(ctx, {
    network,
    env: attachmentEnv(req, cniArgs, netnsPath),
    capabilityArgs: req.capabilityArgs ?? cached?.capabilityArgs ?? {},
    prevResult,
  });
  ErrorList.throwIfAny(`CNI DEL of ${describe(req)}`, errors);
  await removeCache(ctx.cacheDir, keyOf(req));
}
