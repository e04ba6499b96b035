import { describe, expect, test } from "bun:test";
import { errnoName, isSysError, SysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";
import { ErrorList, escapeControl, exitCodeOf, quote, UsageError } from "../../src/errors.ts";
import { MAX_CONTAINER_NAME, validateName } from "../../src/names.ts";

describe("SysError", () => {
  test("names the call, the argument and the errno", () => {
    const err = new SysError("setns", 1, "fd 7");
    expect(err.message).toBe("setns fd 7: operation not permitted (EPERM)");
    expect(err.code).toBe("EPERM");
    expect(isSysError(err, "EPERM")).toBe(true);
    expect(isSysError(err, "EBUSY")).toBe(false);
  });

  test("a failed libc call reads errno right after the call", () => {
    expect(() => libc.close(987654)).toThrow("close fd 987654: bad file descriptor (EBADF)");
    expect(() => libc.open("/nonexistent/ctrnet", libc.O_RDONLY)).toThrow("(ENOENT)");
  });

  test("unknown errno numbers still print", () => {
    expect(errnoName(4095)).toBe("E4095");
  });
});

describe("names", () => {
  test.each(["a", "cni-1234", "my_net.v2", "A-b.c_d", "0"])("accepts %p", (name) => {
    expect(validateName("network name", name)).toBe(name);
  });

  test.each([
    ["", "network name must not be empty"],
    ["../x", 'Invalid characters in network name "../x": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
    ["-x", 'Invalid characters in network name "-x"'],
    [".hidden", 'Invalid characters in network name ".hidden"'],
    ["a/b", 'Invalid characters in network name "a/b"'],
    ["a b", 'Invalid characters in network name "a b"'],
  ])("rejects %p", (name, message) => {
    let err: unknown;
    try {
      validateName("network name", name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(message);
    expect(exitCodeOf(err)).toBe(2);
  });
});

describe("container ids and names", () => {
  test("are limited so that every path made from them fits; lookups and other names are not", () => {
    const longest = "a".repeat(MAX_CONTAINER_NAME);
    expect(validateName("container id", longest)).toBe(longest);
    expect(validateName("container name", longest)).toBe(longest);
    expect(() => validateName("container id", `${longest}b`)).toThrow(`container id "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…" is 129 characters long, more than the limit of ${MAX_CONTAINER_NAME}`);
    expect(() => validateName("container name", "n".repeat(253))).toThrow("more than the limit of 128");
    expect(validateName("container id or name", "a".repeat(200))).toHaveLength(200);
    expect(validateName("network name", "a".repeat(253))).toHaveLength(253);
    expect(() => validateName("network name", "a".repeat(254))).toThrow("more than the limit of 253");
  });
});

describe("values in messages", () => {
  test("control characters are escaped as JSON escapes them, or as \\u escapes where JSON keeps them raw", () => {
    expect(escapeControl("a\nb\r\tc\u001b[0m\u007f\u0085\u2028 d")).toBe("a\\nb\\r\\tc\\u001b[0m\\u007f\\u0085\\u2028 d");
    expect(escapeControl("plain ünïcode")).toBe("plain ünïcode");
  });

  test("quote puts a value in double quotes, escaping quotes and control characters", () => {
    expect(quote('a"b\nc')).toBe('"a\\"b\\nc"');
    expect(() => validateName("container id", "a\nb")).toThrow('invalid container id "a\\nb"');
  });
});

describe("ErrorList", () => {
  test("is bad input (exit 2) only when every failure was", () => {
    const missing = [new UsageError('no such container "a"'), new UsageError('no such container "b"')];
    const both = new ErrorList("", missing);
    expect(both.message).toBe('no such container "a"; no such container "b"');
    expect(exitCodeOf(both)).toBe(2);
    const mixed = new ErrorList("removing networks", [missing[0], new Error("plugin bridge DEL failed")]);
    expect(mixed.message).toBe('removing networks: no such container "a"; plugin bridge DEL failed');
    expect(exitCodeOf(mixed)).toBe(1);
  });
});
