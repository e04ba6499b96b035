// Concurrency and crashes: ten creates at once on one network all succeed with distinct addresses, and of
// creates asking for one host port at once one gets it; a create killed with SIGKILL half-way (a plugin that
// never returns holds it there) leaves state that gc, or a later rm of the id, cleans up completely; a netns
// that vanished under a record is reconciled by gc.
// The crashed creates stop in a plugin of the reference chain, so they run on a chain network.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../helpers/binary.ts";
import { hex, Installation, privileged, run, type TestNetwork } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("ctrnet under concurrency and crashes", () => {
  let inst: Installation;
  let net: TestNetwork;
  let chain: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("robust");
    chain = inst.network("chain", "cni");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  async function cliAsync(args: string[], env: Record<string, string> = {}) {
    const proc = Bun.spawn([BINARY, ...args], { env: { ...process.env, ...inst.env, ...env }, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  }

  test("ten parallel creates on one network all succeed with distinct addresses", async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `par${i}-${hex(3)}`);
    const results = await Promise.all(ids.map((id) => cliAsync(["create", "--network", net.name, "-p", "80", id])));
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const addresses = ids.map((id) => inst.inspect(id).NetworkSettings.IPAddress as string);
    expect(new Set(addresses).size).toBe(10);
    for (const a of addresses) expect(a).toStartWith(`${net.prefix}.`);
    const hostPorts = ids.map((id) => inst.ok(["port", id, "80"]).trim());
    expect(new Set(hostPorts).size).toBe(10);
    const removed = await Promise.all(ids.map((id) => cliAsync(["rm", id])));
    for (const r of removed) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("parallel creates asking for one host port, alone or in a range: one gets it, each other exits 2 with one line", async () => {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const specs = [`${port}:80`, `${port}:80`, `${port}:80`, `${port - 1}-${port + 1}:80-82`, `${port}-${port + 2}:80-82`];
    const ids = specs.map((_, i) => `one${i}-${hex(3)}`);
    const results = await Promise.all(ids.map((id, i) => cliAsync(["create", "--network", net.name, "-p", specs[i]!, id])));
    const won = ids.filter((_, i) => results[i]!.code === 0);
    expect(won).toHaveLength(1);
    for (const r of results.filter((r) => r.code !== 0)) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^ctrnet: error: host port 0\\.0\\.0\\.0:${port}/tcp is already published by container "${won[0]}": address already in use\n$`));
    }
  });

  /** Starts a create whose last plugin (tuning) never returns, and SIGKILLs ctrnet once it is stuck there. */
  async function crashedCreate(id: string): Promise<string> {
    const shimDir = join(inst.dir, `shim-${hex(3)}`);
    mkdirSync(shimDir);
    const pidFile = join(shimDir, "pid");
    writeFileSync(join(shimDir, "tuning"), `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 60\n`);
    chmodSync(join(shimDir, "tuning"), 0o755);
    const port = 20000 + Math.floor(Math.random() * 10000);
    const proc = Bun.spawn([BINARY, "create", "--network", chain.name, "-p", `${port}:80`, id], {
      env: { ...process.env, ...inst.env, CTRNET_CNI_PLUGIN_DIR: shimDir },
      stdout: "ignore",
      stderr: "ignore",
    });
    // the shell makes the file before it writes the pid into it
    const pidWritten = () => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "";
    for (let i = 0; i < 500 && !pidWritten(); i++) await Bun.sleep(10);
    expect(pidWritten()).toBe(true);
    proc.kill("SIGKILL");
    await proc.exited;
    run(["kill", "-9", readFileSync(pidFile, "utf8").trim()]);
    const rec = (JSON.parse(inst.ok(["ls", "--format", "json"])) as any[]).find((r) => r.id === id);
    expect(rec.state).toBe("creating");
    // what the plugins before the stuck one set up is really there
    expect(run(["iptables-save", "-t", "nat"]).out).toContain(id);
    expect(existsSync(rec.netns)).toBe(true);
    return rec.netns;
  }

  test("a create killed half-way is cleaned up completely by gc", async () => {
    const id = `kill-${hex(4)}`;
    const netns = await crashedCreate(id);
    const report = JSON.parse(inst.ok(["gc", "--format", "json"]));
    expect(report.containers).toEqual([id]);
    expect(report.errors).toEqual([]);
    expect(existsSync(netns)).toBe(false);
    expect(run(["iptables-save", "-t", "nat"]).out).not.toContain(id);
  });

  test("a create killed half-way is cleaned up completely by rm of its id", async () => {
    const id = `killrm-${hex(4)}`;
    const netns = await crashedCreate(id);
    expect(inst.ok(["rm", id])).toBe(`${id}\n`);
    expect(existsSync(netns)).toBe(false);
  });

  test("gc removes lock files of ids no record names, and leaves one somebody holds", async () => {
    const locks = join(inst.env.CTRNET_ROOT!, "locks");
    mkdirSync(locks, { recursive: true });
    const ghost = join(locks, `ghost-${hex(3)}`);
    const busy = join(locks, `busy-${hex(3)}`);
    writeFileSync(ghost, "");
    // one process that takes the lock and keeps it: the shell's fd 9, inherited by the sleep it becomes; it
    // writes to the file once it holds the lock (the file exists before that, from the shell's open)
    const holder = Bun.spawn(["sh", "-c", `exec 9>'${busy}'; flock 9; echo held >&9; exec sleep 30`], { stdout: "ignore", stderr: "ignore" });
    try {
      const held = () => existsSync(busy) && readFileSync(busy, "utf8") === "held\n";
      for (const end = Date.now() + 20_000; !held() && Date.now() < end; ) await Bun.sleep(10);
      expect(held()).toBe(true);
      inst.ok(["gc"]);
      expect(existsSync(ghost)).toBe(false);
      expect(existsSync(busy)).toBe(true);
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
    inst.ok(["gc"]);
    expect(existsSync(busy)).toBe(false);
  });

  test("gc tears down a container whose netns vanished, and removes ctrnet's orphaned netns files", () => {
    const gone = `gone-${hex(4)}`;
    const kept = `kept-${hex(4)}`;
    const netns = inst.ok(["create", "--network", net.name, gone]).trim();
    inst.ok(["create", "--network", net.name, kept]);
    // as a reboot would: the netns is gone, the record and IPAM allocation are not
    expect(run(["umount", netns]).ok).toBe(true);
    run(["rm", "-f", netns]);
    // a netns file ctrnet made whose record is gone (as after a crash between the two)
    const orphan = join(inst.env.CTRNET_NETNS_DIR!, `cni-${crypto.randomUUID()}`);
    writeFileSync(join(inst.env.CTRNET_ROOT!, "netns", orphan.split("/").pop()!), orphan);
    writeFileSync(orphan, "");
    const report = JSON.parse(inst.ok(["gc", "--format", "json"]));
    expect(report.containers).toEqual([gone]);
    expect(report.netns).toEqual([orphan]);
    expect(report.errors).toEqual([]);
    expect(existsSync(orphan)).toBe(false);
    expect((JSON.parse(inst.ok(["ls", "--format", "json"])) as any[]).map((r) => r.id)).toEqual([kept]);
    inst.ok(["rm", kept]);
  });
});
