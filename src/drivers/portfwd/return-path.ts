// The way back to a forwarder that keeps the client's address. Its sockets in the netns are bound to the
// client's address, so the server's replies are addressed to a host that is not there: the netns must route
// them back to those sockets, as for transparent proxies (the kernel's tproxy documentation). Every way here
// ends in the same policy route, for replies carrying REPLY_MARK:
//   ip rule add priority 32000 fwmark REPLY lookup TABLE; ip route add local default dev lo table TABLE (IPv4, IPv6)
// and differs in how the replies get that mark:
// - TCP to an address of the netns itself (a slirp4netns container's: the server is in the forwarder's netns),
//   the socket's own mark: the forwarder's socket carries REPLY (its packets go to a local address, which the
//   local table routes before that rule), and with net.ipv4.tcp_fwmark_accept (per netns, IPv4 and IPv6 alike)
//   the server's accepted socket takes the mark of the SYN, so its SYN-ACK and everything after go out with it;
//   with net.ipv{4,6}.fwmark_reflect the kernel's own answers (a reset from a port nothing listens on, an ACK
//   from TIME_WAIT) carry the mark of what they answer. No netfilter at all: the server's socket keeps its
//   route, and the forwarder's takes the replies by early demux, as for any local connection. (Side effects,
//   in that netns only: a server whose listening socket has a mark of its own keeps it, and such a server's
//   clients would not be brought back; a packet the container marks itself passes its mark on likewise.)
// - Everything else, connmark: UDP (a server's unconnected socket replies with no mark), and TCP to a server
//   behind a bridge of the netns (the rootless netns; a mark does not cross into another netns). The
//   forwarder's socket carries FORWARDER, which the policy route does not take (its packets must leave through
//   the bridge), and conntrack carries the mark over to the replies:
//     table inet ctrnet-portfwd
//       chain output     { type route hook output priority mangle; meta mark FORWARDER ct mark set REPLY;
//                          ct direction reply ct mark REPLY meta mark set REPLY }
//       chain prerouting { type filter hook prerouting priority mangle; ct direction reply ct mark REPLY meta mark set REPLY }
//   The output chain serves a server in the netns itself, the prerouting chain one behind a bridge. That
//   costs conntrack in the netns (registered there by these ct expressions) and a reroute of every reply in
//   the output chain, hence made only where a target needs it.
// Made over netlink (and /proc/sys/net) by the user who owns the netns; they go with the netns. Made again
// (the same) by every forwarder that starts there; the table is left where a forwarder does not need it.
import { isSysError } from "../../../ffi/errno.ts";
import { close } from "../../../ffi/libc.ts";
import { formatIP, parseIP } from "../../ip/codec.ts";
import { type Family, isNetlinkError, Netlink } from "../../netlink/index.ts";
import * as nf from "../../netlink/nftables/index.ts";
import { openNetns, writeSysctl } from "../../netns/index.ts";

/** SO_MARK of the forwarder's sockets in the netns that go by connmark. */
export const FORWARDER_MARK = 0x63740001;
/** The mark of replies to them, of their connections in conntrack, and of the sockets that go without. */
export const REPLY_MARK = 0x63740002;
/** The routing table that delivers everything locally. */
export const REPLY_TABLE = 0x6374;
/** Before the main table's rule (32766); a fixed one, so that adding the rule again is EEXIST, not a second rule. */
const RULE_PRIORITY = 32000;
const TABLE = { family: "inet" as const, name: "ctrnet-portfwd" };
const T = { family: TABLE.family, table: TABLE.name };
/** NF_IP_PRI_MANGLE: before the routing decision a route chain can change. */
const MANGLE = -150;

/** Where the forwarder's sockets in the netns go. */
export interface ReturnTarget {
  protocol: "tcp" | "udp";
  ip: string;
}

export interface ReturnPath {
  /** The netns's default gateway of each family, what a client on the host's loopback appears as; "" for none. */
  gateway4: string;
  gateway6: string;
  /** The mark of the forwarder's sockets to each target, in the order given: REPLY_MARK or FORWARDER_MARK. */
  marks: number[];
  /** No target is an address of the netns itself: every server is behind one of its bridges (the rootless netns). */
  behindBridge: boolean;
}

/** IFA_F_DADFAILED, IFA_F_TENTATIVE: an IPv6 address not usable (yet). */
const UNUSABLE = 0x08 | 0x40;

const R1 = nf.REG_1;
const mark = (value: number) => nf.hostU32(value);

function replyToForwarder(): nf.Expr[] {
  return [
    { type: "ct", key: "direction", dreg: R1 },
    { type: "cmp", sreg: R1, op: "eq", data: Uint8Array.of(nf.CT_DIRECTION.reply) },
    { type: "ct", key: "mark", dreg: R1 },
    { type: "cmp", sreg: R1, op: "eq", data: mark(REPLY_MARK) },
    { type: "immediate", dreg: R1, data: mark(REPLY_MARK) },
    { type: "meta", key: "mark", sreg: R1 },
  ];
}

function forwarderConnection(): nf.Expr[] {
  return [
    { type: "meta", key: "mark", dreg: R1 },
    { type: "cmp", sreg: R1, op: "eq", data: mark(FORWARDER_MARK) },
    { type: "immediate", dreg: R1, data: mark(REPLY_MARK) },
    { type: "ct", key: "mark", sreg: R1 },
  ];
}

/** The table as one batch: made anew, so a second forwarder in the same netns leaves it as it was. */
function writeTable(netnsPath: string): void {
  const nft = nf.Nftables.open({ netns: netnsPath });
  try {
    nft.addTable(TABLE);
    nft.deleteTable(TABLE);
    nft.addTable(TABLE);
    nft.addChain({ ...T, name: "output", base: { type: "route", hook: "output", priority: MANGLE, policy: "accept" } });
    nft.addChain({ ...T, name: "prerouting", base: { type: "filter", hook: "prerouting", priority: MANGLE, policy: "accept" } });
    nft.appendRule({ ...T, chain: "output", exprs: forwarderConnection() });
    nft.appendRule({ ...T, chain: "output", exprs: replyToForwarder() });
    nft.appendRule({ ...T, chain: "prerouting", exprs: replyToForwarder() });
    nft.commit();
  } finally {
    nft.close();
  }
}

function existing(err: unknown): boolean {
  return isNetlinkError(err, "EEXIST");
}

function routeBack(nl: Netlink, family: Family): void {
  try {
    nl.ruleAdd({ family, fwmark: REPLY_MARK, table: REPLY_TABLE, priority: RULE_PRIORITY });
  } catch (err) {
    if (!existing(err)) throw err;
  }
  try {
    nl.routeAdd({ family, type: "local", dst: "default", dev: "lo", table: REPLY_TABLE });
  } catch (err) {
    if (!existing(err)) throw err;
  }
}

function isLinkLocal6(ip: string): boolean {
  return /^fe[89ab]/i.test(ip);
}

function canonical(ip: string): string {
  const bytes = parseIP(ip);
  return bytes === null ? ip : formatIP(bytes);
}

/** The addresses of the netns's own interfaces, usable now: a connection to one of them stays in the netns. */
function ownAddresses(nl: Netlink): Set<string> {
  return new Set(nl.addresses().filter((a) => (a.flags & UNUSABLE) === 0).map((a) => canonical(a.address)));
}

/** Replies by the sockets' own marks (see above): false where the netns's sysctls cannot be written. */
function markSockets(netnsPath: string, ipv6: boolean): boolean {
  const fd = openNetns(netnsPath);
  try {
    writeSysctl(["ipv4", "tcp_fwmark_accept"], "1", fd);
    writeSysctl(["ipv4", "fwmark_reflect"], "1", fd);
    if (ipv6) writeSysctl(["ipv6", "fwmark_reflect"], "1", fd);
    return true;
  } catch (err) {
    if (!isSysError(err)) throw err;
    return false;
  } finally {
    close(fd);
  }
}

/**
 * Makes what the targets need in the netns at netnsPath (idempotent), and reads its gateways. TCP to an address
 * of the netns goes by the sockets' marks where the netns's sysctls allow, the rest by connmark. Throws
 * NetlinkError.
 */
export function setUpReturnPath(netnsPath: string, targets: readonly ReturnTarget[]): ReturnPath {
  const nl = Netlink.open({ netns: netnsPath });
  try {
    const own = ownAddresses(nl);
    const ownTarget = targets.map((t) => own.has(canonical(t.ip)));
    const local = targets.map((t, i) => t.protocol === "tcp" && ownTarget[i]!);
    const marked = local.some(Boolean) && markSockets(netnsPath, targets.some((t, i) => local[i] && t.ip.includes(":")));
    const marks = local.map((l) => (l && marked ? REPLY_MARK : FORWARDER_MARK));
    if (marks.includes(FORWARDER_MARK)) writeTable(netnsPath);
    routeBack(nl, 4);
    let ipv6 = true;
    try {
      routeBack(nl, 6);
    } catch (err) {
      // A netns without IPv6 (disabled, or a kernel without it) has no IPv6 clients to bring back either.
      if (!isNetlinkError(err, "EAFNOSUPPORT", "EOPNOTSUPP", "EACCES")) throw err;
      ipv6 = false;
    }
    const gateway = (family: Family) =>
      nl.routes({ family }).find((r) => r.dst === "default" && r.gateway !== undefined && !(family === 6 && isLinkLocal6(r.gateway)))?.gateway ?? "";
    return { gateway4: gateway(4), gateway6: ipv6 ? gateway(6) : "", marks, behindBridge: targets.length > 0 && !ownTarget.some(Boolean) };
  } finally {
    nl.close();
  }
}
