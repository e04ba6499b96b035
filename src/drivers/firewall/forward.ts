// Hosts whose iptables FORWARD policy is DROP (docker sets it so). A packet passes the forward hook only
// when every base chain there accepts it, so that policy, in iptables' own table, drops what ctrnet's table
// lets through. With iptables-nft, the `ip filter` / `ip6 filter` tables are nf_tables tables: ctrnet
// inserts, over the same netlink socket, two rules per bridge at the start of their FORWARD chains
// (`-i BRIDGE -j ACCEPT`, `-o BRIDGE -j ACCEPT`, commented `ctrnet BRIDGE`), made only of expressions
// iptables-nft reads back, so `iptables -S` and docker keep working. They let through exactly what the
// host would forward without the DROP policy; ctrnet's own forward chain still drops what isolation and
// internal networks forbid (a drop in any base chain is final). They go with the network.
import * as nf from "../../netlink/nftables/index.ts";
import { accept } from "./match.ts";

const FAMILIES = ["ip", "ip6"] as const;
const chainOf = (family: (typeof FAMILIES)[number]) => ({ family, table: "filter", name: "FORWARD" });

const PREFIX = "ctrnet ";
const commentFor = (bridge: string): string => `${PREFIX}${bridge}`;

function rulesFor(bridge: string): nf.Expr[][] {
  const name = nf.ifname(bridge);
  return (["iifname", "oifname"] as const).map((key) => [
    { type: "meta", key, dreg: nf.REG_1 },
    { type: "cmp", sreg: nf.REG_1, op: "eq", data: name },
    accept,
  ]);
}

/** The iptables-nft FORWARD chains whose policy is drop. */
function droppingChains(nft: nf.Nftables): ReturnType<typeof chainOf>[] {
  return FAMILIES.map(chainOf).filter((ref) => nft.chain(ref)?.base?.policy === "drop");
}

/**
 * Queues the accept rules of each bridge that a dropping FORWARD chain lacks; returns how many rules.
 * Cheap when nothing drops: one request per family, no dump.
 */
export function queueForwardAccepts(nft: nf.Nftables, bridges: readonly string[]): number {
  let queued = 0;
  for (const ref of droppingChains(nft)) {
    const present = new Set(nft.rules({ family: ref.family, table: ref.table, chain: ref.name }).map((r) => r.comment));
    for (const bridge of bridges) {
      if (present.has(commentFor(bridge))) continue;
      for (const exprs of rulesFor(bridge)) {
        nft.insertRule({ family: ref.family, table: ref.table, chain: ref.name, exprs, comment: commentFor(bridge) });
        queued++;
      }
    }
  }
  return queued;
}

/** Queues the deletion of ctrnet's rules of these bridges (every bridge: undefined), whatever the policy now. */
export function queueForwardRemoval(nft: nf.Nftables, bridges?: readonly string[]): number {
  const ours = bridges === undefined ? (c: string) => c.startsWith(PREFIX) : (c: string) => bridges.some((b) => c === commentFor(b));
  let queued = 0;
  for (const ref of FAMILIES.map(chainOf)) {
    if (nft.chain(ref) === undefined) continue;
    for (const rule of nft.rules({ family: ref.family, table: ref.table, chain: ref.name })) {
      if (rule.comment === undefined || !ours(rule.comment)) continue;
      nft.deleteRule({ family: ref.family, table: ref.table, chain: ref.name, handle: rule.handle });
      queued++;
    }
  }
  return queued;
}
