// A host whose iptables FORWARD policy is DROP (as docker leaves it). iptables-nft: ctrnet puts accept
// rules for its bridges at the start of `ip filter FORWARD` and `ip6 filter FORWARD` over netlink, which
// iptables itself still reads, and takes them away with the network. iptables-legacy: the create fails
// with one line naming the commands to run, nothing made; once they ran, it works.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { hostVeths } from "./cni-helpers.ts";
import { hex, Installation, privileged, run, startWebServer, stopProcess } from "./lifecycle-helpers.ts";

/**
 * The FORWARD chain's policy and ctrnet's rules in it: the reference firewall plugin, run by earlier tests in
 * this namespace, leaves its jump to CNI-FORWARD there for good, and that is not ctrnet's to judge.
 */
function forwardRules(cmd: string): string[] {
  return run([cmd, "-S", "FORWARD"]).out.trim().split("\n").filter((l) => l.startsWith("-P ") || l.includes('"ctrnet ')).sort();
}

describe.skipIf(!privileged)("native networks on a host whose FORWARD policy is DROP", () => {
  let inst: Installation;
  let scratch: string;
  const servers: Subprocess[] = [];
  const nets = [`nfd1-${hex(2)}`, `nfd2-${hex(2)}`];
  const bridges = nets.map((n) => `cn-${n}`.slice(0, 15));

  beforeAll(() => {
    inst = new Installation();
    scratch = mkdtempSync(join(tmpdir(), "ctrnet-fwdrop-"));
    nets.forEach((n, i) => {
      const conf = inst.ok(["cni", "conflist", n, "--subnet", `10.47.${20 + i}.0/24`, "--subnet", `fd47:${20 + i}::/64`, "--ipam-data-dir", inst.ipamDir]);
      writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${n}.conflist`), conf);
    });
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) await stopProcess(s);
    inst.removeAll();
    for (const b of bridges) run(["ip", "link", "del", b]);
    run(["nft", "delete", "table", "inet", "ctrnet"]);
    for (const t of [["ip", "filter"], ["ip6", "filter"]]) run(["nft", "delete", "table", ...t]);
    for (const cmd of ["iptables-legacy", "ip6tables-legacy"]) {
      run([cmd, "-F", "FORWARD"]);
      run([cmd, "-P", "FORWARD", "ACCEPT"]);
    }
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    inst?.dispose();
  });

  /** b serves on one network; a, on the other, fetches from it (routed through the host: the forward hook). */
  async function crossNetworkFetch(): Promise<{ v4: string; v6: string }> {
    const a = inst.ok(["create", "--network", nets[0]!, `a-${hex(3)}`]).trim();
    const bId = `b-${hex(3)}`;
    const b = inst.ok(["create", "--network", nets[1]!, bId]).trim();
    servers.push(await startWebServer(b, bId, scratch));
    const info = inst.inspect(bId).NetworkSettings;
    const get = (url: string) => run(["nsenter", `--net=${a}`, "curl", "-s", "-g", "--max-time", "3", url]).out;
    return { v4: get(`http://${info.IPAddress}/index.html`), v6: get(`http://[${info.GlobalIPv6Address}]/index.html`) };
  }

  test("iptables-nft: accept rules for each bridge while its network has containers, iptables reads them", async () => {
    for (const cmd of ["iptables-nft", "ip6tables-nft"]) expect(run([cmd, "-P", "FORWARD", "DROP"]).ok).toBe(true);
    const got = await crossNetworkFetch();
    expect(got.v4).toStartWith("b-");
    expect(got.v6).toBe(got.v4);
    for (const cmd of ["iptables-nft", "ip6tables-nft"]) {
      const rules = forwardRules(cmd);
      expect(rules).toEqual(
        [
          "-P FORWARD DROP",
          ...bridges.flatMap((b) => [`-A FORWARD -i ${b} -m comment --comment "ctrnet ${b}" -j ACCEPT`, `-A FORWARD -o ${b} -m comment --comment "ctrnet ${b}" -j ACCEPT`]),
        ].sort(),
      );
    }
    inst.removeAll();
    for (const n of nets) inst.ok(["network", "rm", n]);
    for (const cmd of ["iptables-nft", "ip6tables-nft"]) expect(forwardRules(cmd)).toEqual(["-P FORWARD DROP"]);
    for (const n of nets) {
      const conf = inst.ok(["cni", "conflist", n, "--subnet", `10.47.${20 + nets.indexOf(n)}.0/24`, "--subnet", `fd47:${20 + nets.indexOf(n)}::/64`, "--ipam-data-dir", inst.ipamDir]);
      writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${n}.conflist`), conf);
    }
  }, 60_000);

  test("a DROP policy set after the network's first container is found at the next attach", async () => {
    const first = inst.ok(["create", "--network", nets[1]!, `f-${hex(3)}`]);
    expect(first).toContain("/");
    for (const cmd of ["iptables-nft", "ip6tables-nft"]) expect(run([cmd, "-P", "FORWARD", "DROP"]).ok).toBe(true);
    const got = await crossNetworkFetch();
    expect(got.v4).toStartWith("b-");
  }, 60_000);

  test("iptables-legacy: create fails with one line naming the commands, nothing made; after them it works", () => {
    expect(run(["iptables-legacy", "-P", "FORWARD", "DROP"]).ok).toBe(true);
    const id = `l-${hex(3)}`;
    const r = inst.cli(["create", "--network", nets[0]!, id]);
    const fix = `iptables-legacy -I FORWARD -i ${bridges[0]} -j ACCEPT && iptables-legacy -I FORWARD -o ${bridges[0]} -j ACCEPT`;
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 1,
      stderr: expect.stringMatching(new RegExp(`^ctrnet: error: .*the iptables-legacy FORWARD policy is DROP, .*run "${fix}", or move the host to iptables-nft\\n$`)),
    });
    expect(JSON.parse(inst.ok(["ls", "--format", "json"]))).toEqual([]);
    expect(hostVeths()).toEqual([]);
    const leases = join(inst.ipamDir, nets[0]!);
    expect(existsSync(leases) ? readdirSync(leases).filter((f) => /^\d/.test(f)) : []).toEqual([]);
    for (const cmd of fix.split(" && ")) expect(run(cmd.split(" ")).ok).toBe(true);
    inst.ok(["create", "--network", nets[0]!, id]);
  }, 60_000);
});
