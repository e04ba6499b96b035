// The overhead note: median `create`+`rm` against the plugin chain's own time in the same runs (the CNI
// runtime's onPluginCall hook), in-process through the library and through the compiled binary. Printed,
// not asserted: timings belong to bench/, this only keeps the measurement reproducible.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createCniRuntime } from "../../src/drivers/cni/index.ts";
import { type Context, createContainer, createContext, removeContainer } from "../../src/lifecycle/index.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

const RUNS = 15;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe.skipIf(!privileged)("create+rm overhead over the plugin chain", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("time");
  });

  afterAll(() => inst.dispose());

  test("library and binary", async () => {
    let pluginMs = 0;
    const base = createContext({
      root: inst.env.CTRNET_ROOT,
      netnsDir: inst.env.CTRNET_NETNS_DIR,
      cniConfigDir: inst.env.CTRNET_CNI_CONFIG_DIR,
      cniCacheDir: inst.env.CTRNET_CNI_CACHE_DIR,
    });
    const ctx: Context = {
      ...base,
      cni: createCniRuntime({
        configDirs: [inst.env.CTRNET_CNI_CONFIG_DIR!],
        cacheDir: inst.env.CTRNET_CNI_CACHE_DIR!,
        onPluginCall: (call) => {
          pluginMs += call.durationMs;
        },
      }),
    };
    const total: number[] = [];
    const plugins: number[] = [];
    const binary: number[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        const id = `t-${hex(4)}`;
        pluginMs = 0;
        const start = performance.now();
        await createContainer(ctx, { id, network: net.name, ports: ["80"] });
        await removeContainer(ctx, id);
        total.push(performance.now() - start);
        plugins.push(pluginMs);

        const start2 = performance.now();
        inst.ok(["create", "--network", net.name, "-p", "80", `b${id}`]);
        inst.ok(["rm", `b${id}`]);
        binary.push(performance.now() - start2);
      }
    } finally {
      base.close();
    }
    const line = (what: string, ms: number) => `${what.padEnd(44)} ${ms.toFixed(1)} ms`;
    console.log(
      [
        `median of ${RUNS} create+rm (bridge, portmap, firewall, tuning; one published port):`,
        line("library createContainer+removeContainer", median(total)),
        line("  of which CNI plugin processes", median(plugins)),
        line("  ctrnet's own share", median(total.map((t, i) => t - plugins[i]!))),
        line("binary `ctrnet create` + `ctrnet rm`", median(binary)),
      ].join("\n"),
    );
    expect(total).toHaveLength(RUNS);
    inst.expectClean();
  }, 120_000);
});
