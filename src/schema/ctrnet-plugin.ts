// The configuration of ctrnet's own CNI plugin type (`"type": "ctrnet"`), the one plugin of a network that
// ctrnet's native bridge driver serves: the reference bridge plugin's options that podman writes, plus
// podman's network options, and a host-local `ipam` section (shared with host-local, file for file).
import * as v from "valibot";
import { lazySchemas } from "./lazy.ts";
import { HostLocalIpam } from "./host-local.ts";

const InterfaceName = v.pipe(
  v.string(),
  v.regex(/^[^\s/:]{1,15}$/, "must be an interface name of 1 to 15 characters without spaces, / or :"),
  v.check((s) => s !== "." && s !== "..", "must not be . or .."),
);

export const CtrnetPluginConfig = v.looseObject({
  type: v.literal("ctrnet"),
  bridge: InterfaceName,
  mtu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(68), v.maxValue(65535))),
  /** podman's `-o vlan=N`. */
  vlan: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4094))),
  /** false for podman's `--internal`: no masquerade, no default route, nothing routed off the bridge. */
  ipMasq: v.optional(v.boolean(), true),
  isGateway: v.optional(v.boolean(), true),
  /**
   * podman's `--internal` as netavark has it (written with isGateway and ipMasq false): the bridge holds
   * the gateway address, for ctrnet's DNS server, but containers get no default route and nothing is
   * forwarded off the bridge.
   */
  internal: v.optional(v.boolean()),
  /** podman's `-o isolate=true|strict`. */
  isolate: v.optional(v.picklist(["true", "strict"])),
  /** podman's `-o vrf=NAME`: the VRF device the bridge is enslaved to when it is made. */
  vrf: v.optional(InterfaceName),
  /**
   * podman 5's `-o mode=unmanaged`: the bridge is the host's, which must exist, used as it is: no address,
   * sysctl or state of it changed, never deleted, and no firewall rule (no masquerade, no published port).
   */
  mode: v.optional(v.picklist(["managed", "unmanaged"])),
  /**
   * Written beside mode unmanaged when ctrnet's DNS server answers on the network: the host's bridge must
   * hold the gateway it listens on (netavark's aardvark-dns needs an address of the bridge too).
   */
  ctrnetDns: v.optional(v.boolean()),
  /** Absent: podman's `--ipam-driver none`, no address. */
  ipam: v.optional(HostLocalIpam),
});
export type CtrnetPluginConfig = v.InferOutput<typeof CtrnetPluginConfig>;

export const MACVLAN_MODES = ["bridge", "private", "vepa", "passthru"] as const;
export const IPVLAN_MODES = ["l2", "l3", "l3s"] as const;

/**
 * ctrnet's plugin for a macvlan or ipvlan network (podman's `--driver macvlan|ipvlan`): `driver` says
 * which, `master` is the parent interface (`-o parent=`), `mode` its mode (`-o mode=`), as the reference
 * macvlan and ipvlan plugins name them. No bridge, no firewall: the container sits on the parent's LAN.
 * Built at the first use (lazy.ts): a bridge network's create never parses one.
 */
export const ctrnetVlanPluginConfig = lazySchemas(() =>
  v.looseObject({
    type: v.literal("ctrnet"),
    driver: v.picklist(["macvlan", "ipvlan"]),
    /** Absent: the interface of the host's default route when a container is attached, as podman's. */
    master: v.optional(InterfaceName),
    mode: v.optional(v.picklist([...MACVLAN_MODES, ...IPVLAN_MODES])),
    mtu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(68), v.maxValue(65535))),
    /** podman's `-o bclim=N` (macvlan): IFLA_MACVLAN_BC_CUTOFF of the container's link. */
    bclim: v.optional(v.pipe(v.number(), v.integer(), v.minValue(-(2 ** 31)), v.maxValue(2 ** 31 - 1))),
    ipam: HostLocalIpam,
  }),
);
export type CtrnetVlanPluginConfig = v.InferOutput<ReturnType<typeof ctrnetVlanPluginConfig>>;

/** Whether a plugin entry of type ctrnet is a macvlan or ipvlan network's (else a bridge network's). */
export function isVlanPluginEntry(entry: { driver?: unknown }): boolean {
  return entry.driver === "macvlan" || entry.driver === "ipvlan";
}

/** The CNI_ARGS key of podman 5's host_interface_name= (the host end of the veth pair), read by ctrnet's bridge plugin. */
export const HOST_IFNAME_ARG = "CTRNET_HOST_IFNAME";
