// Every test must leave the machine as it found it: no netns, nsfs mount, interface, firewall rule or
// helper process. Compared per test (state made in a file's beforeAll is part of "before") and once
// more for the whole run, so fixtures that a file never tears down are caught too.
import { afterAll, afterEach, beforeAll, beforeEach } from "bun:test";
import * as libc from "../ffi/libc.ts";
import { settledLeaks, snapshot, type Snapshot } from "./helpers/leaks.ts";

// Orphans (a server whose ctrnet died, a helper that was detached) come to this process instead of
// pid 1, so they stay in the tree the leak check walks.
libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1);

let runStart: Snapshot;
let testStart: Snapshot;

beforeAll(() => {
  runStart = snapshot();
});

beforeEach(() => {
  testStart = snapshot();
});

afterEach(async () => {
  const { leaks } = await settledLeaks(testStart, { allowPause: true });
  if (leaks.length) throw new Error(`test left state behind:\n  ${leaks.join("\n  ")}`);
});

afterAll(async () => {
  const { leaks } = await settledLeaks(runStart);
  if (leaks.length) throw new Error(`test run left state behind:\n  ${leaks.join("\n  ")}`);
});
