// ctrnet's CNI runtime: what the lifecycle layer calls. It knows networks, attachments and results;
// plugins, their environment, stdin and the cache stay inside this module.
import type { VersionOutput } from "../../schema/cni.ts";
import { addAttachment, type AttachmentRequest, checkAttachment, delAttachment, type DetachRequest } from "./attach.ts";
import { type CachedAttachment, type CacheKey, listCache, readCache } from "./cache.ts";
import { findNetwork, listNetworks, type NetworkConfig, type NetworkListing, parseNetworkConfig, resolveNetwork } from "./config.ts";
import type { CniContext } from "./settings.ts";
import type { PluginCallRecord, PluginSpawner } from "./exec.ts";
import type { InProcessOptions } from "../bridge/plugin/run.ts";
import { gcNetwork, type ValidAttachment } from "./gc.ts";
import { DEFAULT_PLUGIN_DIRS, defaultCacheDir, defaultConfigDirs } from "./paths.ts";
import { networkStatus, pluginVersions } from "./plugin-info.ts";
import { type CniResult, parseResult } from "./result.ts";

export interface CniRuntimeOptions {
  /** Where network configurations are read, in order. Default: /etc/cni/net.d (root), ~/.config/cni/net.d (rootless). */
  configDirs?: readonly string[];
  /** Searched for plugin binaries before /usr/lib/cni and /opt/cni/bin. */
  pluginDirs?: readonly string[];
  /** Replaces /usr/lib/cni and /opt/cni/bin, e.g. to test with a controlled set of plugins. */
  defaultPluginDirs?: readonly string[];
  /** Default: /var/lib/cni (root), $XDG_RUNTIME_DIR/ctrnet/cni (rootless). */
  cacheDir?: string;
  /** Marks the attachments this runtime makes, so its GC leaves every other one alone. Default "ctrnet". */
  owner?: string;
  /** ctrnet's state dir: given, ctrnet's own plugin type runs in this process (see exec.ts). */
  stateRoot?: string;
  /** Per plugin process; the plugin is killed and the call fails after it. Default 60 s. */
  pluginTimeoutMs?: number;
  /** Called after every plugin process, for debug logging and measurements. */
  onPluginCall?: (record: PluginCallRecord) => void;
  /** How plugin processes are started, e.g. inside another namespace; default: Bun.spawn. */
  spawnPlugin?: PluginSpawner;
  /** Where ctrnet's own plugin, run in-process, makes its bridges and firewall (with spawnPlugin's netns). */
  ownPlugin?: InProcessOptions;
}

export const DEFAULT_PLUGIN_TIMEOUT_MS = 60_000;
export const DEFAULT_OWNER = "ctrnet";

export interface CniRuntime {
  readonly configDirs: readonly string[];
  readonly pluginPath: readonly string[];
  readonly cacheDir: string;
  readonly owner: string;
  /** The first configuration named `name` in the config dirs. */
  loadNetwork(name: string): Promise<NetworkConfig>;
  /** What a user names a network by: its name, else its id or a unique prefix of it, as podman. */
  resolveNetwork(nameOrId: string): Promise<NetworkConfig>;
  listNetworks(): Promise<NetworkListing>;
  /** ADD over the plugin list; on failure the partial setup is undone. The result is cached. */
  add(req: AttachmentRequest): Promise<CniResult>;
  /** CHECK over the plugin list with the cached result (cniVersion 0.4.0 or later). */
  check(req: AttachmentRequest): Promise<void>;
  /** DEL in reverse order with the cached result; removes the cache file when every plugin succeeded. */
  del(req: DetachRequest): Promise<void>;
  /** CNI 1.1 STATUS of every plugin; nothing to ask for older networks. */
  status(network: NetworkConfig): Promise<void>;
  /**
   * Removes every cached attachment of the network that this runtime made (its owner) and that is not in
   * `valid`, then sends GC to 1.1 plugins with every other runtime's attachments counted as valid.
   */
  gc(network: NetworkConfig, valid: readonly ValidAttachment[]): Promise<CacheKey[]>;
  /** A plugin's VERSION answer. */
  pluginVersions(type: string): Promise<VersionOutput>;
  /** Cached attachments, optionally of one network or container. */
  cachedAttachments(filter?: { network?: string; containerId?: string }): Promise<CachedAttachment[]>;
  /** The cached ADD result of one attachment, if any. */
  cachedResult(key: CacheKey): Promise<CniResult | undefined>;
  /** The configuration an attachment was made with, for a DEL after its file was changed or removed. */
  cachedNetwork(attachment: CachedAttachment): NetworkConfig | undefined;
}

/**
 * The configuration an attachment's cache file holds, parsed once per file read (readCache shares what it
 * decoded): a teardown asks for it both to prepare its DEL and to run it.
 */
const cachedNetworks = new WeakMap<CachedAttachment, NetworkConfig>();

function cachedNetworkOf(attachment: CachedAttachment): NetworkConfig | undefined {
  if (!attachment.config) return undefined;
  let network = cachedNetworks.get(attachment);
  if (network === undefined) {
    network = parseNetworkConfig(attachment.config, attachment.file);
    cachedNetworks.set(attachment, network);
  }
  return network;
}

export function createCniRuntime(options: CniRuntimeOptions = {}): CniRuntime {
  const pluginPath = [...(options.pluginDirs ?? []), ...(options.defaultPluginDirs ?? DEFAULT_PLUGIN_DIRS)];
  const ctx: CniContext = {
    configDirs: options.configDirs ?? defaultConfigDirs(),
    cacheDir: options.cacheDir ?? defaultCacheDir(),
    owner: options.owner ?? DEFAULT_OWNER,
    exec: {
      pluginDirs: pluginPath,
      timeoutMs: options.pluginTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS,
      onPluginCall: options.onPluginCall,
      spawn: options.spawnPlugin,
      stateRoot: options.stateRoot,
      ownPlugin: options.ownPlugin,
      owner: options.owner ?? DEFAULT_OWNER,
    },
  };
  return {
    configDirs: ctx.configDirs,
    pluginPath,
    cacheDir: ctx.cacheDir,
    owner: ctx.owner,
    loadNetwork: (name) => findNetwork(name, ctx.configDirs),
    resolveNetwork: (nameOrId) => resolveNetwork(nameOrId, ctx.configDirs),
    listNetworks: () => listNetworks(ctx.configDirs),
    add: (req) => addAttachment(ctx, req),
    check: (req) => checkAttachment(ctx, req),
    del: (req) => delAttachment(ctx, req),
    status: (network) => networkStatus(ctx, network),
    gc: (network, valid) => gcNetwork(ctx, network, valid),
    pluginVersions: (type) => pluginVersions(ctx, type),
    cachedAttachments: (filter) => listCache(ctx.cacheDir, filter),
    cachedResult: async (key) => {
      const cached = await readCache(ctx.cacheDir, key);
      return cached?.result ? parseResult(cached.result) : undefined;
    },
    cachedNetwork: (attachment) => cachedNetworkOf(attachment),
  };
}
