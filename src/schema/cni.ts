// CNI network configuration files and the small messages plugins print (errors, VERSION), per the CNI spec
// up to 1.1. Objects are loose: plugins own their extra keys and must receive them unchanged.
import * as v from "valibot";
import { Dns } from "./cni-result.ts";

export const CniVersion = v.pipe(v.string(), v.regex(/^\d+\.\d+\.\d+$/, "expected a version like 1.0.0"));

/** A plugin type becomes a file name looked up in the plugin search path: no directories, no dot names. */
export const PluginType = v.pipe(
  v.string(),
  v.nonEmpty("expected a plugin name"),
  v.check((t) => !t.includes("/") && t !== "." && t !== "..", "expected a plugin name, not a path"),
);

/** `disableCheck`/`disableGC` are strings in the spec and booleans in the wild; libcni takes both. */
const Flag = v.union([v.boolean(), v.picklist(["true", "false"])]);

export const PluginConf = v.looseObject({
  type: PluginType,
  name: v.optional(v.string()),
  cniVersion: v.optional(v.string()),
  capabilities: v.optional(v.record(v.string(), v.boolean())),
  ipam: v.optional(v.looseObject({ type: PluginType })),
  dns: v.optional(Dns),
  args: v.optional(v.record(v.string(), v.unknown())),
});
export type PluginConf = v.InferOutput<typeof PluginConf>;

export const NetConfList = v.looseObject({
  cniVersion: CniVersion,
  cniVersions: v.optional(v.array(CniVersion)),
  name: v.string(),
  disableCheck: v.optional(Flag),
  disableGC: v.optional(Flag),
  plugins: v.pipe(v.array(PluginConf), v.minLength(1, "expected at least one plugin")),
});
export type NetConfList = v.InferOutput<typeof NetConfList>;

/** A single-plugin `.conf` file: the plugin's own keys next to the network's name and version. */
export const NetConf = v.looseObject({
  ...PluginConf.entries,
  cniVersion: CniVersion,
  name: v.string(),
});
export type NetConf = v.InferOutput<typeof NetConf>;

export const PluginErrorOutput = v.looseObject({
  cniVersion: v.optional(v.string()),
  code: v.number(),
  msg: v.string(),
  details: v.optional(v.string()),
});
export type PluginErrorOutput = v.InferOutput<typeof PluginErrorOutput>;

export const VersionOutput = v.looseObject({
  cniVersion: v.string(),
  supportedVersions: v.array(v.string()),
});
export type VersionOutput = v.InferOutput<typeof VersionOutput>;
