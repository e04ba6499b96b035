// What one plugin of a list reads on stdin: its own configuration with the list's `name` and
// `cniVersion`, the previous result when chaining, and the runtime values it declared capabilities for.
import type { PluginConf } from "../../schema/cni.ts";
import type { NetworkConfig } from "./config.ts";
import type { WireResult } from "./result.ts";

/** Capability name -> value, e.g. `portMappings`, `ips`, `mac`, `aliases`, `bandwidth`, `ipRanges`. */
export type CapabilityArgs = Readonly<Record<string, unknown>>;

/** Only what the plugin asked for: a plugin may reject keys it doesn't know. */
export function runtimeConfigFor(plugin: PluginConf, capabilityArgs: CapabilityArgs): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [capability, enabled] of Object.entries(plugin.capabilities ?? {})) {
    if (enabled && capabilityArgs[capability] !== undefined) out[capability] = capabilityArgs[capability];
  }
  return Object.keys(out).length ? out : undefined;
}

export interface PluginConfigExtras {
  prevResult?: WireResult;
  capabilityArgs?: CapabilityArgs;
  /** Further top-level keys, such as GC's valid attachments. */
  inject?: Readonly<Record<string, unknown>>;
}

export function buildPluginConfig(network: NetworkConfig, plugin: PluginConf, extras: PluginConfigExtras = {}): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: network.name, cniVersion: network.cniVersion, ...extras.inject };
  if (extras.prevResult) config.prevResult = extras.prevResult;
  // As in libcni, a plugin's own `runtimeConfig` stays when the runtime has nothing for it.
  const runtimeConfig = extras.capabilityArgs && runtimeConfigFor(plugin, extras.capabilityArgs);
  if (runtimeConfig) config.runtimeConfig = runtimeConfig;
  return config;
}

export function encodeConfig(config: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(config));
}
