// The way back to a forwarder that keeps the client's address. Its sockets in the netns are bound to the
// client's address, so the server's replies are addressed to a host that is not there: the rules made here
// bring them back to those sockets, as transparent proxies do (the kernel's tproxy documentation):
//   table inet ctrnet-portfwd
//     chain output     { type route hook output priority mangle; meta mark FORWARDER ct mark set REPLY;
//                        ct direction reply ct mark REPLY meta mark set REPLY }
//     chain prerouting { type filter hook prerouting priority mangle; ct direction reply ct mark REPLY meta mark set REPLY }
//   ip rule add priority 32000 fwmark REPLY lookup TABLE; ip route add local default dev lo table TABLE (IPv4, IPv6)
// The output chain serves a server in the netns itself (a slirp4netns container); the prerouting chain one
// behind a bridge of it (the rootless netns). The forwarder's own packets carry another mark than the replies,
// or the rule would deliver them to the netns itself too. Made over netlink by the user who owns the netns;
// they go with the netns. Made again (the same) by every forwarder that starts there.
import { type Family, isNetlinkError, Netlink } from "../../netlink/index.ts";
import * as nf from "../../netlink/nftables/index.ts";

/** SO_MARK of the forwarder's sockets in the netns. */
export const FORWARDER_MARK = 0x63740001;
/** The mark of replies to them, and of their connections in conntrack. */
export const REPLY_MARK = 0x63740002;
/** The routing table that delivers everything locally. */
export const REPLY_TABLE = 0x6374;
/** Before the main table's rule (32766); a fixed one, so that adding the rule again is EEXIST, not a second rule. */
const RULE_PRIORITY = 32000;
const TABLE = { family: "inet" as const, name: "ctrnet-portfwd" };
const T = { family: TABLE.family, table: TABLE.name };
/** NF_IP_PRI_MANGLE: before the routing decision a route chain can change. */
const MANGLE = -150;

export interface ReturnPath {
  /** The netns's default gateway of each family, what a client on the host's loopback appears as; "" for none. */
  gateway4: string;
  gateway6: string;
}

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

/** Makes the rules and routes in the netns at netnsPath (idempotent) and reads its gateways. Throws NetlinkError. */
export function setUpReturnPath(netnsPath: string): ReturnPath {
  writeTable(netnsPath);
  const nl = Netlink.open({ netns: netnsPath });
  try {
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
    return { gateway4: gateway(4), gateway6: ipv6 ? gateway(6) : "" };
  } finally {
    nl.close();
  }
}
