// The hook's overhead (issue 7, item 6): `ctrnet hook createRuntime` for a bridge network with one
// published port, next to the same attach through `ctrnet create --pid`, on the same kind of stand-in
// container, each followed by its teardown (not timed). Medians printed, not asserted: timings belong
// to bench/, this keeps the measurement reproducible.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BINARY } from "../helpers/binary.ts";
import { bareBundle, hook, inOwnNetns, ociState, sleeper } from "./hook-helpers.ts";
import { hex, Installation, privileged, stopProcess, type TestNetwork } from "./lifecycle-helpers.ts";

const RUNS = 20;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

describe.skipIf(!privileged)("hook overhead", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("time");
  });

  afterAll(() => inst.dispose());

  test(`hook createRuntime vs create --pid, ${RUNS} runs each, medians`, async () => {
    const bundle = bareBundle(inst.dir);
    const hookMs: number[] = [];
    const createMs: number[] = [];
    const startMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const proc = sleeper();
      try {
        await inOwnNetns(proc);
        const hid = `h-${hex(4)}`;
        const state = ociState({ id: hid, pid: proc.pid, bundle, annotations: { "io.ctrnet.network": net.name, "io.ctrnet.publish": "80" } });
        hookMs.push(timed(() => expect(hook(inst, "createRuntime", state).code).toBe(0)));
        expect(hook(inst, "poststop", ociState({ id: hid, bundle, status: "stopped" })).code).toBe(0);

        const cid = `c-${hex(4)}`;
        createMs.push(timed(() => inst.ok(["create", "--pid", String(proc.pid), "--network", net.name, "-p", "80", cid])));
        inst.ok(["rm", cid]);

        startMs.push(timed(() => expect(Bun.spawnSync([BINARY, "version"]).exitCode).toBe(0)));
      } finally {
        await stopProcess(proc);
      }
    }
    inst.expectClean();
    const fmt = (xs: number[]) => `${median(xs).toFixed(1)} ms`;
    console.log(
      `hook createRuntime (bridge, 1 port): ${fmt(hookMs)}; create --pid (same): ${fmt(createMs)}; ` +
        `difference ${(median(hookMs) - median(createMs)).toFixed(1)} ms; ctrnet version (start-up floor): ${fmt(startMs)}`,
    );
  }, 120_000);
});
