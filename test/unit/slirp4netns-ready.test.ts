// The pieces of startSlirp4netns that need no slirp4netns: the unlinked log and the ready descriptor.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close, pipe2 } from "../../ffi/libc.ts";
import { openUnlinkedLog } from "../../src/drivers/slirp4netns/log.ts";
import { settlesWithin, waitForReady } from "../../src/drivers/slirp4netns/ready.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-slirp-log-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("openUnlinkedLog", () => {
  test("has no name, and shows what a child wrote to it", async () => {
    const log = openUnlinkedLog("test", dir);
    expect(readdirSync(dir)).toEqual([]);
    const child = Bun.spawn(["sh", "-c", "echo out; echo err >&2"], { stdio: ["ignore", log.fd, log.fd] });
    await child.exited;
    expect(log.read()).toBe("out\nerr\n");
    expect(log.read(4)).toBe("err\n");
    log.close();
    log.close();
    expect(log.read()).toBe("");
  });
});

describe("waitForReady", () => {
  async function run(script: string, timeoutMs = 10_000) {
    const [r, w] = pipe2();
    const child = Bun.spawn(["sh", "-c", script], { stdio: ["ignore", "ignore", "ignore", w] });
    close(w);
    const outcome = await waitForReady(r, child.exited, timeoutMs);
    return { outcome, child };
  }

  test("a byte on the descriptor is ready", async () => {
    const { outcome, child } = await run("printf 1 >&3; exec 3>&-; exec sleep 100");
    expect(outcome).toBe("ready");
    child.kill();
    await child.exited;
  });

  test("exiting without writing", async () => {
    const { outcome, child } = await run("exit 3");
    expect(outcome).toBe("exited");
    expect(child.exitCode).toBe(3);
  });

  test("closing the descriptor without writing waits for the exit", async () => {
    const { outcome, child } = await run("exec 3>&-; sleep 0.1; exit 4");
    expect(outcome).toBe("exited");
    expect(child.exitCode).toBe(4);
  });

  test("neither within the time limit", async () => {
    const { outcome, child } = await run("exec sleep 100", 50);
    expect(outcome).toBe("timeout");
    child.kill("SIGKILL");
    await child.exited;
  });
});

test("settlesWithin", async () => {
  expect(await settlesWithin(Promise.resolve(), 10)).toBe(true);
  expect(await settlesWithin(new Promise(() => {}), 10)).toBe(false);
});
