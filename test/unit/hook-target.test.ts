// Which netns a hook call configures, decided from config.json's namespaces and the state's pid.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { hookTarget, networkNamespace, sameNetns } from "../../src/hook/target.ts";
import type { BundleConfig, OciState } from "../../src/schema/oci.ts";

const state = (pid?: number): OciState => ({ ociVersion: "1.0.2", id: "c1", status: "creating", pid, bundle: "/b", annotations: {} });
const withNetns = (path?: string): BundleConfig => ({ linux: { namespaces: [{ type: "mount" }, { type: "network", ...(path === undefined ? {} : { path }) }] } });
const none = () => [];

describe("networkNamespace", () => {
  test("new, joined, or the runtime's own", () => {
    expect(networkNamespace(withNetns())).toEqual({});
    expect(networkNamespace(withNetns(""))).toEqual({});
    expect(networkNamespace(withNetns("/run/netns/x"))).toEqual({ path: "/run/netns/x" });
    expect(networkNamespace({ linux: { namespaces: [{ type: "pid" }] } })).toBeUndefined();
    expect(networkNamespace({})).toBeUndefined();
  });
});

describe("hookTarget", () => {
  test("host, ns: and container: modes take nothing from the runtime", () => {
    expect(hookTarget(state(), {}, { kind: "host" }, none)).toEqual({ kind: "mode" });
    expect(hookTarget(state(), {}, { kind: "container", id: "x" }, none)).toEqual({ kind: "mode" });
    expect(hookTarget(state(), {}, { kind: "ns", path: "/x" }, none)).toEqual({ kind: "mode" });
  });

  test("refusals", () => {
    const bridge = { kind: "bridge" } as const;
    expect(() => hookTarget(state(1), {}, bridge, none)).toThrow('has no network namespace of its own (config.json\'s linux.namespaces has no "network" entry)');
    expect(() => hookTarget(state(0), withNetns(), bridge, none)).toThrow("pid: missing");
    expect(() => hookTarget(state(), withNetns(), bridge, none)).toThrow(UsageError);
    expect(() => hookTarget(state(process.pid), withNetns(), bridge, none)).toThrow("runtime's own network namespace");
    expect(() => hookTarget(state(), withNetns("/proc/self/ns/net"), bridge, none)).toThrow("runtime's own network namespace");
    expect(() => hookTarget(state(), withNetns("/nonexistent/netns"), bridge, none)).toThrow("network namespace /nonexistent/netns of container \"c1\" does not exist");
  });

  test("the ctrnet containers are asked for only once the input has passed", () => {
    let asked = false;
    const known = () => {
      asked = true;
      return [];
    };
    expect(() => hookTarget(state(0), withNetns(), { kind: "bridge" }, known)).toThrow();
    expect(asked).toBe(false);
  });
});

test("sameNetns", () => {
  expect(sameNetns(undefined, { kind: "mode" })).toBe(true);
  expect(sameNetns("/proc/self/ns/net", { kind: "mode" })).toBe(true);
  expect(sameNetns(undefined, { kind: "adopt", pid: process.pid })).toBe(false);
  expect(sameNetns("/proc/self/ns/net", { kind: "adopt", pid: process.pid })).toBe(true);
  expect(sameNetns("/proc/self/ns/net", { kind: "join", path: "/proc/self/ns/net" })).toBe(true);
  expect(sameNetns("/proc/self/ns/net", { kind: "join", path: "/nonexistent" })).toBe(false);
  expect(sameNetns("/proc/self/ns/net", { kind: "shared", owner: "x" })).toBe(false);
});
