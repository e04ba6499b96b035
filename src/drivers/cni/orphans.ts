// What a container of this ctrnet left on the host once nothing is left to DEL it with: no record, no cache
// entry (a ctrnet killed during the ADD, then its state database lost). The reference plugins tag what
// they make: host-local's lease files hold the container id, portmap's and the bridge plugin's iptables
// rules carry `id: "<container id>"` in a comment and jump to per-container chains; the firewall plugin's
// two rules name only the address, which the lease gives. The caller hands in only ids this ctrnet made
// (its own marks), so another runtime's leases and rules, sharing these tables, are never touched.
// Networks of ctrnet's own plugin type are left to its detach (see dataDirOf).
import { HOST_LOCAL_DATA_DIR, leases, release } from "../ipam/index.ts";
import { errorMessage } from "../../errors.ts";
import type { NetworkConfig } from "./config.ts";
import { OWN_PLUGIN_TYPE } from "./exec.ts";

export interface OrphanSweep {
  /** What went, in words: `lease 10.89.0.5 of network n`, `iptables nat rule …`. */
  removed: string[];
  errors: string[];
}

/**
 * Where the network's host-local leases live; undefined for none, and for a network of ctrnet's own plugin
 * type, whose leases go only with their nftables elements (its detach): a lease released alone would hand
 * its address to the next container along with the old one's DNAT elements.
 */
function dataDirOf(network: NetworkConfig): string | undefined {
  if (network.plugins[0]?.type === OWN_PLUGIN_TYPE) return undefined;
  const ipam = network.plugins[0]?.ipam as { type?: unknown; dataDir?: unknown } | undefined;
  if (typeof ipam !== "object" || ipam === null) return undefined;
  return typeof ipam.dataDir === "string" ? ipam.dataDir : HOST_LOCAL_DATA_DIR;
}

/** Releases every lease naming one of ids in the networks' host-local tables; returns their addresses. */
function releaseLeases(networks: readonly NetworkConfig[], ids: ReadonlySet<string>, sweep: OrphanSweep): string[] {
  const addresses: string[] = [];
  for (const network of networks) {
    const dataDir = dataDirOf(network);
    if (dataDir === undefined) continue;
    try {
      for (const lease of leases({ dataDir, network: network.name })) {
        if (!ids.has(lease.containerId)) continue;
        const gone = release({ dataDir, network: network.name, containerId: lease.containerId, ifName: lease.ifName ?? "eth0", known: [lease.ip] });
        for (const l of gone) {
          addresses.push(l.ip);
          sweep.removed.push(`lease ${l.ip} of container ${l.containerId} on network ${network.name}`);
        }
      }
    } catch (err) {
      sweep.errors.push(`leases of network ${network.name}: ${errorMessage(err)}`);
    }
  }
  return addresses;
}

const PER_CONTAINER_CHAIN = /^CNI-(?:DN-)?[0-9a-f]{16,}$/;

function ruleIds(line: string): string[] {
  return [...line.matchAll(/id: \\"([^"\\]+)\\"/g)].map((m) => m[1]!);
}

/**
 * The restore script that deletes, in one table dump, every rule tagged with one of ids or naming one of
 * addresses in the firewall plugin's chain, then the per-container chains those rules jumped to.
 */
export function orphanRuleDeletions(dump: string, ids: ReadonlySet<string>, addresses: ReadonlySet<string>, sweep: OrphanSweep, tool: string): string {
  const out: string[] = [];
  let table = "";
  let lines: string[] = [];
  const chains = new Set<string>();
  const flush = () => {
    if (lines.length === 0) return;
    const drop = [...chains].flatMap((c) => [`-F ${c}`, `-X ${c}`]);
    out.push(`*${table}`, ...lines, ...drop, "COMMIT");
  };
  for (const line of dump.split("\n")) {
    if (line.startsWith("*")) {
      table = line.slice(1);
      lines = [];
      chains.clear();
      continue;
    }
    if (line === "COMMIT") {
      flush();
      continue;
    }
    if (!line.startsWith("-A ")) continue;
    const chain = line.split(" ")[1]!;
    const tagged = ruleIds(line).some((id) => ids.has(id));
    const firewall = chain === "CNI-FORWARD" && [...addresses].some((a) => line.includes(` ${a}/32 `) || line.includes(` ${a}/128 `));
    if (!tagged && !firewall) continue;
    // a per-container chain goes as a whole, with the rules that jump to it
    if (PER_CONTAINER_CHAIN.test(chain)) continue;
    lines.push(`-D ${line.slice(3)}`);
    sweep.removed.push(`${tool} ${table} rule ${line.slice(3)}`);
    const target = / -j (\S+)/.exec(line)?.[1];
    if (target && PER_CONTAINER_CHAIN.test(target)) chains.add(target);
  }
  return out.length ? `${out.join("\n")}\n` : "";
}

function sweepRules(ids: ReadonlySet<string>, addresses: ReadonlySet<string>, sweep: OrphanSweep): void {
  for (const tool of ["iptables", "ip6tables"]) {
    const save = Bun.which(`${tool}-save`, { PATH: "/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin" });
    const restore = Bun.which(`${tool}-restore`, { PATH: "/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin" });
    if (!save || !restore) continue;
    const dumped = Bun.spawnSync([save], { stdout: "pipe", stderr: "pipe" });
    if (dumped.exitCode !== 0) {
      sweep.errors.push(`${tool}-save: ${dumped.stderr.toString().trim()}`);
      continue;
    }
    const script = orphanRuleDeletions(dumped.stdout.toString(), ids, addresses, sweep, tool);
    if (!script) continue;
    const applied = Bun.spawnSync([restore, "--noflush", "--wait"], { stdin: Buffer.from(script), stdout: "pipe", stderr: "pipe" });
    if (applied.exitCode !== 0) sweep.errors.push(`${tool}-restore: ${applied.stderr.toString().trim().replace(/\s*\n\s*/g, " ")}`);
  }
}

/**
 * Releases the leases of ids on the networks and deletes the iptables rules and chains tagged with them
 * or (the firewall plugin's) naming their addresses. ids must be containers of this ctrnet only. rules:
 * false where the host's firewall is not this process's to change (a rootless user's).
 */
export function sweepOrphans(networks: readonly NetworkConfig[], ids: ReadonlySet<string>, opts: { rules: boolean }): OrphanSweep {
  const sweep: OrphanSweep = { removed: [], errors: [] };
  if (ids.size === 0) return sweep;
  const released = releaseLeases(networks, ids, sweep);
  // an address some network hands out again already is another container's now: its rules stay
  const held = new Set(networks.flatMap((n) => {
    const dataDir = dataDirOf(n);
    try {
      return dataDir === undefined ? [] : leases({ dataDir, network: n.name }).map((l) => l.ip);
    } catch {
      return [];
    }
  }));
  if (opts.rules) sweepRules(ids, new Set(released.filter((a) => !held.has(a))), sweep);
  return sweep;
}
