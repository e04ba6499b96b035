// The CNI driver's public surface.
export type { AttachmentRequest, DetachRequest } from "./attach.ts";
export { type CachedAttachment, type CacheKey, listCacheSync } from "./cache.ts";
export { type NetworkConfig, NetworkConfigError, type NetworkListing, NetworkNotFoundError, parseNetworkConfig } from "./config.ts";
export { type BridgeNetworkSpec, bridgeConflist, type NativeNetworkSpec, nativeConflist } from "./conflist.ts";
export { type CniCommand, OWN_PLUGIN_TYPE, type PluginCallRecord, PluginError, PluginNotFoundError, type PluginProcess, type PluginSpawner } from "./exec.ts";
export type { ValidAttachment } from "./gc.ts";
export { DEFAULT_PLUGIN_DIRS, defaultCacheDir, defaultConfigDirs } from "./paths.ts";
export type { CapabilityArgs } from "./plugin-config.ts";
export { type CniDns, type CniInterface, type CniIp, type CniResult, type CniRoute, parseResult } from "./result.ts";
export { type CniRuntime, type CniRuntimeOptions, createCniRuntime, DEFAULT_PLUGIN_TIMEOUT_MS } from "./runtime.ts";
export { type RootlessNetnsAccess, rootlessCniRuntime } from "./rootless.ts";
export { type OrphanSweep, sweepOrphans } from "./orphans.ts";
