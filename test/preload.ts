// Every test must leave the machine as it found it: no netns, nsfs mount, interface, firewall rule or
// helper process. Compared per test (state made in a file's beforeAll is part of "before") and once
// more for the whole run, so fixtures that a file never tears down are caught too.
import { afterAll, afterEach, beforeAll, beforeEach } from "bun:test";
import { settledLeaks, snapshot, type Snapshot } from "./helpers/leaks.ts";

let runStart: Snapshot;
let testStart: Snapshot;

beforeAll(() => {
  runStart = snapshot();
});

beforeEach(() => {
  testStart = snapshot();
});

afterEach(async () => {
  const { leaks } = await settledLeaks(testStart);
  if (leaks.length) throw new Error(`test left state behind:\n  ${leaks.join("\n  ")}`);
});

afterAll(async () => {
  const { leaks } = await settledLeaks(runStart);
  if (leaks.length) throw new Error(`test run left state behind:\n  ${leaks.join("\n  ")}`);
});
