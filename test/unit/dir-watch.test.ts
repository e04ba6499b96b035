// What wakes the helper supervisor instead of a timer: inotify on the directories commands write (a
// change of a watched name is an event, others are drained and ignored; a watched directory made later
// is watched once watch() runs again, one removed is an event), and ExitWatch's wait, which sleeps until
// a process exits or a descriptor turns readable, with no timeout at all (-1).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { DirWatch } from "../../src/process/dir-watch.ts";
import { ExitWatch } from "../../src/process/exit-watch.ts";
import { startTimeOf } from "../../src/process/supervise.ts";

describe("DirWatch", () => {
  let dir: string;
  let watch: DirWatch;
  const sub = () => join(dir, "helpers");
  const dirs = () => [
    { path: dir, mask: libc.IN_CREATE | libc.IN_DELETE, names: (n: string) => n === "helpers" },
    { path: sub(), mask: libc.IN_MOVED_TO | libc.IN_DELETE, names: (n: string) => n.endsWith(".json") },
  ];
  const readable = () => libc.pollReadable([watch.fd], 0).length > 0;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ctrnet-dirwatch-"));
    watch = new DirWatch();
  });
  afterEach(() => {
    watch.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a directory that does not exist yet is watched once it is made and watch() runs again", () => {
    expect(watch.watch(dirs())).toBe(false);
    expect(readable()).toBe(false);
    mkdirSync(sub());
    expect(watch.drain()).toBe(true);
    expect(watch.watch(dirs())).toBe(true);
    writeFileSync(join(sub(), "a.json.123.tmp"), "{}");
    renameSync(join(sub(), "a.json.123.tmp"), join(sub(), "a.json"));
    expect(watch.drain()).toBe(true);
    expect(watch.drain()).toBe(false);
  });

  test("names of no interest are drained without a change: the fd is quiet again", () => {
    mkdirSync(sub());
    watch.watch(dirs());
    writeFileSync(join(dir, "state.db-wal"), "");
    rmSync(join(dir, "state.db-wal"));
    writeFileSync(join(sub(), "x.json.9.tmp"), "");
    expect(readable()).toBe(true);
    expect(watch.drain()).toBe(false);
    expect(readable()).toBe(false);
  });

  test("a watched directory removed is a change", () => {
    mkdirSync(sub());
    watch.watch(dirs());
    rmSync(sub(), { recursive: true });
    expect(watch.drain()).toBe(true);
    // nothing can say which of its files changed: the supervisor looks at everything
    expect(watch.lastChanges).toBe("all");
  });

  test("a drain says which watched names changed in which directory, so a round can look at those alone", () => {
    mkdirSync(sub());
    watch.watch(dirs());
    for (const id of ["a", "b"]) {
      writeFileSync(join(sub(), `${id}.json.1.tmp`), "{}");
      renameSync(join(sub(), `${id}.json.1.tmp`), join(sub(), `${id}.json`));
    }
    rmSync(join(sub(), "a.json"));
    expect(watch.drain()).toBe(true);
    expect(watch.lastChanges).toEqual(new Map([[sub(), new Set(["a.json", "b.json"])]]));
    // the next drain starts afresh
    expect(watch.drain()).toBe(false);
    expect(watch.lastChanges).toEqual(new Map());
  });
});

describe("ExitWatch", () => {
  test("with no timeout, it returns when a watched process exits, or a descriptor turns readable", async () => {
    const watch = new ExitWatch();
    const child = Bun.spawn(["sleep", "60"], { stdio: ["ignore", "ignore", "ignore"] });
    const [r, w] = libc.pipe2();
    try {
      const proc = { pid: child.pid, startTime: startTimeOf(child.pid)! };
      setTimeout(() => libc.write(w, new Uint8Array([1])), 20);
      // the write runs on the event loop, which the wait lets run once first: the pipe is readable by then
      await Bun.sleep(30);
      expect(await watch.wait([proc], -1, [r])).toEqual([0]);
      libc.read(r, new Uint8Array(1));
      child.kill("SIGKILL");
      await child.exited;
      // gone since the last look: that ends the wait, and it is no longer watched (its pidfd, readable for
      // ever, would end every later wait at once)
      expect(watch.watching).toBe(1);
      expect(await watch.wait([proc], -1, [r])).toEqual([]);
      expect(watch.watching).toBe(0);
      expect(await watch.wait([], 1, [r])).toEqual([]);
    } finally {
      watch.close();
      libc.close(r);
      libc.close(w);
    }
  });
});
