// ctrnet's nftables table flushed from outside under a running container with a published port: `ctrnet
// watch` rebuilds it from the records (once per flush, not again for its own rebuild), and without the
// watcher the next attach, detach or reload on a native network makes it again.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BINARY } from "../helpers/binary.ts";
import { fetchText, hex, Installation, privileged, run, startWebServer, stopProcess } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("the native table after nft flush ruleset", () => {
  let inst: Installation;
  let scratch: string;
  const network = `natw-${hex(3)}`;
  const bridge = `cn-${network}`.slice(0, 15);
  const servers: Subprocess[] = [];

  beforeAll(() => {
    inst = new Installation();
    scratch = mkdtempSync(join(tmpdir(), "ctrnet-watch-"));
    const conf = inst.ok(["cni", "conflist", network, "--subnet", "10.47.9.0/24", "--ipam-data-dir", inst.ipamDir]);
    writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${network}.conflist`), conf);
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) await stopProcess(s);
    inst.removeAll();
    run(["ip", "link", "del", bridge]);
    run(["nft", "delete", "table", "inet", "ctrnet"]);
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    inst?.dispose();
  });

  /** A container on the network serving its id on a published localhost port. */
  async function serving(): Promise<{ id: string; url: string }> {
    const id = `natw-${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    const netns = inst.ok(["create", "--network", network, "-p", `127.0.0.1:${port}:80`, id]).trim();
    servers.push(await startWebServer(netns, id, scratch));
    const url = `http://127.0.0.1:${port}/index.html`;
    expect(await fetchText(url)).toBe(id);
    return { id, url };
  }

  async function answersAgain(url: string, body: string): Promise<boolean> {
    for (let i = 0; i < 100; i++) {
      if ((await fetchText(url, 500)) === body) return true;
      await Bun.sleep(50);
    }
    return false;
  }

  /** With a watcher running, the table may be back before anything could look. */
  function flush(watched = false): void {
    expect(run(["nft", "flush", "ruleset"]).ok).toBe(true);
    if (!watched) expect(run(["nft", "list", "table", "inet", "ctrnet"]).ok).toBe(false);
  }

  test("ctrnet watch rebuilds the table after every flush and delete, and not after its own rebuild", async () => {
    const c = await serving();
    const out = join(scratch, `watch-${hex(3)}`);
    const watch = Bun.spawn([BINARY, "watch"], { env: { ...process.env, ...inst.env }, stdout: Bun.file(out), stderr: "pipe" });
    try {
      const lines = () => readFileSync(out, "utf8").split("\n").filter(Boolean);
      flush(true);
      expect(await answersAgain(c.url, c.id)).toBe(true);
      expect(run(["nft", "delete", "table", "inet", "ctrnet"]).ok).toBe(true);
      expect(await answersAgain(c.url, c.id)).toBe(true);
      expect(run(["nft", "delete", "chain", "inet", "ctrnet", "forward"]).ok).toBe(true);
      expect(await answersAgain(c.url, c.id)).toBe(true);
      // a flush before the watcher subscribed shows as its start-up rebuild; later ones one line each
      for (let i = 0; i < 100 && lines().length < 3; i++) await Bun.sleep(20);
      const seen = lines();
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(seen.length).toBeLessThanOrEqual(4);
      expect(seen.at(-1)).toMatch(/^rebuilt table inet ctrnet: 1 networks, 1 ports \(changed by nft \(pid \d+\)\)$/);
      // ctrnet's own attach and detach change elements only: the watcher stays quiet
      const other = await serving();
      inst.ok(["rm", "-f", other.id]);
      expect(await fetchText(c.url)).toBe(c.id);
      expect(lines()).toEqual(seen);
    } finally {
      watch.kill("SIGTERM");
      expect(await watch.exited).toBe(0);
    }
    expect(await new Response(watch.stderr).text()).toBe("");
  }, 60_000);

  test("ctrnet watch gives iptables' FORWARD chain its accept rules when the policy becomes DROP and after iptables -F", async () => {
    const c = await serving();
    const out = join(scratch, `watch-${hex(3)}`);
    const watch = Bun.spawn([BINARY, "watch"], { env: { ...process.env, ...inst.env }, stdout: Bun.file(out), stderr: "pipe" });
    const ours = `-A FORWARD -i ${bridge} -m comment --comment "ctrnet ${bridge}" -j ACCEPT`;
    const forwardRules = async () => {
      for (let i = 0; i < 100; i++) {
        if (run(["iptables-nft", "-S", "FORWARD"]).out.includes(ours)) return true;
        await Bun.sleep(50);
      }
      return false;
    };
    try {
      // a DROP policy before the watcher subscribed is found by its start-up check
      expect(run(["iptables-nft", "-P", "FORWARD", "DROP"]).ok).toBe(true);
      expect(await forwardRules()).toBe(true);
      expect(run(["iptables-nft", "-F", "FORWARD"]).ok).toBe(true);
      expect(await forwardRules()).toBe(true);
      expect(await fetchText(c.url)).toBe(c.id);
    } finally {
      watch.kill("SIGTERM");
      expect(await watch.exited).toBe(0);
      run(["nft", "delete", "table", "ip", "filter"]);
    }
    expect(readFileSync(out, "utf8")).toMatch(/^added 2 accept rules to iptables FORWARD \(changed by /m);
  }, 60_000);

  test("without the watcher, the next create, rm or reload on a native network makes the table again", async () => {
    const c = await serving();
    flush();
    expect(await fetchText(c.url, 500)).toBeNull();
    // an attach
    const second = await serving();
    expect(await fetchText(c.url)).toBe(c.id);
    // a detach
    flush();
    inst.ok(["rm", "-f", second.id]);
    expect(await fetchText(c.url)).toBe(c.id);
    expect(run(["nft", "list", "map", "inet", "ctrnet", "hostports4"]).out).not.toContain(second.url.split(":")[2]!.split("/")[0]!);
    // reload
    flush();
    expect(inst.ok(["reload", "--all"])).toBe(`${c.id}\n`);
    expect(await fetchText(c.url)).toBe(c.id);
  }, 60_000);

  test("watch --install-unit writes a unit running this binary; bad options are refused", () => {
    const dir = join(scratch, `units-${hex(3)}`);
    expect(inst.ok(["--root", "/run/x y", "watch", "--install-unit", "--dir", dir])).toBe(`${join(dir, "ctrnet-watch.service")}\n`);
    const unit = readFileSync(join(dir, "ctrnet-watch.service"), "utf8");
    expect(unit).toContain(`\nExecStart=${BINARY} --root "/run/x y" watch\n`);
    expect(unit).toContain("\nWantedBy=multi-user.target\n");
    const r = inst.cli(["watch", "--dir", dir]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: "ctrnet: error: --dir goes with --install-unit\n" });
  });
});
