// The attachment key becomes the CNI cache's file name `NETWORK-CONTAINERID-IFNAME`, and while it is
// written, `.NETWORK-CONTAINERID-IFNAME.RANDOM.tmp`: all three together must leave room for that within
// NAME_MAX, or the cache write fails after the plugins already ran.
import { describe, expect, test } from "bun:test";
import { validateAttachmentKey } from "../../src/drivers/cni/settings.ts";
import { UsageError } from "../../src/errors.ts";

describe("validateAttachmentKey", () => {
  test("a key whose temporary cache file name fits 255 bytes passes", () => {
    expect(() => validateAttachmentKey("n".repeat(128), "c".repeat(92), "eth0".padEnd(15, "x"))).not.toThrow();
    expect(() => validateAttachmentKey("podman", "a".repeat(64), "eth0")).not.toThrow();
  });

  test("one byte more is bad input naming the lengths", () => {
    let error: unknown;
    try {
      validateAttachmentKey("n".repeat(128), "c".repeat(93), "eth0".padEnd(15, "x"));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      "network name 128 and container id 93 characters long are too long together for a CNI cache file name (at most 220 together)",
    );
  });
});
