// SIGTERM and SIGHUP during a create behave as ^C does (issue 18): on the reference chain with a big port
// range, the signal arrives while the real portmap plugin is writing its rules; the plugin finishes, then
// everything is undone (records, leases, every iptables rule of the container), and ctrnet exits 128 + N.
// Before, ctrnet died at once, leaving portmap orphaned and its DNAT rules live.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { BINARY } from "../helpers/binary.ts";
import { firewallLinesMentioning, ipamAllocations } from "./cni-helpers.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

/** Pids of the processes whose parent is pid and whose program is named name. */
function children(pid: number, name: string): number[] {
  return readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      return ppid === pid && stat.includes(`(${name})`) ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

describe.skipIf(!privileged)("a signal during create", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("sig", "cni"); // portmap is the reference chain's
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    test(`${signal} while portmap writes 300 ports: it finishes, everything is undone, exit 128 + ${constants.signals[signal]}`, async () => {
      const id = `sig-${hex(3)}`;
      // below the ephemeral range (32768 up), where a client socket of another test could hold one of them
      const base = 20000 + Math.floor(Math.random() * 12000);
      const child = Bun.spawn([BINARY, "create", "--network", net.name, "-p", `${base}-${base + 299}:${base}-${base + 299}`, id], {
        env: { ...process.env, ...inst.env },
        stdout: "pipe",
        stderr: "pipe",
      });
      let plugin: number[] = [];
      while (plugin.length === 0 && child.exitCode === null) {
        plugin = children(child.pid, "portmap");
        await Bun.sleep(5);
      }
      if (plugin.length === 0) throw new Error(`create ended before portmap ran: ${await new Response(child.stderr).text()}`);
      expect(plugin).toHaveLength(1);
      child.kill(signal);
      expect(await child.exited).toBe(128 + constants.signals[signal]);
      expect(await new Response(child.stdout).text()).toBe("");
      // the plugin was let finish (and its work undone), not orphaned: it is gone, and so is all it made
      expect(children(1, "portmap")).toEqual([]);
      expect(JSON.parse(inst.ok(["ls", "--format", "json"]))).toEqual([]);
      expect(firewallLinesMentioning(id)).toEqual([]);
      expect(firewallLinesMentioning(`${base}`)).toEqual([]);
      expect(ipamAllocations(inst.ipamDir, net.name)).toEqual([]);
    }, 120_000);
  }
});
