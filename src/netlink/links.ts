// Links in the typed API: what a link looks like to callers, and the RTM_*LINK messages that create,
// change, find and delete them.
import { UsageError } from "../errors.ts";
import { parseMac } from "../ip/codec.ts";
import { attrValue } from "./attrs.ts";
import { IFF_UP, type LinkAttr, type LinkInfoAttr, type LinkMessage, type Stats64 } from "./msg-link.ts";

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
}

export interface VethSpec {
  kind: "veth";
  name: string;
  mtu?: number;
  mac?: string;
  /** The other end, created directly in the namespace `netnsFd` refers to when given. */
  peer: { name: string; netnsFd?: number; mtu?: number; mac?: string };
}

export interface BridgeSpec {
  kind: "bridge";
  name: string;
  mtu?: number;
  mac?: string;
}

export type LinkSpec = VethSpec | BridgeSpec;

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  mac?: string;
  name?: string;
  /** Index of the new master; 0 releases the link from its master. */
  master?: number;
  /** Move the link into the network namespace this fd refers to. */
  netnsFd?: number;
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
  };
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

export function linkAddMessage(spec: LinkSpec): LinkMessage {
  const info: LinkInfoAttr[] = [{ name: "kind", value: spec.kind }];
  if (spec.kind === "veth") {
    const peerAttrs = commonAttrs(spec.peer);
    if (spec.peer.netnsFd !== undefined) peerAttrs.push({ name: "netnsFd", value: spec.peer.netnsFd });
    info.push({ name: "data", value: { kind: "veth", attrs: [{ name: "peer", value: { header: header(), attrs: peerAttrs } }] } });
  }
  return { header: header(), attrs: [...commonAttrs(spec), { name: "linkinfo", value: info }] };
}

/** The kernel finds a link by index, or by IFLA_IFNAME when the index is 0. */
export function linkRefMessage(ref: LinkRef): LinkMessage {
  if (typeof ref === "number") {
    if (!Number.isInteger(ref) || ref <= 0 || ref > 0x7fffffff) throw new UsageError(`invalid interface index ${ref}`);
    return { header: header(ref), attrs: [] };
  }
  return { header: header(), attrs: [{ name: "ifname", value: validateLinkName(ref) }] };
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
  return msg;
}

export function describeLink(ref: LinkRef): string {
  return typeof ref === "number" ? `link index ${ref}` : `link "${ref}"`;
}
