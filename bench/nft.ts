// nf_tables over netlink, measured (figures only, no goals): one batch adding 1000 map elements, and a single
// element add, through ctrnet's client; `nft` doing the same from a file is printed alongside, since a process
// per change is what the client replaces. Needs root: `bun bench/nft.ts [--runs N]`. Works in a network
// namespace of its own, removed at the end.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as nf from "../src/netlink/nftables/index.ts";
import { median, p95, ratio } from "./stats.ts";

const { values: opts } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const RUNS = Number(opts.runs);
const ELEMENTS = 1000;

if (process.getuid?.() !== 0) {
  console.error("bench/nft.ts needs root (it makes a network namespace and nftables tables)");
  process.exit(2);
}

function run(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString().trim()}`);
}

function timed(fn: () => void): number {
  const start = Bun.nanoseconds();
  fn();
  return (Bun.nanoseconds() - start) / 1e6;
}

const ns = `ctrnet-bench-nft-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "ctrnet-bench-nft-"));
const MAP = { family: "inet" as const, table: "bench", name: "dnat4" };
const keyOf = (i: number) => nf.concat(nf.ipv4(`10.1.${i >> 8}.${i & 0xff}`), nf.inetProto("tcp"), nf.inetService(8000));
const dataOf = (i: number) => nf.concat(nf.ipv4("10.88.0.2"), nf.inetService(1000 + i));
const nftKey = (i: number) => `10.1.${i >> 8}.${i & 0xff} . tcp . 8000 : 10.88.0.2 . ${1000 + i}`;

run(["ip", "netns", "add", ns]);
try {
  using c = nf.Nftables.open({ netns: `/run/netns/${ns}` });
  // An empty map, whatever the run before left: adding an existing table is no error, deleting it empties it.
  const fresh = () => {
    c.addTable({ family: "inet", name: "bench" });
    c.deleteTable({ family: "inet", name: "bench" });
    c.addTable({ family: "inet", name: "bench" });
    c.addSet({
      ...MAP,
      key: nf.concatType(nf.TYPES.ipv4_addr, nf.TYPES.inet_proto, nf.TYPES.inet_service),
      data: nf.concatType(nf.TYPES.ipv4_addr, nf.TYPES.inet_service),
    });
    c.commit();
  };
  const elements = Array.from({ length: ELEMENTS }, (_, i) => ({ key: keyOf(i), data: dataOf(i) }));

  const batch: number[] = [];
  const perMessage: number[] = [];
  const single: number[] = [];
  const nftBatch: number[] = [];
  const nftSingle: number[] = [];
  const bulk = join(dir, "bulk.nft");
  writeFileSync(bulk, `add element inet bench dnat4 { ${elements.map((_, i) => nftKey(i)).join(", ")} }\n`);
  // nsenter only switches the network namespace (ip netns exec also remounts /sys), so this is close to nft alone.
  const nftIn = (file: string) => ["nsenter", `--net=/run/netns/${ns}`, "nft", "-f", file];

  for (let r = 0; r < RUNS; r++) {
    fresh();
    batch.push(
      timed(() => {
        c.addElements(MAP, elements);
        c.commit();
      }),
    );
    fresh();
    perMessage.push(
      timed(() => {
        for (const e of elements) c.addElements(MAP, [e]);
        c.commit();
      }),
    );
    // one more element into the full map: the per-container case
    const extra = { key: keyOf(ELEMENTS + r), data: dataOf(1) };
    single.push(
      timed(() => {
        c.addElements(MAP, [extra]);
        c.commit();
      }),
    );
    fresh();
    nftBatch.push(timed(() => run(nftIn(bulk))));
    const one = join(dir, `one-${r}.nft`);
    writeFileSync(one, `add element inet bench dnat4 { ${nftKey(ELEMENTS + r)} }\n`);
    nftSingle.push(timed(() => run(nftIn(one))));
  }
  c.deleteTable({ family: "inet", name: "bench" });
  c.commit();

  const row = (what: string, xs: number[], peer?: number[]) =>
    `| ${what} | ${median(xs).toFixed(2)} | ${p95(xs).toFixed(2)} | ${peer ? `${median(peer).toFixed(2)} | ${ratio(median(xs), median(peer))}` : "– | –"} |`;
  console.log(`nf_tables over netlink, ${RUNS} runs each (ms; "nft -f" is the same change as one nft process)\n`);
  console.log("| change | ctrnet median | ctrnet p95 | nft -f median | ctrnet / nft |");
  console.log("|---|---:|---:|---:|---:|");
  console.log(row(`${ELEMENTS} map elements, one message in one batch`, batch, nftBatch));
  console.log(row(`${ELEMENTS} map elements, one message each, one batch`, perMessage));
  console.log(row("1 map element into a map of 1000", single, nftSingle));
} finally {
  run(["ip", "netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
}
