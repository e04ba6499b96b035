// A teardown that fails (issue 18): the record stays, in state `removing`, while something a retry could
// remove is still there, and `gc` retries it; a record of what is gone or out of reach is dropped by
// `rm -f` and `gc`, never blocking them. The failing step is the real portmap plugin behind a gate that
// fails its DEL, so what stays on the host meanwhile is portmap's real DNAT rules.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bridgeConflist } from "../../src/drivers/cni/index.ts";
import { hex, Installation, privileged, run } from "./lifecycle-helpers.ts";
import { cliWith, oneLine } from "./reliability-helpers.ts";

describe.skipIf(!privileged)("a teardown that fails", () => {
  let inst: Installation;
  let plugins: string;
  let gate: string;
  let env: Record<string, string>;
  const id = hex(3);
  const network = `td-${id}`;
  const bridge = `tdb${id}`;
  const prefix = `10.${100 + (Number.parseInt(id.slice(0, 2), 16) % 150)}.${Number.parseInt(id.slice(2, 4), 16)}`;

  beforeAll(() => {
    inst = new Installation();
    plugins = join(inst.dir, "plugins");
    gate = join(inst.dir, "fail-del");
    mkdirSync(plugins, { recursive: true });
    env = { CTRNET_CNI_PLUGIN_DIR: plugins };
    // portmap, whose DEL fails while the gate file exists (as a CHAIN_DEL that finds the chain busy does)
    writeFileSync(
      join(plugins, "gatedportmap"),
      ["#!/bin/sh", `if [ "$CNI_COMMAND" = DEL ] && [ -e '${gate}' ]; then`, `  echo '{"cniVersion":"1.0.0","code":999,"msg":"CHAIN_DEL failed (Device or resource busy)"}'`, "  exit 1", "fi", 'exec /usr/lib/cni/portmap "$@"', ""].join("\n"),
    );
    chmodSync(join(plugins, "gatedportmap"), 0o755);
    const conf = bridgeConflist({ name: network, bridge, subnets: [`${prefix}.0/24`], ipamDataDir: inst.ipamDir }) as { plugins: { type: string }[] };
    conf.plugins[1]!.type = "gatedportmap";
    writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${network}.conflist`), JSON.stringify(conf, null, 2));
    expect(run(["ip", "link", "add", bridge, "type", "bridge"]).ok).toBe(true);
  });

  afterEach(() => {
    rmSync(gate, { force: true });
    cliWith(inst, ["gc"], env);
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => {
    run(["ip", "link", "del", bridge]);
    inst.dispose();
  });

  const ctrnet = (args: string[]) => cliWith(inst, args, env);
  const records = () => JSON.parse(ctrnet(["ls", "--format", "json"]).stdout) as { id: string; state: string }[];
  const dnatRulesOf = (cid: string) => run(["iptables-save", "-t", "nat"]).out.split("\n").filter((l) => l.includes(`id: \\"${cid}\\"`) || l.includes(`id: "${cid}"`));

  function createPublished(cid: string): void {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const r = ctrnet(["create", "--network", network, "-p", `${port}:80`, cid]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(dnatRulesOf(cid).length).toBeGreaterThan(0);
  }

  test("rm -f keeps the record as removing while portmap's rules stay; gc retries until the DEL succeeds", () => {
    const cid = `td1-${hex(3)}`;
    createPublished(cid);
    writeFileSync(gate, "");

    const rm = ctrnet(["rm", "-f", cid]);
    expect(rm.code).toBe(1);
    oneLine(rm.stderr);
    expect(rm.stderr).toContain("CHAIN_DEL failed");
    expect(rm.stderr).toContain(`the container is kept as removing`);
    expect(records()).toEqual([expect.objectContaining({ id: cid, state: "removing" })]);
    expect(dnatRulesOf(cid).length).toBeGreaterThan(0);

    // still failing: gc says so, and keeps it for the next one
    const failing = ctrnet(["gc"]);
    expect(failing.code).toBe(1);
    oneLine(failing.stderr);
    expect(failing.stderr).toContain(`container ${cid} is kept as removing for the next gc`);
    expect(records()).toEqual([expect.objectContaining({ id: cid, state: "removing" })]);

    rmSync(gate);
    const gc = ctrnet(["gc"]);
    expect({ code: gc.code, stderr: gc.stderr }).toEqual({ code: 0, stderr: "" });
    expect(gc.stdout).toContain(`removed container ${cid}`);
    expect(records()).toEqual([]);
    expect(dnatRulesOf(cid)).toEqual([]);
  });

  test("rm without -f keeps the record and its netns; gc retries it", () => {
    const cid = `td2-${hex(3)}`;
    createPublished(cid);
    writeFileSync(gate, "");
    const rm = ctrnet(["rm", cid]);
    expect(rm.code).toBe(1);
    oneLine(rm.stderr);
    expect(records()).toEqual([expect.objectContaining({ id: cid, state: "removing" })]);
    rmSync(gate);
    expect(ctrnet(["gc"])).toMatchObject({ code: 0, stderr: "" });
    expect(records()).toEqual([]);
    expect(dnatRulesOf(cid)).toEqual([]);
  });

  test("a record whose attachment is out of reach (its plugin uninstalled) is dropped by rm -f, reporting what stayed; gc collects it once the plugin is back", () => {
    const cid = `td3-${hex(3)}`;
    createPublished(cid);
    writeFileSync(gate, "");
    expect(ctrnet(["rm", "-f", cid]).code).toBe(1);
    expect(records()).toHaveLength(1);

    const binary = join(plugins, "gatedportmap");
    const aside = join(inst.dir, "gatedportmap.aside");
    run(["mv", binary, aside]);
    try {
      const rm = ctrnet(["rm", "-f", cid]);
      expect(rm.code).toBe(1);
      oneLine(rm.stderr);
      expect(rm.stderr).toContain(`plugin binary "gatedportmap" not found`);
      expect(rm.stderr).toContain("nothing of it is left within reach, so its record is removed");
      expect(records()).toEqual([]);
      // never wedged: every later command works, and gc reports the attachment it cannot reach
      expect(ctrnet(["ls"]).code).toBe(0);
      const gc = ctrnet(["gc"]);
      expect(gc.code).toBe(1);
      oneLine(gc.stderr);
      expect(gc.stderr).toContain(`CNI GC of network ${network}`);
    } finally {
      run(["mv", aside, binary]);
    }
    rmSync(gate);
    const gc = ctrnet(["gc"]);
    expect({ code: gc.code, stderr: gc.stderr }).toEqual({ code: 0, stderr: "" });
    expect(gc.stdout).toContain(`removed CNI attachment ${network}/${cid}/eth0`);
    expect(dnatRulesOf(cid)).toEqual([]);
  });
});
