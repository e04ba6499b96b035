// The network configuration a runtime sends the plugin on stdin: the conflist's top level (cniVersion,
// name) merged with ctrnet's plugin entry, plus what the runtime adds (runtimeConfig, prevResult, args,
// the GC's valid attachments). Every field is checked before anything is made.
import * as v from "valibot";
import { isSupportedVersion } from "../../cni/version.ts";
import { NAME_PATTERN } from "../../../names.ts";
import { CtrnetPluginConfig, ctrnetVlanPluginConfig, isVlanPluginEntry } from "../../../schema/ctrnet-plugin.ts";
import { lazySchemas } from "../../../schema/lazy.ts";
import { describeIssues } from "../../../schema/issues.ts";
import { CNI_CODE, CniPluginError } from "./plugin-error.ts";

/** The versions ctrnet speaks as a plugin; results are given in the one asked for. */
export const PLUGIN_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

const PortMapping = v.looseObject({
  hostPort: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  containerPort: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  protocol: v.optional(v.pipe(v.string(), v.toLowerCase(), v.picklist(["tcp", "udp", "sctp"])), "tcp"),
  hostIP: v.optional(v.string(), ""),
});

const Attachment = v.looseObject({ containerID: v.string(), ifname: v.string() });

/** What a runtime adds to any of ctrnet's plugin entries. */
const RUNTIME_ENTRIES = {
  cniVersion: v.string(),
  name: v.pipe(v.string(), v.regex(NAME_PATTERN, "must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"), v.maxLength(128)),
  runtimeConfig: v.optional(
    v.looseObject({
      portMappings: v.optional(v.array(PortMapping)),
      ips: v.optional(v.array(v.string())),
      mac: v.optional(v.string()),
    }),
  ),
  args: v.optional(v.looseObject({ cni: v.optional(v.looseObject({ ips: v.optional(v.array(v.string())) })) })),
  prevResult: v.optional(v.record(v.string(), v.unknown())),
  "cni.dev/valid-attachments": v.optional(v.array(Attachment)),
  "cni.dev/attachments": v.optional(v.array(Attachment)),
};

/** A bridge network's (src/drivers/bridge). */
export const PluginInput = v.looseObject({ ...CtrnetPluginConfig.entries, ...RUNTIME_ENTRIES });
export type PluginInput = v.InferOutput<typeof PluginInput>;

/** A macvlan or ipvlan network's (src/drivers/vlan), built at the first use (lazy.ts). */
const vlanPluginInput = lazySchemas(() => v.looseObject({ ...ctrnetVlanPluginConfig().entries, ...RUNTIME_ENTRIES }));
export type VlanPluginInput = v.InferOutput<ReturnType<typeof vlanPluginInput>>;

export function isVlanInput(input: PluginInput | VlanPluginInput): input is VlanPluginInput {
  return isVlanPluginEntry(input as { driver?: unknown });
}

/** The version to answer in, from a config that may not parse (an error must still carry one). */
export function versionOf(text: string): string {
  try {
    const json = JSON.parse(text) as { cniVersion?: unknown };
    if (typeof json.cniVersion === "string" && json.cniVersion) return json.cniVersion;
  } catch {
    // answered below, in the newest version
  }
  return PLUGIN_VERSIONS.at(-1)!;
}

export function parsePluginInput(text: string): PluginInput | VlanPluginInput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CniPluginError(CNI_CODE.decoding, `network configuration on stdin is not JSON: ${(err as Error).message}`);
  }
  const version = (json as { cniVersion?: unknown } | null)?.cniVersion;
  if (typeof version === "string" && !(PLUGIN_VERSIONS as readonly string[]).includes(version)) {
    const known = isSupportedVersion(version) ? "" : " (not a CNI version)";
    throw new CniPluginError(CNI_CODE.incompatibleVersion, `CNI version ${version} is not supported${known}: ctrnet speaks ${PLUGIN_VERSIONS.join(", ")}`);
  }
  const vlan = json !== null && typeof json === "object" && isVlanPluginEntry(json as { driver?: unknown });
  const parsed = v.safeParse(vlan ? vlanPluginInput() : PluginInput, json);
  if (!parsed.success) throw new CniPluginError(CNI_CODE.invalidConfig, `invalid network configuration: ${describeIssues(parsed.issues)}`);
  return parsed.output;
}
