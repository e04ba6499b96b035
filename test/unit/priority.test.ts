// A helper's niced start-up (src/process/priority.ts), in a child process of its own: it nices itself when
// its environment asks, every thread of it, and takes the normal priority back (root only) the same way.
import { describe, expect, test } from "bun:test";
import { getPriority } from "node:os";
import { join } from "node:path";
import { startNicedEnv, STARTUP_NICE } from "../../src/process/priority.ts";

const MODULE = join(import.meta.dir, "../../src/process/priority.ts");

/** Runs script in a bun child (its priority module imported as p) and returns what it printed as JSON. */
function inChild(script: string, env: Record<string, string | undefined>): unknown {
  const program = `
    import * as p from ${JSON.stringify(MODULE)};
    import { readdirSync, readFileSync } from "node:fs";
    // the nice value of each thread (field 19 of its stat), and whether the variable is still there; a
    // thread of the runtime's that ends between the listing and the read is not there to be looked at
    const niceOf = (t) => { try { return readFileSync(\`/proc/self/task/\${t}/stat\`, "utf8").replace(/^.*\\) /s, "").split(" ")[16]; } catch (e) { if (e.code !== "ENOENT" && e.code !== "ESRCH") throw e; } };
    const look = () => ({
      nices: [...new Set(readdirSync("/proc/self/task").map(niceOf).filter((n) => n !== undefined))],
      asked: process.env.CTRNET_START_NICE !== undefined,
    });
    ${script}`;
  const r = Bun.spawnSync([process.execPath, "-e", program], { env, stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  return JSON.parse(r.stdout.toString());
}

describe("a helper's niced start", () => {
  test("asked by its environment, it nices every thread of its own, and the variable is gone for what it starts", () => {
    // a new thread (a worker) after the nice starts niced too
    const seen = inChild(
      `p.startNiced();
       new Worker("data:text/javascript,postMessage(1)").onmessage = () => { console.log(JSON.stringify(look())); process.exit(0); };`,
      startNicedEnv({ ...process.env }),
    );
    expect(seen).toEqual({ nices: [String(STARTUP_NICE)], asked: false });
  });

  test("not asked, it keeps the priority it started with", () => {
    const env = { ...process.env };
    delete env.CTRNET_START_NICE;
    expect(inChild(`p.startNiced(); console.log(JSON.stringify(look()));`, env)).toEqual({ nices: [String(getPriority())], asked: false });
  });

  test.skipIf(process.getuid?.() !== 0)("as root, restorePriority gives every thread the normal priority back", () => {
    const seen = inChild(`p.startNiced(); const niced = look(); p.restorePriority(); console.log(JSON.stringify([niced.nices, look().nices]));`, startNicedEnv({ ...process.env }));
    expect(seen).toEqual([[String(STARTUP_NICE)], ["0"]]);
  });
});
