// Section 3's native run alone (bench/scale.ts: N containers on one native network, created then removed, under
// GNU time), in the bench's sandbox, with the growth ratios the headline gives and two steadier ones (medians of
// the last and first 100 and 20 attaches): a check of attach growth in minutes instead of a whole --only scale
// run, with netavark's run beside it when NV is given (section 3 runs 300). Prints its report; writes nothing.
// Usage (root, after `bun run build`): bun bench/scale-native.ts [N=1000] [NV=0]
import { ensureBinary } from "../test/helpers/binary.ts";
import { snapshotBinary } from "./ctrnet.ts";
import { loadAverage } from "./machine.ts";
import { runInSandbox, WORK } from "./sandbox.ts";
import { scale, scaleMarkdown } from "./scale.ts";
import { median } from "./stats.ts";

const inside = process.argv[2] === "--in-sandbox";
const count = Number(process.argv[inside ? 3 : 2] ?? 1000);
const netavarkCount = Number(process.argv[inside ? 4 : 3] ?? 0);
if (!inside) {
  ensureBinary();
  process.exitCode = await runInSandbox(import.meta.path, [String(count), String(netavarkCount)]);
} else {
  const loadStart = loadAverage();
  snapshotBinary();
  const r = scale({ workDir: `${WORK}/scale`, tag: crypto.randomUUID().slice(0, 6), count, native: true, netavarkCount });
  const a = r.attachMs;
  const ratio = (n: number) => (median(a.slice(-n)) / median(a.slice(0, n))).toFixed(2);
  console.log(scaleMarkdown(r));
  console.log(`\nload average ${loadStart} at start, ${loadAverage()} at end`);
  console.log(`#${count}/#1 ${(a[count - 1]! / a[0]!).toFixed(2)}x; median of the last 100 / the first 100 ${ratio(100)}x; of the last 20 / the first 20 ${ratio(20)}x`);
}
