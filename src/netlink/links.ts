// Links in the typed API: what a link looks like to callers, and the RTM_*LINK messages that create,
// change, find and delete them.
import { UsageError } from "../errors.ts";
import { parseMac } from "../ip/codec.ts";
import { attrValue } from "./attrs.ts";
import {
  AF_BRIDGE,
  BRIDGE_FLAGS_SELF,
  BRIDGE_VLAN_INFO_PVID,
  BRIDGE_VLAN_INFO_UNTAGGED,
  type BridgeAfSpecAttr,
  type BridgeAttr,
  type BridgeLinkMessage,
  type BridgePortAttr,
  IFF_UP,
  IN6_ADDR_GEN_MODES,
  type Ipv4Devconf,
  IPVLAN_MODES,
  type LinkAfSpecAttr,
  type LinkAttr,
  type LinkInfoAttr,
  type LinkMessage,
  MACVLAN_MODES,
  RTEXT_FILTER_SKIP_STATS,
  type Stats64,
} from "./msg-link.ts";

/** A link by name or by index. */
export type LinkRef = string | number;

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "veth", "bridge", … ; absent for physical and loopback devices. */
  kind?: string;
  /** IFF_* bits. */
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** RFC 2863 state as iproute2 prints it: "UP", "DOWN", "LOWERLAYERDOWN", "UNKNOWN", … */
  operState: string;
  mtu?: number;
  mac?: string;
  /** Index of the bridge (or other master) this link is enslaved to. */
  master?: number;
  /** IFLA_LINK: the peer's index for a veth, which may live in another namespace (see linkNetnsid). */
  parentIndex?: number;
  linkNetnsid?: number;
  stats?: Stats64;
  /** A bridge's IFLA_BR_VLAN_FILTERING. */
  vlanFiltering?: boolean;
  /** A bridge port's hairpin mode (IFLA_BRPORT_MODE), when the link is enslaved to a bridge. */
  hairpin?: boolean;
  /** Its /proc/sys/net/ipv4/conf values that ctrnet reads (IFLA_AF_SPEC); absent without IPv4 on it. */
  ipv4Conf?: Ipv4Devconf;
  /** How the kernel makes its IPv6 link-local address; absent without IPv6 on it. */
  ipv6AddrGenMode?: Ipv6AddrGenMode;
}

/** What Netlink.linkSummary reads of a link: enough to find, check and use it; no counters, no per-kind data. */
export type LinkSummary = Pick<Link, "index" | "name" | "kind" | "flags" | "up" | "operState" | "mtu" | "mac" | "master" | "ipv4Conf">;

export type Ipv6AddrGenMode = keyof typeof IN6_ADDR_GEN_MODES;

export interface VethSpec {
  kind: "veth";
  name: string;
  mtu?: number;
  mac?: string;
  /** The other end, created directly in the namespace `netnsFd` refers to when given. */
  peer: { name: string; netnsFd?: number; mtu?: number; mac?: string };
  /** This end's bridge (an index), enslaved in the creating message: no second message, no rtnl wait. */
  master?: number;
  /** This end up from the start (the kernel brings it up once made, before any other message). */
  up?: boolean;
}

export interface BridgeSpec {
  kind: "bridge";
  name: string;
  mtu?: number;
  mac?: string;
  /** 802.1Q filtering on the bridge's ports (podman's `-o vlan=N` needs it). */
  vlanFiltering?: boolean;
  /** IFLA_BR_MCAST_SNOOPING: whether the bridge learns which ports want which multicast groups. */
  multicastSnooping?: boolean;
  /** The bridge's own master (a VRF device's index: podman's `-o vrf=NAME`), in the creating message. */
  master?: number;
}

export type MacvlanMode = keyof typeof MACVLAN_MODES;
export type IpvlanMode = keyof typeof IPVLAN_MODES;

/** A macvlan or ipvlan link on `parent` (an index in the socket's namespace), made in `netnsFd` when given. */
export interface MacvlanSpec {
  kind: "macvlan";
  name: string;
  parent: number;
  mode: MacvlanMode;
  mtu?: number;
  mac?: string;
  netnsFd?: number;
  /** podman's bclim: the broadcast queue cutoff (IFLA_MACVLAN_BC_CUTOFF); -1 queues none. */
  bcCutoff?: number;
}

export interface IpvlanSpec {
  kind: "ipvlan";
  name: string;
  parent: number;
  mode: IpvlanMode;
  mtu?: number;
  netnsFd?: number;
}

export type LinkSpec = VethSpec | BridgeSpec | MacvlanSpec | IpvlanSpec;

/** A bridge port's flags (IFLA_BRPORT_*), set through its bridge. */
export interface BridgePortSettings {
  hairpin?: boolean;
  learning?: boolean;
  /** Isolated ports forward only to non-isolated ones. */
  isolated?: boolean;
}

export interface BridgeVlanOptions {
  /** The port's PVID: untagged frames coming in are given this VLAN. */
  pvid?: boolean;
  /** Frames of this VLAN leave the port untagged. */
  untagged?: boolean;
  /** Configure the bridge device itself rather than a port through its bridge. */
  self?: boolean;
}

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  mac?: string;
  name?: string;
  /** Index of the new master; 0 releases the link from its master. */
  master?: number;
  /** Move the link into the network namespace this fd refers to. */
  netnsFd?: number;
  /**
   * /proc/sys/net/ipv4/conf/LINK values, set over netlink (IFLA_AF_SPEC): no /proc lookup, whose cost grows
   * with the number of network namespaces. The kernel applies them after `up`.
   */
  ipv4Conf?: Ipv4Devconf;
  /** "none": no IPv6 link-local address (a bridge port needs none). The kernel applies it after `up`. */
  ipv6AddrGenMode?: Ipv6AddrGenMode;
  /**
   * The flags of a link that is already a bridge's port, as its slave data (IFLA_INFO_SLAVE_DATA), so they
   * go in this message, by name, with the other changes: no lookup of its index as bridgePortSet needs.
   */
  bridgePort?: BridgePortSettings;
}

const OPER_STATES = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"];

export function toLink(msg: LinkMessage): Link {
  const { attrs, header } = msg;
  const info = attrValue(attrs, "linkinfo") ?? [];
  const operstate = attrValue(attrs, "operstate") ?? 0;
  return {
    index: header.index,
    name: attrValue(attrs, "ifname") ?? "",
    kind: attrValue(info, "kind"),
    flags: header.flags,
    up: (header.flags & IFF_UP) !== 0,
    operState: OPER_STATES[operstate] ?? `${operstate}`,
    mtu: attrValue(attrs, "mtu"),
    mac: attrValue(attrs, "address"),
    master: attrValue(attrs, "master"),
    parentIndex: attrValue(attrs, "link"),
    linkNetnsid: attrValue(attrs, "linkNetnsid"),
    stats: attrValue(attrs, "stats64"),
    ...bridgeFacts(info),
    ...familyFacts(attrValue(attrs, "afSpec") ?? []),
  };
}

const ADDR_GEN_MODE_NAMES = new Map(Object.entries(IN6_ADDR_GEN_MODES).map(([name, n]) => [n, name as Ipv6AddrGenMode]));

function familyFacts(spec: LinkAfSpecAttr[]): Pick<Link, "ipv4Conf" | "ipv6AddrGenMode"> {
  const out: Pick<Link, "ipv4Conf" | "ipv6AddrGenMode"> = {};
  const conf = attrValue(attrValue(spec, "inet") ?? [], "conf");
  if (conf !== undefined) out.ipv4Conf = conf;
  const mode = attrValue(attrValue(spec, "inet6") ?? [], "addrGenMode");
  const name = mode === undefined ? undefined : ADDR_GEN_MODE_NAMES.get(mode as 0);
  if (name !== undefined) out.ipv6AddrGenMode = name;
  return out;
}

function afSpecOf(changes: Pick<LinkChanges, "ipv4Conf" | "ipv6AddrGenMode">): LinkAfSpecAttr[] {
  const spec: LinkAfSpecAttr[] = [];
  if (changes.ipv4Conf !== undefined && Object.values(changes.ipv4Conf).some((v) => v !== undefined)) {
    spec.push({ name: "inet", value: [{ name: "conf", value: changes.ipv4Conf }] });
  }
  if (changes.ipv6AddrGenMode !== undefined) {
    const mode = IN6_ADDR_GEN_MODES[changes.ipv6AddrGenMode];
    if (mode === undefined) throw new UsageError(`invalid IPv6 address generation mode "${changes.ipv6AddrGenMode}"`);
    spec.push({ name: "inet6", value: [{ name: "addrGenMode", value: mode }] });
  }
  return spec;
}

function bridgeFacts(info: LinkInfoAttr[]): Pick<Link, "vlanFiltering" | "hairpin"> {
  const out: Pick<Link, "vlanFiltering" | "hairpin"> = {};
  const data = attrValue(info, "data");
  if (data?.kind === "bridge") {
    const filtering = attrValue(data.attrs, "vlanFiltering");
    if (filtering !== undefined) out.vlanFiltering = filtering === 1;
  }
  const port = attrValue(info, "slaveData");
  if (port?.kind === "bridge") {
    const hairpin = attrValue(port.attrs, "hairpin");
    if (hairpin !== undefined) out.hairpin = hairpin === 1;
  }
  return out;
}

/** Kernel rules for interface names (dev_valid_name): 1-15 bytes, not "." or "..", no "/", ":" or whitespace. */
function validateLinkName(name: string): string {
  if (name === "." || name === ".." || Buffer.byteLength(name) > 15 || !/^[^\s/:]+$/.test(name)) {
    throw new UsageError(`invalid interface name "${name}": use 1-15 characters without "/", ":" or spaces`);
  }
  return name;
}

function validateMac(mac: string): string {
  if (parseMac(mac) === null) throw new UsageError(`invalid MAC address "${mac}": expected six hex octets such as 02:42:ac:11:00:02`);
  return mac;
}

function validateMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 0xffff) throw new UsageError(`invalid MTU ${mtu}: expected an integer from 68 to 65535`);
  return mtu;
}

function header(index = 0, flags = 0, change = 0): LinkMessage["header"] {
  return { family: 0, type: 0, index, flags, change };
}

function commonAttrs(spec: { name: string; mtu?: number; mac?: string }): LinkAttr[] {
  const attrs: LinkAttr[] = [{ name: "ifname", value: validateLinkName(spec.name) }];
  if (spec.mtu !== undefined) attrs.push({ name: "mtu", value: validateMtu(spec.mtu) });
  if (spec.mac !== undefined) attrs.push({ name: "address", value: validateMac(spec.mac) });
  return attrs;
}

function validateParent(parent: number): number {
  if (!Number.isInteger(parent) || parent <= 0 || parent > 0x7fffffff) throw new UsageError(`invalid parent interface index ${parent}`);
  return parent;
}

export function linkAddMessage(spec: LinkSpec): LinkMessage {
  const info: LinkInfoAttr[] = [{ name: "kind", value: spec.kind }];
  const attrs: LinkAttr[] = commonAttrs({ name: spec.name, mtu: spec.mtu, mac: spec.kind === "ipvlan" ? undefined : spec.mac });
  switch (spec.kind) {
    case "veth": {
      const peerAttrs = commonAttrs(spec.peer);
      if (spec.peer.netnsFd !== undefined) peerAttrs.push({ name: "netnsFd", value: spec.peer.netnsFd });
      info.push({ name: "data", value: { kind: "veth", attrs: [{ name: "peer", value: { header: header(), attrs: peerAttrs } }] } });
      if (spec.master !== undefined) attrs.push({ name: "master", value: spec.master });
      break;
    }
    case "bridge": {
      const data: BridgeAttr[] = [];
      if (spec.vlanFiltering !== undefined) data.push({ name: "vlanFiltering", value: spec.vlanFiltering ? 1 : 0 });
      if (spec.multicastSnooping !== undefined) data.push({ name: "mcastSnooping", value: spec.multicastSnooping ? 1 : 0 });
      if (data.length) info.push({ name: "data", value: { kind: "bridge", attrs: data } });
      if (spec.master !== undefined) attrs.push({ name: "master", value: spec.master });
      break;
    }
    case "macvlan":
      attrs.push({ name: "link", value: validateParent(spec.parent) });
      info.push({
        name: "data",
        value: { kind: "macvlan", attrs: [{ name: "mode", value: MACVLAN_MODES[spec.mode] }, ...(spec.bcCutoff !== undefined ? [{ name: "bcCutoff" as const, value: spec.bcCutoff }] : [])] },
      });
      break;
    case "ipvlan":
      attrs.push({ name: "link", value: validateParent(spec.parent) });
      info.push({ name: "data", value: { kind: "ipvlan", attrs: [{ name: "mode", value: IPVLAN_MODES[spec.mode] }] } });
      break;
  }
  if ((spec.kind === "macvlan" || spec.kind === "ipvlan") && spec.netnsFd !== undefined) attrs.push({ name: "netnsFd", value: spec.netnsFd });
  attrs.push({ name: "linkinfo", value: info });
  return { header: spec.kind === "veth" && spec.up ? header(0, IFF_UP, IFF_UP) : header(), attrs };
}

function bridgePortAttrs(settings: BridgePortSettings): BridgePortAttr[] {
  const port: BridgePortAttr[] = [];
  if (settings.hairpin !== undefined) port.push({ name: "hairpin", value: settings.hairpin ? 1 : 0 });
  if (settings.learning !== undefined) port.push({ name: "learning", value: settings.learning ? 1 : 0 });
  if (settings.isolated !== undefined) port.push({ name: "isolated", value: settings.isolated ? 1 : 0 });
  return port;
}

function bridgeHeader(index: number): BridgeLinkMessage["header"] {
  return { family: AF_BRIDGE, type: 0, index, flags: 0, change: 0 };
}

/** RTM_SETLINK (PF_BRIDGE) of a port's flags; the port is given by index, as rtnl_bridge_setlink needs. */
export function bridgePortMessage(index: number, settings: BridgePortSettings): BridgeLinkMessage {
  return { header: bridgeHeader(index), attrs: [{ name: "protinfo", value: bridgePortAttrs(settings) }] };
}

/** RTM_SETLINK / RTM_DELLINK (PF_BRIDGE) of one VLAN on a port (through its bridge) or on the bridge itself. */
export function bridgeVlanMessage(index: number, vid: number, options: BridgeVlanOptions = {}): BridgeLinkMessage {
  if (!Number.isInteger(vid) || vid < 1 || vid > 4094) throw new UsageError(`invalid VLAN id ${vid}: expected an integer from 1 to 4094`);
  let flags = 0;
  if (options.pvid) flags |= BRIDGE_VLAN_INFO_PVID;
  if (options.untagged) flags |= BRIDGE_VLAN_INFO_UNTAGGED;
  const spec: BridgeAfSpecAttr[] = [];
  if (options.self) spec.push({ name: "flags", value: BRIDGE_FLAGS_SELF });
  spec.push({ name: "vlanInfo", value: { flags, vid } });
  return { header: bridgeHeader(index), attrs: [{ name: "afSpec", value: spec }] };
}

/** The kernel finds a link by index, or by IFLA_IFNAME when the index is 0. */
export function linkRefMessage(ref: LinkRef): LinkMessage {
  if (typeof ref === "number") {
    if (!Number.isInteger(ref) || ref <= 0 || ref > 0x7fffffff) throw new UsageError(`invalid interface index ${ref}`);
    return { header: header(ref), attrs: [] };
  }
  return { header: header(), attrs: [{ name: "ifname", value: validateLinkName(ref) }] };
}

/** RTM_GETLINK of one link without its counters (IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS), for linkSummary. */
export function linkSummaryRequest(ref: LinkRef): LinkMessage {
  const msg = linkRefMessage(ref);
  msg.attrs.push({ name: "extMask", value: RTEXT_FILTER_SKIP_STATS });
  return msg;
}

/** A rename needs the link by index: with index 0 the kernel would read IFLA_IFNAME as the link to change. */
export function linkSetMessage(ref: LinkRef, changes: LinkChanges): LinkMessage {
  if (changes.name !== undefined && typeof ref !== "number") throw new RangeError("renaming a link needs its index");
  const msg = linkRefMessage(ref);
  if (changes.up !== undefined) msg.header = header(msg.header.index, changes.up ? IFF_UP : 0, IFF_UP);
  if (changes.name !== undefined) msg.attrs.push({ name: "ifname", value: validateLinkName(changes.name) });
  if (changes.mtu !== undefined) msg.attrs.push({ name: "mtu", value: validateMtu(changes.mtu) });
  if (changes.mac !== undefined) msg.attrs.push({ name: "address", value: validateMac(changes.mac) });
  if (changes.master !== undefined) msg.attrs.push({ name: "master", value: changes.master });
  if (changes.netnsFd !== undefined) msg.attrs.push({ name: "netnsFd", value: changes.netnsFd });
  const spec = afSpecOf(changes);
  if (spec.length) msg.attrs.push({ name: "afSpec", value: spec });
  if (changes.bridgePort !== undefined) {
    msg.attrs.push({ name: "linkinfo", value: [{ name: "slaveKind", value: "bridge" }, { name: "slaveData", value: { kind: "bridge", attrs: bridgePortAttrs(changes.bridgePort) } }] });
  }
  return msg;
}

export function describeLink(ref: LinkRef): string {
  return typeof ref === "number" ? `link index ${ref}` : `link "${ref}"`;
}
