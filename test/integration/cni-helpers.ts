// Oracles for the CNI integration tests: what the host netns, the firewall, host-local and the cache hold.
import { existsSync, readdirSync } from "node:fs";

export const privileged = process.getuid?.() === 0 && process.env.CTRNET_TEST_PRIVATE === "1";

export function run(argv: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  return { ok: r.exitCode === 0, out: r.stdout.toString() + r.stderr.toString() };
}

export function hex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/** veth interfaces in the netns this test process runs in (the private "host"). */
export function hostVeths(): string[] {
  return run(["ip", "-o", "link", "show", "type", "veth"])
    .out.split("\n")
    .filter(Boolean)
    .map((l) => l.split(": ")[1]!.split("@")[0]!);
}

/** Every iptables, ip6tables and nftables rule and chain, as text. */
export function firewallDump(): string {
  return [run(["iptables-save"]).out, run(["ip6tables-save"]).out, run(["nft", "list", "ruleset"]).out].join("\n");
}

/** Lines of the firewall dump that mention any of the needles. */
export function firewallLinesMentioning(...needles: string[]): string[] {
  return firewallDump()
    .split("\n")
    .filter((l) => needles.some((n) => l.includes(n)));
}

/** Per-container chains the portmap and bridge (ipMasq) plugins make: CNI-<hash>, CNI-DN-<hash>. */
export function perContainerChains(): string[] {
  return firewallDump()
    .split("\n")
    .filter((l) => /^:CNI-(?:DN-)?[0-9a-f]{16,}/.test(l));
}

/** Addresses host-local has handed out for a network (its lock and last_reserved_ip files left out). */
export function ipamAllocations(dataDir: string, network: string): string[] {
  const dir = `${dataDir}/${network}`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip") && !f.startsWith(".ctrnet-highest."));
}

export function containerAddresses(netnsName: string, ifName: string): string {
  return run(["ip", "-n", netnsName, "-o", "addr", "show", "dev", ifName]).out;
}
