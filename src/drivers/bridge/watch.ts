// `ctrnet watch`: keeps ctrnet's nftables table whole while something else rewrites the ruleset (`nft flush
// ruleset`, a firewalld reload, `nft delete table inet ctrnet`). It listens on the nf_tables notification
// group, and after a batch of another process that deleted anything of the table, it checks the table and,
// when it is not whole, rebuilds it from the native attachments' records in one batch; a change of
// iptables-nft's FORWARD chains (docker setting their policy to DROP, `iptables -F`) gets ctrnet's accept
// rules back (firewall/forward.ts). Its own batches are recognised by their generation's pid and never looked at again, so a rebuild does not wake it up.
import { Firewall, FIREWALL_TABLE as TABLE } from "../firewall/index.ts";
import { isNetlinkError } from "../../netlink/index.ts";
import { NftMonitor, type NftEvent } from "../../netlink/nftables/index.ts";
import { recordedFirewallState } from "./recorded.ts";

export interface WatchOptions {
  /** ctrnet's state dir, where the native attachments' records are. */
  root: string;
  signal: AbortSignal;
  /** Called after each rebuild, with what it put back and whose change caused it. */
  onRebuild?: (what: Repair & { cause: string }) => void;
  /** How often the socket is read when nothing happens. */
  intervalMs?: number;
}

/** Rebuilds refused because the ruleset kept changing under them, before giving up. */
const MAX_ATTEMPTS = 5;

/** iptables-nft's FORWARD chains, whose policy or rules may need ctrnet's accept rules again. */
const isForward = (c: { family: string; table: string; name?: string; chain?: string }) =>
  (c.family === "ip" || c.family === "ip6") && c.table === "filter" && (c.name ?? c.chain) === "FORWARD";

function touchesTable(ev: NftEvent): boolean {
  if (ev.kind === "chain" && isForward(ev.chain)) return true;
  if (ev.kind === "rule" && ev.op === "del" && isForward(ev.rule)) return true;
  switch (ev.kind) {
    case "table":
      return ev.op === "del" && ev.table.family === TABLE.family && ev.table.name === TABLE.name;
    case "chain":
      return ev.op === "del" && ev.chain.family === TABLE.family && ev.chain.table === TABLE.name;
    case "rule":
      return ev.op === "del" && ev.rule.family === TABLE.family && ev.rule.table === TABLE.name;
    case "set":
      return ev.op === "del" && ev.set.family === TABLE.family && ev.set.table === TABLE.name;
    default:
      return false;
  }
}

/**
 * Rebuilds the table unless it is whole or nothing is on record (the last network went, and its table
 * with it). The rebuild is refused by the kernel when anything changed since the table was checked (an
 * attach or another rebuild in between), and then the check is made again.
 */
export interface Repair {
  networks: number;
  ports: number;
  /** Accept rules added to iptables' FORWARD chains alone, the table being whole. */
  forwardRules?: number;
}

export function repairFirewall(fw: Firewall, root: string): Repair | undefined {
  for (let attempt = 1; ; attempt++) {
    const generation = fw.generation();
    const state = recordedFirewallState(root);
    if (state.networks.length === 0) return undefined;
    if (fw.intact()) {
      // a DROP policy set, or ctrnet's accept rules flushed, in iptables' FORWARD chains
      const rules = fw.ensureForward(state.networks.map((n) => n.bridge));
      return rules ? { networks: 0, ports: 0, forwardRules: rules } : undefined;
    }
    try {
      fw.rebuild(state.networks, state.ports, { generation });
      return { networks: state.networks.length, ports: state.ports.length };
    } catch (err) {
      if (!isNetlinkError(err, "ERESTART") || attempt === MAX_ATTEMPTS) throw err;
    }
  }
}

export async function watchFirewall(options: WatchOptions): Promise<void> {
  using monitor = NftMonitor.open();
  using fw = Firewall.open();
  const rebuild = (cause: string) => {
    const done = repairFirewall(fw, options.root);
    if (done) options.onRebuild?.({ ...done, cause });
  };
  // whatever happened while nobody watched
  rebuild("start");
  let damage = false;
  while (!options.signal.aborted) {
    const events = monitor.poll();
    if (events.length === 0) {
      await Bun.sleep(options.intervalMs ?? 50);
      continue;
    }
    let cause: string | undefined;
    for (const ev of events) {
      if (ev.kind === "overrun") cause ??= "lost notifications";
      else if (touchesTable(ev)) damage = true;
      else if (ev.kind === "generation") {
        if (damage && ev.pid !== process.pid) cause ??= ev.process ? `${ev.process} (pid ${ev.pid})` : `generation ${ev.id}`;
        damage = false;
      }
    }
    if (cause !== undefined) rebuild(cause);
  }
}
