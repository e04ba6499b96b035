// The rootless namespace's id maps from /etc/passwd, /etc/subuid and /etc/subgid.
import { expect, test } from "bun:test";
import { namespaceMappings, passwdName, subIdRanges } from "../../src/rootless/idmap.ts";

const SUBUID = ["alice:100000:65536", "bob:165536:65536", "1001:300000:1000", "# comment", "alice:500000:10", "carol:x:5", "alice:600000:0", ""].join("\n");

test("ranges are granted by user name or by uid, in file order; malformed lines are skipped", () => {
  expect(subIdRanges(SUBUID, "alice", 1000)).toEqual([
    { start: 100000, count: 65536 },
    { start: 500000, count: 10 },
  ]);
  expect(subIdRanges(SUBUID, "dave", 1001)).toEqual([{ start: 300000, count: 1000 }]);
  expect(subIdRanges(SUBUID, undefined, 1001)).toEqual([{ start: 300000, count: 1000 }]);
  expect(subIdRanges(SUBUID, "carol", 1002)).toEqual([]);
  expect(subIdRanges("", "alice", 1000)).toEqual([]);
});

test("the user becomes 0 and its ranges follow from 1 without gaps", () => {
  expect(namespaceMappings(1000, [])).toEqual([{ inside: 0, outside: 1000, count: 1 }]);
  expect(
    namespaceMappings(1000, [
      { start: 100000, count: 65536 },
      { start: 500000, count: 10 },
    ]),
  ).toEqual([
    { inside: 0, outside: 1000, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
    { inside: 65537, outside: 500000, count: 10 },
  ]);
});

test("the user's name comes from /etc/passwd by uid", () => {
  const passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
  expect(passwdName(passwd, 1000)).toBe("alice");
  expect(passwdName(passwd, 0)).toBe("root");
  expect(passwdName(passwd, 4242)).toBeUndefined();
});
