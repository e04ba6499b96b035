// ctrnet as the network of real OCI runtimes: a busybox container started by `crun run` and by `runc run`,
// with ctrnet's hooks (as `ctrnet hook config` prints them) and io.ctrnet.* annotations, serves a file on
// its published port, reaches its bridge's gateway, and once it is killed and deleted nothing of its
// network is left. Bad annotations make the runtime fail with ctrnet's line and leave nothing.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { hostVeths, perContainerChains } from "./cni-helpers.ts";
import { hideHybridCgroup2, hooksBlock, makeBundle, Runtime } from "./hook-helpers.ts";
import { fetchText, hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

const hostPort = () => 20000 + Math.floor(Math.random() * 10000);

async function waitForBody(url: string, body: string): Promise<string | null> {
  let last: string | null = null;
  for (let i = 0; i < 100; i++) {
    last = await fetchText(url, 500);
    if (last === body) return last;
    await Bun.sleep(50);
  }
  return last;
}

for (const name of ["crun", "runc"] as const) {
  describe.skipIf(!privileged)(`${name} with ctrnet's hooks`, () => {
    let inst: Installation;
    let net: TestNetwork;
    let runtime: Runtime;
    let restoreCgroups: () => void;
    const started: string[] = [];

    beforeAll(() => {
      restoreCgroups = hideHybridCgroup2();
      inst = new Installation();
      net = inst.network(name);
      runtime = new Runtime(name, inst.dir);
    });

    afterEach(() => {
      for (const id of started.splice(0)) runtime.remove(id);
      expect(runtime.list()).toEqual([]);
      inst.expectClean();
      expect(hostVeths()).toEqual([]);
      expect(perContainerChains()).toEqual([]);
    });

    afterAll(() => {
      inst?.dispose();
      restoreCgroups?.();
    });

    test("root's hooks block has no createContainer: a root runtime's namespaces are open to createRuntime", () => {
      expect(Object.keys((hooksBlock(inst) as { hooks: object }).hooks)).toEqual(["createRuntime", "poststop"]);
    });

    test("a published port serves the container's file, the gateway answers, and nothing is left", async () => {
      const id = `${name}-${hex(4)}`;
      const port = hostPort();
      const body = `hello from ${id}`;
      const bundle = makeBundle(runtime, inst.dir, body, {
        annotations: { "io.ctrnet.network": net.name, "io.ctrnet.publish": `${port}:80` },
        hooks: hooksBlock(inst),
      });
      const r = runtime.runDetached(bundle, id);
      started.push(id);
      expect(r).toMatchObject({ code: 0 });
      expect(await waitForBody(`http://127.0.0.1:${port}/index.html`, body)).toBe(body);

      const [rec] = JSON.parse(inst.ok(["ls", "--format", "json"])) as { id: string }[];
      expect(rec?.id).toBe(id);
      const gateway = `${net.prefix}.1`;
      expect(inst.inspect(id).NetworkSettings.Gateway).toBe(gateway);
      const ping = runtime.cmd(["exec", "--cap", "CAP_NET_RAW", id, "ping", "-c", "1", "-W", "2", gateway]);
      expect({ code: ping.code, out: ping.stdout }).toMatchObject({ code: 0, out: expect.stringContaining("1 packets received") });

      runtime.remove(id);
      started.splice(0);
      expect(await fetchText(`http://127.0.0.1:${port}/index.html`, 500)).toBeNull();
      rmSync(bundle, { recursive: true, force: true });
    }, 30_000);

    test("a bad annotation fails the start with ctrnet's one line; nothing is created", () => {
      const id = `${name}-bad-${hex(4)}`;
      // runc puts a failed hook's stderr into its own error; crun keeps it only where this annotation says.
      const hookStderr = join(inst.dir, `hook-${id}.err`);
      const bundle = makeBundle(runtime, inst.dir, "never served", {
        annotations: { "io.ctrnet.network": net.name, "io.ctrnet.publish": "80:eighty", "run.oci.hooks.stderr": hookStderr },
        hooks: hooksBlock(inst),
      });
      const r = runtime.runDetached(bundle, id);
      started.push(id);
      expect(r.code).not.toBe(0);
      const line = `ctrnet: error: annotation io.ctrnet.publish: invalid port spec "80:eighty": invalid container port "eighty"`;
      if (name === "crun") {
        expect(r.stderr).toContain("(exit code: 2)");
        expect(readFileSync(hookStderr, "utf8")).toBe(`${line}\n`);
      } else {
        expect(r.stderr).toContain("exit status 2");
        expect(r.stderr).toContain(`stderr: ${JSON.stringify(`${line}\n`).slice(1, -1)}`);
      }
      rmSync(bundle, { recursive: true, force: true });
    }, 30_000);
  });
}
