// A damaged state database (issue 18): set aside with one line and replaced, after which every command,
// gc and rm -f included, works, and gc collects what the lost records described.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { hostVeths } from "./cni-helpers.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";
import { cliWith, oneLine, refused } from "./reliability-helpers.ts";

describe.skipIf(!privileged)("a damaged state database", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("state");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  const dbPath = () => join(inst.env.CTRNET_ROOT!, "state.db");

  function asideFiles(): string[] {
    return readdirSync(inst.env.CTRNET_ROOT!).filter((f) => f.startsWith("state.db.corrupt-"));
  }

  /** Overwrites `length` bytes at `offset` with random ones. */
  function scribble(offset: number, length: number): void {
    const fd = openSync(dbPath(), "r+");
    try {
      writeSync(fd, crypto.getRandomValues(new Uint8Array(length)), 0, length, offset);
    } finally {
      closeSync(fd);
    }
  }

  /** The last page of the containers table's b-tree: what `ls` must read. */
  function damageAPage(): void {
    const pageSize = 4096;
    const pages = statSync(dbPath()).size / pageSize;
    expect(pages).toBeGreaterThan(2);
    // page 2 onwards hold the tables; a page of random bytes is no b-tree page
    for (let p = 1; p < pages; p++) scribble(p * pageSize, pageSize);
  }

  test.each([
    ["truncated to 0 bytes", () => truncateSync(join(inst.env.CTRNET_ROOT!, "state.db"), 0)],
    ["random bytes over its header", () => scribble(0, 100)],
    ["random bytes over its pages", () => damageAPage()],
  ])("%s: it is set aside with one line, and every command, gc and rm -f included, keeps working", (_how, damage) => {
    const live = [`db1-${hex(3)}`, `db2-${hex(3)}`];
    const port = 20000 + Math.floor(Math.random() * 10000);
    const netnsPaths = live.map((id, i) => inst.ok(["create", "--network", net.name, ...(i === 0 ? ["-p", `${port}:80`] : []), id]).trim());
    const veths = hostVeths();
    expect(existsSync(`${dbPath()}-wal`)).toBe(false);
    damage();

    const first = cliWith(inst, ["ls", "--format", "json"]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual([]);
    oneLine(first.stderr);
    expect(first.stderr).toContain(`state database ${dbPath()} is damaged`);
    expect(asideFiles()).toHaveLength(1);
    expect(first.stderr).toContain(asideFiles()[0]!);

    // said once: the new database is sound
    const again = cliWith(inst, ["ls"]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
    // inspect is podman's: the list of what it found (nothing), then the error
    const inspected = cliWith(inst, ["inspect", live[0]!]);
    expect({ code: inspected.code, stdout: inspected.stdout }).toEqual({ code: 1, stdout: "[]\n" });
    expect(inspected.stderr).toContain(`no such container "${live[0]}"`);
    refused(inst, ["port", live[0]!], `no such container "${live[0]}"`);
    expect(cliWith(inst, ["rm", "-f", live[0]!])).toMatchObject({ code: 0, stderr: "" });

    // a new container can be made and removed next to what the old records described
    const fresh = `db3-${hex(3)}`;
    inst.ok(["create", "--network", net.name, fresh]);
    expect(inst.inspect(fresh).NetworkSettings.IPAddress).toStartWith(`${net.prefix}.`);
    inst.ok(["rm", fresh]);

    const gc = cliWith(inst, ["gc"]);
    expect({ code: gc.code, stderr: gc.stderr }).toEqual({ code: 0, stderr: "" });
    for (const p of netnsPaths) expect(existsSync(p)).toBe(false);
    expect(hostVeths().filter((v) => !veths.includes(v))).toEqual([]);
    expect(hostVeths().length).toBe(veths.length - 2);
    expect(asideFiles()).toHaveLength(1);
    Bun.spawnSync(["sh", "-c", `rm -f ${dbPath()}.corrupt-*`]);
  });
});
