// Where one native `ctrnet create` spends its time at 1 and at N containers on one network: N creates as
// section 3 makes them (without GNU time), each with CTRNET_TRACE_PHASES=1, and a table of each phase's median
// over the first and the last 20; plus `strace -f -T -tt` of one create at each end, written to OUT (default
// /tmp/ctrnet-scale-trace: remove it after). Usage (root, after `bun run build`): bun bench/scale-trace.ts [N=500] [OUT]
import { mkdirSync, writeFileSync } from "node:fs";
import { ensureBinary } from "../test/helpers/binary.ts";
import { ctrnetHome, snapshotBinary } from "./ctrnet.ts";
import { timed } from "./processes.ts";
import { runInSandbox, WORK } from "./sandbox.ts";
import { median } from "./stats.ts";

const inside = process.argv[2] === "--in-sandbox";
const args = process.argv.slice(inside ? 3 : 2);
const count = Number(args[0] ?? 500);
const out = args[1] ?? "/tmp/ctrnet-scale-trace";
if (!inside) {
  ensureBinary();
  process.exitCode = await runInSandbox(import.meta.path, [String(count), out]);
} else {
  snapshotBinary();
  mkdirSync(out, { recursive: true });
  const home = ctrnetHome(`${WORK}/trace`);
  const network = "tracen";
  const conf = home.run(["cni", "conflist", network, "--subnet", "10.94.0.0/16", "--ipam-data-dir", `${home.env.CTRNET_CNI_CACHE_DIR}/networks`]).stdout;
  mkdirSync(home.env.CTRNET_CNI_CONFIG_DIR!, { recursive: true });
  writeFileSync(`${home.env.CTRNET_CNI_CONFIG_DIR}/${network}.conflist`, conf);
  const create = (id: string, port: number) => ["create", "--network", network, "-p", `127.0.0.1:${port}:80`, id];
  const traced = (label: string) => {
    timed(["strace", "-f", "-T", "-tt", "-o", `${out}/${label}.strace`, home.binary, ...create(`t-${label}`, 65000)], { env: home.env });
    home.run(["rm", `t-${label}`]);
  };
  const ms: number[] = [];
  const phases: Map<string, number[]>[] = [new Map(), new Map()];
  const phased = (i: number) => {
    const t0 = performance.now();
    const p = Bun.spawnSync([home.binary, ...create(`s${i}`, 20000 + i)], { env: { ...home.env, CTRNET_TRACE_PHASES: "1" }, stderr: "pipe" });
    ms.push(performance.now() - t0);
    if (p.exitCode !== 0) throw new Error(p.stderr.toString());
    const at = i <= 20 ? phases[0] : i > count - 20 ? phases[1] : undefined;
    for (const m of p.stderr.toString().matchAll(/phase [\d.]+ \+([\d.]+) (.*)/g)) at?.set(m[2]!, [...(at.get(m[2]!) ?? []), Number(m[1])]);
  };
  for (let i = 1; i <= count; i++) {
    if (i === 2) traced("at1");
    phased(i);
  }
  console.log(`| phase (median ms) | first 20 | last 20 |\n|---|---:|---:|`);
  for (const [name, xs] of phases[0]!) console.log(`| ${name} | ${median(xs).toFixed(2)} | ${median(phases[1]!.get(name) ?? [NaN]).toFixed(2)} |`);
  traced(`at${count}`);
  console.log(`first 20 median ${median(ms.slice(0, 20)).toFixed(1)} ms, last 20 ${median(ms.slice(-20)).toFixed(1)} ms; first 100 ${median(ms.slice(0, 100)).toFixed(1)}, last 100 ${median(ms.slice(-100)).toFixed(1)}`);
  for (let i = 1; i <= count; i++) home.run(["rm", `s${i}`]);
}
