// The attachment key becomes the CNI cache's file name `NETWORK-CONTAINERID-IFNAME`: all three together
// must fit NAME_MAX, or the cache write fails after the plugins already ran.
import { describe, expect, test } from "bun:test";
import { validateAttachmentKey } from "../../src/drivers/cni/context.ts";
import { UsageError } from "../../src/errors.ts";

describe("validateAttachmentKey", () => {
  test("a key whose file name fits 255 bytes passes", () => {
    expect(() => validateAttachmentKey("n".repeat(128), "c".repeat(110), "eth0".padEnd(15, "x"))).not.toThrow();
    expect(() => validateAttachmentKey("podman", "a".repeat(64), "eth0")).not.toThrow();
  });

  test("one byte more is bad input naming the lengths", () => {
    let error: unknown;
    try {
      validateAttachmentKey("n".repeat(128), "c".repeat(111), "eth0".padEnd(15, "x"));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      "network name, container id and interface name make a CNI cache file name of 256 characters (network nnnnnnnnnnnnnnnn…): at most 255",
    );
  });
});
