// The configuration a runtime sends ctrnet's plugin for a macvlan or ipvlan network: told apart from a
// bridge network's by `driver`, checked field by field before anything is made (CNI code 7 otherwise).
import { describe, expect, test } from "bun:test";
import { isVlanInput, parsePluginInput } from "../../src/drivers/bridge/plugin/config.ts";
import { CniPluginError } from "../../src/drivers/bridge/plugin/plugin-error.ts";

const ipam = { type: "host-local", ranges: [[{ subnet: "192.168.1.0/24" }]] };
const base = { cniVersion: "1.0.0", name: "lan", type: "ctrnet", driver: "macvlan", master: "eth0", ipam };

function failure(config: Record<string, unknown>): { code: number; message: string } {
  try {
    parsePluginInput(JSON.stringify(config));
  } catch (err) {
    if (err instanceof CniPluginError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("parsed");
}

describe("a macvlan or ipvlan network's plugin configuration", () => {
  test("driver macvlan or ipvlan makes it one; no driver is a bridge network's", () => {
    const mv = parsePluginInput(JSON.stringify({ ...base, mode: "private", mtu: 1400 }));
    expect(isVlanInput(mv)).toBe(true);
    expect(mv).toMatchObject({ driver: "macvlan", master: "eth0", mode: "private", mtu: 1400 });
    expect(isVlanInput(parsePluginInput(JSON.stringify({ ...base, driver: "ipvlan", mode: "l3" })))).toBe(true);
    expect(isVlanInput(parsePluginInput(JSON.stringify({ cniVersion: "1.0.0", name: "b", type: "ctrnet", bridge: "ctrnet1", ipam })))).toBe(false);
  });

  test("no parent is podman's default (the default route's interface); a bad parent, a bad mode or MTU: invalid configuration (7), naming the field", () => {
    const { master: _, ...noMaster } = base;
    expect(parsePluginInput(JSON.stringify(noMaster))).not.toHaveProperty("master");
    expect(failure({ ...base, master: "a/b" })).toMatchObject({ code: 7, message: expect.stringContaining("master") });
    expect(failure({ ...base, mode: "sideways" })).toMatchObject({ code: 7, message: expect.stringContaining("mode") });
    expect(failure({ ...base, mtu: 20 })).toMatchObject({ code: 7, message: expect.stringContaining("mtu") });
  });
});
