// Running one plugin: environment, stdin, errors turned into one readable line, lookup, time limit, ETXTBSY.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execPlugin, type ExecOptions, type PluginCallRecord, PluginError } from "../../src/drivers/cni/exec.ts";
import { fakePlugin, recordedCalls } from "./cni-fake-plugins.ts";

let dir: string;
let bin: string;
let log: string;
let options: ExecOptions;
const attachment = {
  containerId: "c1",
  netnsPath: "/run/netns/test",
  ifName: "eth0",
  cniArgs: [
    ["IgnoreUnknown", "1"],
    ["K8S_POD_NAME", "web"],
  ] as const,
};
const stdin = new TextEncoder().encode(JSON.stringify({ cniVersion: "1.0.0", name: "mynet", type: "fake" }));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-cni-exec-"));
  bin = join(dir, "bin");
  log = join(dir, "log");
  mkdirSync(bin);
  mkdirSync(log);
  options = { pluginDirs: [join(dir, "empty"), bin], timeoutMs: 10_000 };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<PluginError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PluginError);
  return err as PluginError;
}

describe("execPlugin", () => {
  test("sets the CNI_* environment, passes stdin and returns stdout as JSON", async () => {
    fakePlugin(bin, log, "fake", { stdout: { ADD: { cniVersion: "1.0.0", ips: [] } } });
    process.env.CNI_STRAY = "from the caller";
    try {
      const out = await execPlugin({ type: "fake", command: "ADD", network: "mynet", stdin, attachment }, options);
      expect(out).toEqual({ cniVersion: "1.0.0", ips: [] });
    } finally {
      delete process.env.CNI_STRAY;
    }
    const [call] = recordedCalls(log);
    expect(call?.env).toEqual({
      CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=web",
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c1",
      CNI_IFNAME: "eth0",
      CNI_NETNS: "/run/netns/test",
      CNI_PATH: `${join(dir, "empty")}:${bin}`,
    });
    expect(call?.stdin).toEqual({ cniVersion: "1.0.0", name: "mynet", type: "fake" });
  });

  test("VERSION, STATUS and GC carry no attachment variables; empty stdout is undefined", async () => {
    fakePlugin(bin, log, "fake");
    expect(await execPlugin({ type: "fake", command: "GC", stdin }, options)).toBeUndefined();
    expect(recordedCalls(log)[0]?.env).toEqual({ CNI_COMMAND: "GC", CNI_PATH: `${join(dir, "empty")}:${bin}` });
  });

  test("a plugin's error object becomes one line naming plugin, command and network, keeping the code", async () => {
    fakePlugin(bin, log, "bridge", {
      stdout: { ADD: { cniVersion: "1.0.0", code: 7, msg: "failed to set bridge addr", details: "could not add IP\naddress to \"cni0\"" } },
      exitCode: { ADD: 1 },
    });
    const err = await failure(execPlugin({ type: "bridge", command: "ADD", network: "mynet", stdin, attachment }, options));
    expect(err.message).toBe('plugin bridge ADD for network mynet: failed to set bridge addr: could not add IP address to "cni0"');
    expect(err.code).toBe(7);
    expect(err.plugin).toBe("bridge");
  });

  test("a failure without an error object shows the exit status and stderr", async () => {
    fakePlugin(bin, log, "fake", { exitCode: { DEL: 3 }, stderr: "panic: something broke" });
    const err = await failure(execPlugin({ type: "fake", command: "DEL", network: "mynet", stdin, attachment }, options));
    expect(err.message).toBe("plugin fake DEL for network mynet: exited with status 3: panic: something broke");
    expect(err.code).toBeUndefined();
  });

  test("output that is not JSON is an error", async () => {
    fakePlugin(bin, log, "fake", { stdout: { ADD: "hello" } });
    const err = await failure(execPlugin({ type: "fake", command: "ADD", network: "n", stdin, attachment }, options));
    expect(err.message).toBe("plugin fake ADD for network n: printed something that is not JSON: hello");
  });

  test("a missing binary names the plugin type and the search path", async () => {
    const err = await failure(execPlugin({ type: "nosuch", command: "ADD", network: "mynet", stdin, attachment }, options));
    expect(err.message).toBe(`plugin nosuch ADD for network mynet: plugin binary "nosuch" not found in ${join(dir, "empty")}:${bin}`);
  });

  test("a plugin that does not answer in time is killed and the call fails", async () => {
    fakePlugin(bin, log, "slow", { sleep: 30 });
    const records: PluginCallRecord[] = [];
    const err = await failure(
      execPlugin({ type: "slow", command: "ADD", network: "n", stdin, attachment }, { ...options, timeoutMs: 300, onPluginCall: (r) => records.push(r) }),
    );
    expect(err.message).toBe("plugin slow ADD for network n: no answer within 300 ms; killed it");
    expect(records).toHaveLength(1);
    expect(records[0]?.exitCode).toBeNull();
  });

  test("retries while the binary is still open for writing (ETXTBSY)", async () => {
    const path = join(bin, "busy");
    const fd = openSync(path, "w", 0o755);
    writeSync(fd, `#!/bin/sh\nprintf '{"cniVersion":"1.0.0"}'\n`);
    chmodSync(path, 0o755);
    const call = execPlugin({ type: "busy", command: "ADD", network: "n", stdin, attachment }, options);
    await Bun.sleep(120);
    closeSync(fd);
    expect(await call).toEqual({ cniVersion: "1.0.0" });
  });

  test("reports every call to onPluginCall with its duration and stderr", async () => {
    fakePlugin(bin, log, "fake", { stderr: "a log line" });
    const records: PluginCallRecord[] = [];
    await execPlugin({ type: "fake", command: "VERSION", stdin }, { ...options, onPluginCall: (r) => records.push(r) });
    expect(records).toEqual([
      { type: "fake", command: "VERSION", network: undefined, path: join(bin, "fake"), durationMs: expect.any(Number), exitCode: 0, stderr: "a log line\n" },
    ]);
  });
});
