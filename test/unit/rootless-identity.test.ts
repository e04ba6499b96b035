// Reading who a process is on the host from its uid_map.
import { expect, test } from "bun:test";
import { hostUid, inUserNamespace, isInitialUserNamespace, isRootless, parentId } from "../../src/identity.ts";

const ROOTLESS_MAP = "         0       1001          1\n         1     100000      65536\n";

test("the initial user namespace maps every id to itself", () => {
  expect(isInitialUserNamespace("         0          0 4294967295\n")).toBe(true);
  expect(isInitialUserNamespace(ROOTLESS_MAP)).toBe(false);
  expect(isInitialUserNamespace("         0          0          1\n")).toBe(false);
});

test("an id inside maps to the parent's id through the range holding it", () => {
  expect(parentId(ROOTLESS_MAP, 0)).toBe(1001);
  expect(parentId(ROOTLESS_MAP, 1)).toBe(100000);
  expect(parentId(ROOTLESS_MAP, 65536)).toBe(165535);
  expect(parentId(ROOTLESS_MAP, 65537)).toBeUndefined();
  expect(parentId("", 0)).toBeUndefined();
});

test("outside a user namespace the host uid is the euid", () => {
  if (inUserNamespace()) return;
  expect(hostUid()).toBe(process.geteuid!());
  expect(isRootless()).toBe(process.geteuid!() !== 0);
});
