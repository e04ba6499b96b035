// A damaged state database is set aside and replaced on open (src/state/db.ts), once, whoever opens it.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openState } from "../../src/state/containers.ts";
import { databasePath, openDatabase } from "../../src/state/db.ts";
import { MIGRATIONS } from "../../src/state/migrations.ts";
import { newContainerRecord } from "../../src/container/attachments.ts";

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-damage-"));
  path = databasePath(dir);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A database holding `n` containers, closed (so its WAL is checkpointed into the file). */
function populated(n: number): void {
  const state = openState({ root: dir });
  for (let i = 0; i < n; i++) state.insert(newContainerRecord({ id: `c${i}`, mode: { kind: "none" } }));
  state.close();
}

/** As db.ts notes the file a check passed. */
function signature(): string {
  const st = statSync(path, { bigint: true });
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function scribble(offset: number, length: number): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, crypto.getRandomValues(new Uint8Array(length)), 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

const aside = () => readdirSync(dir).filter((f) => f.startsWith("state.db.corrupt-"));

function expectFresh(): void {
  const db = openDatabase(path);
  try {
    expect(db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version).toBe(MIGRATIONS.length);
    expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM containers").get()!.n).toBe(0);
  } finally {
    db.close();
  }
}

describe("a damaged state database", () => {
  test("a new database is complete when it appears: never an empty file at its path", () => {
    openDatabase(path).close();
    expect(statSync(path).size).toBeGreaterThan(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(["state.db", "state.db.checked"]);
  });

  test.each([
    ["cut to 0 bytes", () => writeFileSync(path, "")],
    ["cut inside its first page", () => writeFileSync(path, "SQLite format 3\0")],
    ["cut to its first two pages", () => truncateSync(path, 8192)],
    ["random bytes over its header", () => scribble(0, 100)],
    ["random bytes over every page after the first", () => {
      const pages = statSync(path).size / 4096;
      for (let p = 1; p < pages; p++) scribble(p * 4096, 4096);
    }],
  ])("%s: set aside and replaced by an empty one", (_how, damage) => {
    populated(200);
    damage();
    expectFresh();
    expect(aside()).toHaveLength(1);
    // the next open finds the new one sound
    expectFresh();
    expect(aside()).toHaveLength(1);
  });

  test("a file written since its last check (by anything but a ctrnet that trusted it) is checked again", () => {
    populated(50);
    expect(readFileSync(`${path}.checked`, "utf8")).toBe(signature());
    scribble(statSync(path).size - 4096, 4096);
    expectFresh();
    expect(aside()).toHaveLength(1);
  });

  test("a file the last check passed, unchanged since, is not read whole again (the cost of an open stays flat)", () => {
    populated(50);
    // the damage made where only a whole read finds it, as if the file had been so when checked
    scribble(statSync(path).size - 4096, 4096);
    writeFileSync(`${path}.checked`, signature());
    const state = openState({ root: dir });
    state.close();
    expect(aside()).toEqual([]);
  });

  test("processes finding the same damaged file at once set it aside once and share the new database", async () => {
    populated(5);
    scribble(0, 100);
    const script = join(dir, "open.ts");
    writeFileSync(
      script,
      `import { openState } from ${JSON.stringify(join(import.meta.dir, "../../src/state/containers.ts"))};
       import { newContainerRecord } from ${JSON.stringify(join(import.meta.dir, "../../src/container/attachments.ts"))};
       const state = openState({ root: process.argv[2] });
       state.insert(newContainerRecord({ id: process.argv[3], mode: { kind: "none" } }));
       state.close();`,
    );
    const procs = Array.from({ length: 4 }, (_, i) => Bun.spawn([process.execPath, script, dir, `p${i}`], { stdout: "pipe", stderr: "pipe" }));
    const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, stderr: await new Response(p.stderr).text() })));
    for (const r of results) expect(r.code).toBe(0);
    expect(results.filter((r) => r.stderr.includes("is damaged"))).toHaveLength(1);
    expect(aside()).toHaveLength(1);
    const state = openState({ root: dir });
    expect(state.list().map((r) => r.id).sort()).toEqual(["p0", "p1", "p2", "p3"]);
    state.close();
  });

  test("the replacement is refilled by the rebuild before it is in place: processes opening it at once all find the rebuilt records", async () => {
    populated(5);
    scribble(0, 100);
    const script = join(dir, "open-rebuild.ts");
    writeFileSync(
      script,
      `import { openState } from ${JSON.stringify(join(import.meta.dir, "../../src/state/containers.ts"))};
       import { newContainerRecord } from ${JSON.stringify(join(import.meta.dir, "../../src/container/attachments.ts"))};
       const state = openState({ root: process.argv[2] }, (fresh) => {
         fresh.insert({ ...newContainerRecord({ id: "rebuilt", mode: { kind: "none" } }), state: "ready" });
         // slow enough that the others look for the database while it is being filled
         Bun.sleepSync(300);
         return "rebuilt 1";
       });
       if (!state.find("rebuilt")) { console.error("missing"); process.exit(3); }
       state.insert(newContainerRecord({ id: process.argv[3], mode: { kind: "none" } }));
       state.close();`,
    );
    const procs = Array.from({ length: 4 }, (_, i) => Bun.spawn([process.execPath, script, dir, `p${i}`], { stdout: "pipe", stderr: "pipe" }));
    const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, stderr: await new Response(p.stderr).text() })));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const told = results.filter((r) => r.stderr.includes("is damaged"));
    expect(told).toHaveLength(1);
    expect(told[0]!.stderr).toContain("; rebuilt 1; run ctrnet gc");
    expect(aside()).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.includes(".new-"))).toEqual([]);
    const state = openState({ root: dir });
    expect(state.list().map((r) => r.id).sort()).toEqual(["p0", "p1", "p2", "p3", "rebuilt"]);
    state.close();
  });

  test("a rebuild that throws still leaves a sound, empty database, and says why", () => {
    populated(3);
    writeFileSync(path, "");
    const state = openState({ root: dir }, () => {
      throw new Error("the cache is unreadable");
    });
    expect(state.list()).toEqual([]);
    state.close();
    expect(aside()).toHaveLength(1);
  });
});
