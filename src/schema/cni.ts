// CNI network configuration files and the small messages plugins print (errors, VERSION), per the CNI spec
// up to 1.1. Objects are loose: plugins own their extra keys and must receive them unchanged.
import * as v from "valibot";
import { type Cidr, parseCidr, parseIP } from "../ip/codec.ts";
import { Dns } from "./cni-result.ts";
import { maskAddress, subnetContains } from "./ip.ts";

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

/** What host-local accepts as a range's subnet: CIDR, host bits clear, two addresses or more besides the ends. */
function hostLocalSubnet(text: string): Cidr | null {
  const cidr = parseCidr(text);
  if (cidr === null || cidr.prefixLength > cidr.address.length * 8 - 2) return null;
  const network = maskAddress(cidr.address, cidr.prefixLength);
  return network.every((b, i) => b === cidr.address[i]) ? cidr : null;
}

function inRange(subnet: string | undefined, text: string | undefined): boolean {
  if (subnet === undefined || text === undefined) return true;
  const ip = parseIP(text);
  const cidr = hostLocalSubnet(subnet);
  return ip !== null && cidr !== null && subnetContains(cidr, ip);
}

const IPText = v.pipe(
  v.string(),
  v.check((t) => parseIP(t) !== null, "expected an IP address"),
);

const SubnetText = v.pipe(
  v.string(),
  v.check(
    (t) => hostLocalSubnet(t) !== null,
    (issue) => `${JSON.stringify(issue.input)} is not a subnet host-local can use: expected a network address and prefix length like 10.89.0.0/24, no longer than /30 (/126)`,
  ),
);

const RANGE_ADDRESSES = { rangeStart: v.optional(IPText), rangeEnd: v.optional(IPText), gateway: v.optional(IPText) };

export const HostLocalRange = v.pipe(
  v.looseObject({ subnet: SubnetText, ...RANGE_ADDRESSES }),
  v.forward(v.check((r) => inRange(r.subnet, r.rangeStart), "not in the range's subnet"), ["rangeStart"]),
  v.forward(v.check((r) => inRange(r.subnet, r.rangeEnd), "not in the range's subnet"), ["rangeEnd"]),
);
export type HostLocalRange = v.InferOutput<typeof HostLocalRange>;

/** host-local's IPAM: range sets in `ranges`, and/or the older single range's keys directly in `ipam`. */
export const HostLocalIpam = v.pipe(
  v.intersect([
    v.looseObject({ ranges: v.optional(v.array(v.pipe(v.array(HostLocalRange), v.minLength(1, "expected at least one range")))) }),
    // The older form: one range's keys in `ipam` itself.
    v.looseObject({ subnet: v.optional(SubnetText), ...RANGE_ADDRESSES }),
  ]),
  v.forward(v.check((r) => inRange(r.subnet, r.rangeStart), "not in the range's subnet"), ["rangeStart"]),
  v.forward(v.check((r) => inRange(r.subnet, r.rangeEnd), "not in the range's subnet"), ["rangeEnd"]),
);
export type HostLocalIpam = v.InferOutput<typeof HostLocalIpam>;

/** Every range of a host-local IPAM, the older single range first, as host-local orders them. */
export function hostLocalRanges(ipam: HostLocalIpam): HostLocalRange[] {
  const { subnet, rangeStart, rangeEnd, gateway } = ipam;
  const legacy = subnet === undefined ? [] : [{ subnet, rangeStart, rangeEnd, gateway }];
  return [...legacy, ...(ipam.ranges ?? []).flat()].map((r) => Object.fromEntries(Object.entries(r).filter(([, x]) => x !== undefined)) as HostLocalRange);
}

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
