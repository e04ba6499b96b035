// Questions to plugins that concern no attachment: VERSION and (CNI 1.1) STATUS.
import * as v from "valibot";
import { VersionOutput } from "../../schema/cni.ts";
import { describeIssues } from "../../schema/issues.ts";
import type { NetworkConfig } from "./config.ts";
import type { CniContext } from "./settings.ts";
import { execPlugin, PluginError } from "./exec.ts";
import { buildPluginConfig, encodeConfig } from "./plugin-config.ts";
import { atLeast, SPEC_VERSIONS } from "./version.ts";

const NEWEST = SPEC_VERSIONS[SPEC_VERSIONS.length - 1]!;

/** The spec versions a plugin binary says it supports. */
export async function pluginVersions(ctx: CniContext, type: string): Promise<VersionOutput> {
  const stdin = encodeConfig({ cniVersion: NEWEST });
  const out = await execPlugin({ type, command: "VERSION", stdin }, ctx.exec);
  const parsed = v.safeParse(VersionOutput, out);
  if (!parsed.success) throw new PluginError(type, "VERSION", undefined, `invalid answer: ${describeIssues(parsed.issues)}`);
  return parsed.output;
}

/**
 * Whether the network's plugins are ready for ADD. STATUS exists from CNI 1.1.0; for older networks
 * there is nothing to ask, as in libcni. Throws the first plugin's error (codes 50/51 mean unavailable).
 */
export async function networkStatus(ctx: CniContext, network: NetworkConfig): Promise<void> {
  if (!atLeast(network.cniVersion, "1.1.0")) return;
  for (const plugin of network.plugins) {
    const stdin = encodeConfig(buildPluginConfig(network, plugin));
    await execPlugin({ type: plugin.type, command: "STATUS", network: network.name, stdin }, ctx.exec);
  }
}
