// kill -9 at several points of a native attach (CTRNET_TEST_CRASH_AT, src/process/crash-point.ts), then
// `ctrnet gc`: no link, address, nftables element, lease, attachment record, netns or container record
// is left; the network itself (bridge, its elements in the table) stays, as a network outlives containers.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "../helpers/binary.ts";
import { hostVeths } from "./cni-helpers.ts";
import { hex, Installation, privileged, run } from "./lifecycle-helpers.ts";

const POINTS = ["ipam", "bridge", "veth", "firewall", "record"] as const;

describe.skipIf(!privileged)("kill -9 during a native attach, then ctrnet gc", () => {
  let inst: Installation;
  const network = `natk-${hex(3)}`;
  const bridge = `cn-${network}`.slice(0, 15);

  beforeAll(() => {
    inst = new Installation();
    const conf = inst.ok(["cni", "conflist", network, "--subnet", "10.47.11.0/24", "--ipam-data-dir", inst.ipamDir]);
    writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${network}.conflist`), conf);
  });

  afterEach(() => {
    inst.removeAll();
    run(["ip", "link", "del", bridge]);
    run(["nft", "delete", "table", "inet", "ctrnet"]);
  });

  afterAll(() => inst?.dispose());

  const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
  const leases = () => listing(join(inst.ipamDir, network)).filter((f) => /^\d/.test(f));
  const portElements = () =>
    ["ports4", "hostports4"].map((m) => run(["nft", "list", "map", "inet", "ctrnet", m]).out.replace(/\s+/g, " ").match(/elements = \{[^}]*\}/)?.[0] ?? "");

  for (const point of POINTS) {
    test(`killed at ${point}: gc leaves nothing of the container`, () => {
      // a container that stays: gc must leave it whole
      const keep = `keep-${hex(3)}`;
      inst.ok(["create", "--network", network, "-p", "18081:80", keep]);
      const before = { veths: hostVeths(), leases: leases(), ports: portElements(), records: listing(join(inst.env.CTRNET_ROOT!, "native")) };

      const id = `kill-${hex(3)}`;
      const r = Bun.spawnSync([BINARY, "create", "--network", network, "-p", "18080:80", "-p", "127.0.0.1:18090:90", id], {
        env: { ...process.env, ...inst.env, CTRNET_TEST_CRASH_AT: point },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(r.signalCode).toBe("SIGKILL");

      const gc = inst.cli(["gc"]);
      expect({ code: gc.code, stderr: gc.stderr }).toEqual({ code: 0, stderr: "" });
      expect(gc.stdout).toContain(`removed container ${id}`);
      expect(JSON.parse(inst.ok(["ls", "--format", "json"])).map((c: { id: string }) => c.id)).toEqual([keep]);
      expect({ veths: hostVeths(), leases: leases(), ports: portElements(), records: listing(join(inst.env.CTRNET_ROOT!, "native")) }).toEqual(before);
      expect(listing(inst.env.CTRNET_NETNS_DIR!)).toHaveLength(1);
      // and the port the crashed create wanted is free for the next one
      inst.ok(["create", "--network", network, "-p", "18080:80", `next-${hex(3)}`]);
    }, 30_000);
  }
});

/** ctrnet run as a runtime's CNI plugin in a netns "host" of its own, killed during ADD. */
describe.skipIf(!privileged)("kill -9 during the plugin's ADD, then the runtime's DEL or GC", () => {
  const made: string[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const n of made.splice(0)) run(["ip", "netns", "del", n]);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function world() {
    const host = `kc-${process.pid}-${hex(3)}`;
    const container = `${host}-c`;
    for (const n of [host, container]) {
      expect(run(["ip", "netns", "add", n]).ok).toBe(true);
      made.push(n);
    }
    const root = mkdtempSync(join(tmpdir(), "ctrnet-kc-root-"));
    const dataDir = mkdtempSync(join(tmpdir(), "ctrnet-kc-ipam-"));
    dirs.push(root, dataDir);
    const config = (extra: Record<string, unknown> = {}) => ({
      cniVersion: "1.1.0",
      name: "knet",
      type: "ctrnet",
      bridge: "ctrnet-k",
      ipam: { type: "host-local", ranges: [[{ subnet: "10.44.7.0/24", gateway: "10.44.7.1" }]], dataDir },
      ...extra,
    });
    const plugin = (command: string, conf: unknown, env: Record<string, string> = {}) =>
      Bun.spawnSync(["ip", "netns", "exec", host, BINARY], {
        env: { PATH: process.env.PATH!, CTRNET_ROOT: root, CNI_COMMAND: command, CNI_PATH: "/usr/lib/cni", ...env },
        stdin: Buffer.from(JSON.stringify(conf)),
        stdout: "pipe",
        stderr: "pipe",
      });
    const attachment = { CNI_CONTAINERID: "ctr-kill", CNI_IFNAME: "eth0", CNI_NETNS: `/run/netns/${container}` };
    const left = () => ({
      leases: readdirSync(join(dataDir, "knet")).filter((f) => /^\d/.test(f)),
      records: existsSync(join(root, "native")) ? readdirSync(join(root, "native")) : [],
      veths: run(["ip", "-n", host, "-o", "link", "show", "type", "veth"]).out.trim(),
      ports: run(["ip", "netns", "exec", host, "nft", "list", "map", "inet", "ctrnet", "ports4"]).out.includes("18080"),
    });
    const ports = { runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }] } };
    return { config, plugin, attachment, left, ports };
  }

  const nothing = { leases: [], records: [], veths: "", ports: false };

  for (const point of ["veth", "firewall"] as const) {
    test(`killed at ${point}: DEL without a cached result leaves nothing`, () => {
      const w = world();
      expect(w.plugin("ADD", w.config(w.ports), { ...w.attachment, CTRNET_TEST_CRASH_AT: point }).signalCode).toBe("SIGKILL");
      expect(w.left().leases).toHaveLength(1);
      const del = w.plugin("DEL", w.config(w.ports), w.attachment);
      expect({ code: del.exitCode, out: del.stdout.toString() }).toEqual({ code: 0, out: "" });
      expect(w.left()).toEqual(nothing);
    });

    test(`killed at ${point}: GC of a valid list without it leaves nothing`, () => {
      const w = world();
      expect(w.plugin("ADD", w.config(w.ports), { ...w.attachment, CTRNET_TEST_CRASH_AT: point }).signalCode).toBe("SIGKILL");
      const gc = w.plugin("GC", w.config({ "cni.dev/valid-attachments": [] }));
      expect({ code: gc.exitCode, out: gc.stdout.toString() }).toEqual({ code: 0, out: "" });
      expect(w.left()).toEqual(nothing);
    });
  }
});
