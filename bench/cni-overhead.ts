// What ctrnet's CNI runtime adds on top of the plugin processes themselves: for each ADD and DEL, the
// operation's wall time minus the sum of its plugin processes' own times (spawn to exit, output read).
// Root only, and only inside private namespaces, e.g.:
//   unshare --net --mount --propagation private -- sh -c \
//     'mount -t tmpfs tmpfs /run && ip link set lo up && exec bun bench/cni-overhead.ts 20'
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bridgeConflist, createCniRuntime, type PluginCallRecord } from "../src/drivers/cni/index.ts";
import { createNetns, removeNetns } from "../src/netns/index.ts";

const runs = Number(process.argv[2] ?? 20);
const WARMUP = 2; // the first iptables use creates the shared CNI chains; not part of a steady-state ADD
const dir = mkdtempSync(join(tmpdir(), "ctrnet-cni-overhead-"));
const netnsDir = join(dir, "netns");
writeFileSync(
  join(dir, "oh.conflist"),
  JSON.stringify(bridgeConflist({ name: "oh", bridge: "cnioh0", subnets: ["10.252.0.0/16"], ipamDataDir: join(dir, "ipam") })),
);
let calls: PluginCallRecord[] = [];
const cni = createCniRuntime({ configDirs: [dir], cacheDir: join(dir, "cache"), onPluginCall: (r) => calls.push(r) });
const network = await cni.loadNetwork("oh");

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};
const stats = { ADD: { total: [] as number[], plugins: [] as number[], own: [] as number[] }, DEL: { total: [] as number[], plugins: [] as number[], own: [] as number[] } };

async function measure(op: keyof typeof stats, fn: () => Promise<unknown>): Promise<void> {
  calls = [];
  const start = performance.now();
  await fn();
  const total = performance.now() - start;
  const plugins = calls.reduce((sum, c) => sum + c.durationMs, 0);
  stats[op].total.push(total);
  stats[op].plugins.push(plugins);
  stats[op].own.push(total - plugins);
}

try {
  for (let i = 0; i < runs + WARMUP; i++) {
    const ns = createNetns({ name: `oh${i}`, dir: netnsDir });
    const req = {
      network,
      containerId: `c${i}`,
      netnsPath: ns.path,
      ifName: "eth0",
      capabilityArgs: { portMappings: [{ hostPort: 30000 + i, containerPort: 80, protocol: "tcp" }] },
    };
    try {
      if (i < WARMUP) {
        await cni.add(req);
        await cni.del(req);
      } else {
        await measure("ADD", () => cni.add(req));
        await measure("DEL", () => cni.del(req));
      }
    } finally {
      removeNetns(ns.path);
    }
  }
  for (const [op, s] of Object.entries(stats)) {
    console.log(
      `${op}: n=${s.total.length} median total ${median(s.total).toFixed(1)} ms, plugins ${median(s.plugins).toFixed(1)} ms, ` +
        `ctrnet's own ${median(s.own).toFixed(2)} ms (min ${Math.min(...s.own).toFixed(2)}, max ${Math.max(...s.own).toFixed(2)})`,
    );
  }
} finally {
  Bun.spawnSync(["ip", "link", "del", "cnioh0"], { stderr: "ignore" });
  // createNetns made the netns dir a mount point of its own (shared, for propagation)
  Bun.spawnSync(["umount", netnsDir], { stderr: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}
