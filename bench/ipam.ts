// ctrnet's in-process IPAM against host-local on the same table: one allocate + release through
// src/drivers/ipam vs one host-local ADD + DEL exec (what the CNI chain pays per attachment for IPAM alone),
// interleaved, on an empty table and on one already holding `--leases` attachments (both read every lease
// file on ADD: host-local's duplicate check, which ctrnet keeps). ctrnet's release is timed twice: given
// the addresses it allocated (`known`, as a driver holding records does) and without (host-local's search
// of every file). No privileges needed:
//   bun bench/ipam.ts [--runs 200] [--leases 1000]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { allocate, type HostLocalRangeSet, release } from "../src/drivers/ipam/index.ts";
import { median, p95, ratio } from "./stats.ts";

const HOST_LOCAL = "/usr/lib/cni/host-local";
const { values } = parseArgs({ options: { runs: { type: "string", default: "200" }, leases: { type: "string", default: "1000" } } });
const runs = Number(values.runs);
const filled = Number(values.leases);
const network = "bench";
const rangeSets: HostLocalRangeSet[] = [[{ subnet: "10.200.0.0/16" }], [{ subnet: "fd00:200::/64" }]];

function hostLocal(dataDir: string, command: "ADD" | "DEL", containerId: string): void {
  const r = Bun.spawnSync([HOST_LOCAL], {
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_IFNAME: "eth0", CNI_NETNS: "/proc/self/ns/net", CNI_PATH: "/usr/lib/cni" },
    stdin: Buffer.from(JSON.stringify({ cniVersion: "1.0.0", name: network, type: "bridge", ipam: { type: "host-local", dataDir, ranges: rangeSets } })),
  });
  if (r.exitCode !== 0) throw new Error(`host-local ${command}: ${r.stdout}`);
}

function ours(dataDir: string, containerId: string, withKnown: boolean): void {
  const got = allocate({ dataDir, network, rangeSets, containerId, ifName: "eth0" });
  release({ dataDir, network, containerId, ifName: "eth0", known: withKnown ? got.map((a) => a.ip) : undefined });
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function measure(leaseCount: number): { ctrnet: number[]; ctrnetSearch: number[]; hostLocal: number[] } {
  const dataDir = mkdtempSync(join(tmpdir(), "ctrnet-bench-ipam-"));
  try {
    for (let i = 0; i < leaseCount; i++) allocate({ dataDir, network, rangeSets, containerId: `fill${i}`, ifName: "eth0" });
    const out = { ctrnet: [] as number[], ctrnetSearch: [] as number[], hostLocal: [] as number[] };
    for (let i = -3; i < runs; i++) {
      const a = timed(() => ours(dataDir, `c${i + 3}`, true));
      const s = timed(() => ours(dataDir, `s${i + 3}`, false));
      const b = timed(() => {
        hostLocal(dataDir, "ADD", `h${i + 3}`);
        hostLocal(dataDir, "DEL", `h${i + 3}`);
      });
      if (i >= 0) {
        out.ctrnet.push(a);
        out.ctrnetSearch.push(s);
        out.hostLocal.push(b);
      }
    }
    return out;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const f = (x: number) => x.toFixed(3);
for (const leaseCount of [0, filled]) {
  const m = measure(leaseCount);
  const row = (xs: number[]) => `median ${f(median(xs))} ms (p95 ${f(p95(xs))})`;
  console.log(`dual-stack table holding ${leaseCount} attachments, ${runs} runs each, allocate + release:`);
  console.log(`  ctrnet, release given its addresses   ${row(m.ctrnet)}  ctrnet / host-local ${ratio(median(m.ctrnet), median(m.hostLocal))}`);
  console.log(`  ctrnet, release searching the table   ${row(m.ctrnetSearch)}  ctrnet / host-local ${ratio(median(m.ctrnetSearch), median(m.hostLocal))}`);
  console.log(`  host-local ADD + DEL (2 execs)        ${row(m.hostLocal)}`);
}
