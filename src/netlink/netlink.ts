// The typed rtnetlink client: one socket, opened in the namespace it will work on, and one method per operation.
import { formatCidr } from "../ip/codec.ts";
import {
  addressMessage,
  defaultBroadcast,
  familyNumber,
  parseCidrArg,
  toAddress,
  type Address,
  type AddressOptions,
  type Family,
} from "./addresses.ts";
import { NetlinkDumpInterruptedError, NetlinkMalformedError } from "./errors.ts";
import {
  type BridgePortSettings,
  type BridgeVlanOptions,
  bridgePortMessage,
  bridgeVlanMessage,
  describeLink,
  linkAddMessage,
  linkRefMessage,
  linkSetMessage,
  linkSummaryRequest,
  toLink,
  type Link,
  type LinkSummary,
  type LinkChanges,
  type LinkRef,
  type LinkSpec,
} from "./links.ts";
import { addressMessage as addressCodec, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR } from "./msg-address.ts";
import {
  bridgeLinkMessage,
  linkMessage,
  linkSummaryMessage,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
  type LinkMessage,
  type Stats64,
} from "./msg-link.ts";
import { NETCONFA_IFINDEX_ALL, netconfMessage, RTM_GETNETCONF } from "./msg-netconf.ts";
import { routeMessage as routeCodec, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, RT_TABLE_MAIN, type RouteAttr } from "./msg-route.ts";
import { describeRoute, routeMessage, toRoute, type Route, type RouteSpec } from "./routes.ts";
import { ruleMessage as ruleCodec, RTM_DELRULE, RTM_GETRULE, RTM_NEWRULE } from "./msg-rule.ts";
import { describeRule, ruleMessage, toRule, type Rule, type RuleSpec } from "./rules.ts";
import { NetlinkSocket, type SocketOptions } from "./socket.ts";
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, type Writer } from "./wire.ts";

/** Link changes as callers give them: the master by name or index, null to release it. */
export type LinkUpdate = Omit<LinkChanges, "master"> & { master?: LinkRef | null };

export interface AddressFilter {
  link?: LinkRef;
  family?: Family;
}

export interface RouteFilter {
  family?: Family;
  /** Defaults to the main table, as `ip route` does; 0 lists every table. */
  table?: number;
}

const DUMP_ATTEMPTS = 3;
const CREATE = NLM_F_CREATE | NLM_F_EXCL;

export class Netlink {
  private constructor(private readonly socket: NetlinkSocket) {}

  /** With `netns`, the socket is created inside that namespace and every operation applies there. */
  static open(options: SocketOptions = {}): Netlink {
    return new Netlink(NetlinkSocket.open(options));
  }

  close(): void {
    this.socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  links(): Link[] {
    const all: LinkMessage = { header: { family: 0, type: 0, index: 0, flags: 0, change: 0 }, attrs: [] };
    return this.dump("list links", RTM_GETLINK, (w) => linkMessage.encode(w, all), (p) => toLink(linkMessage.decode(p, [])));
  }

  /** Throws NetlinkError ENODEV when there is no such link. */
  link(ref: LinkRef): Link {
    return this.getLink(ref, linkRefMessage(ref), (p) => toLink(linkMessage.decode(p, [])));
  }

  /**
   * The link's index, name, kind, flags, MTU, MAC, master and IPv4 settings, and nothing else: the kernel
   * sends no counters and the rest of its reply is skipped unread (a bridge's is about 1.9 KB). Throws
   * NetlinkError ENODEV when there is no such link.
   */
  linkSummary(ref: LinkRef): LinkSummary {
    return this.getLink(ref, linkSummaryRequest(ref), (p) => toLink(linkSummaryMessage.decode(p, [])));
  }

  /** One link's reply to an RTM_GETLINK request, decoded by `decode`. */
  private getLink<T>(ref: LinkRef, request: LinkMessage, decode: (p: Parameters<typeof linkMessage.decode>[0]) => T): T {
    const replies = this.socket.request(`get ${describeLink(ref)}`, RTM_GETLINK, 0, (w) => linkMessage.encode(w, request), decode);
    const found = replies[0];
    if (found === undefined) throw new NetlinkMalformedError(`no reply to get ${describeLink(ref)}`);
    return found;
  }

  linkAdd(spec: LinkSpec): void {
    const msg = linkAddMessage(spec);
    this.socket.request(`add ${describeLink(spec.name)}`, RTM_NEWLINK, CREATE, (w) => linkMessage.encode(w, msg), ignore);
  }

  /** All changes go to the kernel in one message. */
  linkSet(ref: LinkRef, update: LinkUpdate): void {
    const { master, ...rest } = update;
    const changes: LinkChanges = rest;
    if (master !== undefined) changes.master = master === null ? 0 : this.indexOf(master);
    const target = rest.name === undefined ? ref : this.indexOf(ref);
    const msg = linkSetMessage(target, changes);
    this.socket.request(`set ${describeLink(ref)}`, RTM_NEWLINK, 0, (w) => linkMessage.encode(w, msg), ignore);
  }

  /** A bridge port's flags (hairpin, learning, isolation), set through the bridge it is enslaved to. */
  bridgePortSet(port: LinkRef, settings: BridgePortSettings): void {
    const msg = bridgePortMessage(this.indexOf(port), settings);
    this.socket.request(`set bridge port flags of ${describeLink(port)}`, RTM_SETLINK, 0, (w) => bridgeLinkMessage.encode(w, msg), ignore);
  }

  /** `bridge vlan add vid VID dev LINK [pvid] [untagged] [self]`. */
  bridgeVlanAdd(link: LinkRef, vid: number, options: BridgeVlanOptions = {}): void {
    const msg = bridgeVlanMessage(this.indexOf(link), vid, options);
    this.socket.request(`add VLAN ${vid} to ${describeLink(link)}`, RTM_SETLINK, 0, (w) => bridgeLinkMessage.encode(w, msg), ignore);
  }

  bridgeVlanDelete(link: LinkRef, vid: number, options: Pick<BridgeVlanOptions, "self"> = {}): void {
    const msg = bridgeVlanMessage(this.indexOf(link), vid, options);
    this.socket.request(`delete VLAN ${vid} from ${describeLink(link)}`, RTM_DELLINK, 0, (w) => bridgeLinkMessage.encode(w, msg), ignore);
  }

  /** Deleting one end of a veth pair deletes both. Throws NetlinkError ENODEV when there is no such link. */
  linkDelete(ref: LinkRef): void {
    const msg = linkRefMessage(ref);
    this.socket.request(`delete ${describeLink(ref)}`, RTM_DELLINK, 0, (w) => linkMessage.encode(w, msg), ignore);
  }

  /** IFLA_STATS64 of one link. */
  linkStats(ref: LinkRef): Stats64 {
    const { stats } = this.link(ref);
    if (stats === undefined) throw new NetlinkMalformedError(`no IFLA_STATS64 for ${describeLink(ref)}`);
    return stats;
  }

  // Dump filters: the kernel applies them (NETLINK_GET_STRICT_CHK) so less crosses the socket; checking
  // again here keeps the result right on a kernel that ignores them.

  addresses(filter: AddressFilter = {}): Address[] {
    const index = filter.link === undefined ? 0 : this.indexOf(filter.link);
    const family = filter.family === undefined ? 0 : familyNumber(filter.family);
    const header = { family, prefixLength: 0, flags: 0, scope: 0, index };
    return this.dump(
      "list addresses",
      RTM_GETADDR,
      (w) => addressCodec.encode(w, { header, attrs: [] }),
      (p) => toAddress(addressCodec.decode(p, [])),
    ).filter((a): a is Address => a !== null && (index === 0 || a.index === index));
  }

  /** `cidr` is the address with its prefix length, e.g. "10.88.0.2/16". */
  addressAdd(link: LinkRef, cidr: string, options: AddressOptions = {}): void {
    const parsed = parseCidrArg(cidr);
    // IPv4: the subnet's broadcast unless told (`ip addr` shows `brd`, as for podman's containers)
    const broadcast = options.broadcast ?? defaultBroadcast(parsed);
    const msg = addressMessage(this.indexOf(link), parsed, { ...options, ...(broadcast !== undefined ? { broadcast } : {}) });
    const what = `add address ${formatCidr(parsed)} to ${describeLink(link)}`;
    this.socket.request(what, RTM_NEWADDR, CREATE, (w) => addressCodec.encode(w, msg), ignore);
  }

  addressDelete(link: LinkRef, cidr: string): void {
    const parsed = parseCidrArg(cidr);
    const msg = addressMessage(this.indexOf(link), parsed);
    const what = `delete address ${formatCidr(parsed)} from ${describeLink(link)}`;
    this.socket.request(what, RTM_DELADDR, 0, (w) => addressCodec.encode(w, msg), ignore);
  }

  /**
   * The family's forwarding switch for every interface (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding),
   * read over netlink: one message, where /proc/sys/net costs a lookup that grows with the host's netns count.
   */
  forwarding(family: Family): boolean {
    const header = { family: familyNumber(family) };
    const request = (w: Writer) => netconfMessage.encode(w, { header, attrs: [{ name: "ifindex", value: NETCONFA_IFINDEX_ALL }] });
    const [reply] = this.socket.request(`get ${family === 4 ? "ipv4" : "ipv6"} forwarding`, RTM_GETNETCONF, 0, request, (p) => netconfMessage.decode(p, []));
    const value = reply?.attrs.find((a) => a.name === "forwarding")?.value;
    if (typeof value !== "number") throw new NetlinkMalformedError(`no NETCONFA_FORWARDING in the reply to get ${family === 4 ? "ipv4" : "ipv6"} forwarding`);
    return value !== 0;
  }

  routes(filter: RouteFilter = {}): Route[] {
    const family = filter.family === undefined ? 0 : familyNumber(filter.family);
    const table = filter.table ?? RT_TABLE_MAIN;
    const header = { family, dstLength: 0, srcLength: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 };
    const attrs: RouteAttr[] = table === 0 ? [] : [{ name: "table", value: table }];
    const request = (w: Writer) => routeCodec.encode(w, { header, attrs });
    return this.dump("list routes", RTM_GETROUTE, request, (p) => toRoute(routeCodec.decode(p, []))).filter(
      (r): r is Route => r !== null && (table === 0 || r.table === table),
    );
  }

  routeAdd(route: RouteSpec): void {
    const msg = routeMessage(route, this.optionalIndex(route.dev), "add");
    const flags = route.append ? NLM_F_CREATE | NLM_F_APPEND : CREATE;
    this.socket.request(`add ${describeRoute(route)}`, RTM_NEWROUTE, flags, (w) => routeCodec.encode(w, msg), ignore);
  }

  routeDelete(route: RouteSpec): void {
    const msg = routeMessage(route, this.optionalIndex(route.dev), "delete");
    this.socket.request(`delete ${describeRoute(route)}`, RTM_DELROUTE, 0, (w) => routeCodec.encode(w, msg), ignore);
  }

  rules(family?: Family): Rule[] {
    const header = { family: family === undefined ? 0 : familyNumber(family), dstLength: 0, srcLength: 0, tos: 0, table: 0, action: 0, flags: 0 };
    const request = (w: Writer) => ruleCodec.encode(w, { header, attrs: [] });
    return this.dump("list rules", RTM_GETRULE, request, (p) => toRule(ruleCodec.decode(p, []))).filter((r): r is Rule => r !== null);
  }

  /** EEXIST when the same rule is there already. */
  ruleAdd(rule: RuleSpec): void {
    const msg = ruleMessage(rule);
    this.socket.request(`add ${describeRule(rule)}`, RTM_NEWRULE, CREATE, (w) => ruleCodec.encode(w, msg), ignore);
  }

  ruleDelete(rule: RuleSpec): void {
    const msg = ruleMessage(rule);
    this.socket.request(`delete ${describeRule(rule)}`, RTM_DELRULE, 0, (w) => ruleCodec.encode(w, msg), ignore);
  }

  private indexOf(ref: LinkRef): number {
    return typeof ref === "number" ? ref : this.link(ref).index;
  }

  private optionalIndex(ref: LinkRef | undefined): number | undefined {
    return ref === undefined ? undefined : this.indexOf(ref);
  }

  /** A dump the kernel marks as interrupted is run again, a few times, before giving up. */
  private dump<T>(operation: string, type: number, body: (w: Writer) => void, decode: (payload: Uint8Array) => T): T[] {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.socket.request(operation, type, NLM_F_DUMP, body, decode);
      } catch (err) {
        if (!(err instanceof NetlinkDumpInterruptedError) || attempt === DUMP_ATTEMPTS) throw err;
      }
    }
  }
}

function ignore(): void {}
