// A temporary directory for a test file: its path is fixed when the file loads (some files point
// CTRNET_NETNS_DIR at it right away), the directory itself is made by the file's beforeAll and removed by
// its afterAll. Both hooks run only when a test of the file runs, so a `-t` filter that matches none of
// them leaves nothing in /tmp (bun test fires no process exit handlers to clean up after).
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function scratchPath(prefix: string): string {
  return join(tmpdir(), `${prefix}${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`);
}

/** Makes the directory; fails rather than reuse anything already at the path. */
export function makeScratch(path: string): void {
  mkdirSync(path, { mode: 0o700 });
}
