// The firewall containers' traffic crosses: which iptables ctrnet's plugins drive, and base chains on the
// forward hook whose policy drops what no rule accepts (docker's FORWARD DROP, a distribution's nftables
// ruleset): forwarded container traffic dies there even when the CNI firewall plugin accepted it elsewhere.
import * as v from "valibot";
import { type Finding, info, ok, problem } from "./finding.ts";

const Chain = v.looseObject({
  family: v.string(),
  table: v.string(),
  name: v.string(),
  hook: v.optional(v.string()),
  policy: v.optional(v.string()),
});

const Listing = v.object({ nftables: v.array(v.looseObject({ chain: v.optional(Chain), rule: v.optional(v.looseObject({ expr: v.optional(v.array(v.unknown())) })) })) });

function nftJson(args: string[]): v.InferOutput<typeof Listing> | undefined {
  const nft = Bun.which("nft", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
  if (!nft) return undefined;
  const r = Bun.spawnSync([nft, "-j", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(r.stdout.toString());
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(Listing, json);
  return parsed.success ? parsed.output : undefined;
}

/** Whether a chain's rules jump to the CNI firewall plugin's CNI-FORWARD chain (which accepts container traffic). */
function jumpsToCniForward(family: string, table: string, chain: string): boolean {
  const listing = nftJson(["list", "chain", family, table, chain]);
  return JSON.stringify(listing?.nftables.map((e) => e.rule?.expr ?? []) ?? []).includes('"target":"CNI-FORWARD"');
}

/** bridges: the configured networks' bridges, named in the fix. */
export function checkFirewall(bridges: readonly string[]): Finding[] {
  const out: Finding[] = [];
  const iptables = Bun.which("iptables", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
  if (iptables) {
    const r = Bun.spawnSync([iptables, "-V"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    out.push(ok("firewall", `the CNI plugins' iptables: ${r.stdout.toString().trim() || "version unknown"}`));
  } else {
    out.push(problem("firewall", "iptables is not installed: the portmap and firewall plugins cannot publish ports or accept traffic", "install it: apt-get install iptables"));
  }
  const chains = nftJson(["list", "chains"]);
  if (!chains) {
    out.push(info("firewall", "nft is not installed or cannot list the ruleset: forward policies not checked"));
    return out;
  }
  const set = bridges.length === 1 ? bridges[0]! : `{ ${bridges.join(", ") || "BRIDGE"} }`;
  const dropping = chains.nftables.flatMap((e) => (e.chain && e.chain.hook === "forward" && e.chain.policy === "drop" ? [e.chain] : []));
  for (const c of dropping) {
    const where = `${c.family} ${c.table} ${c.name}`;
    if (jumpsToCniForward(c.family, c.table, c.name)) {
      out.push(info("firewall", `chain ${where} drops forwarded packets by default, but jumps to CNI-FORWARD, which accepts containers' traffic`));
    } else {
      out.push(
        problem(
          "firewall",
          `chain ${where} drops forwarded packets by default: containers on bridge networks cannot reach beyond the host`,
          `accept the bridges' traffic there (nft insert rule ${where} iifname ${set} accept; nft insert rule ${where} oifname ${set} accept), or set its policy to accept`,
        ),
      );
    }
  }
  if (dropping.length === 0) out.push(ok("firewall", "no forward chain drops by default"));
  return out;
}
