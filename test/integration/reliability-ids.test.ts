// Container ids and names so long that a path made from them cannot exist (issue 18): refused with exit 2
// before anything is made; the longest allowed work end to end on a CNI network.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bridgeConflist } from "../../src/drivers/cni/index.ts";
import { hostVeths } from "./cni-helpers.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";
import { refused } from "./reliability-helpers.ts";

describe.skipIf(!privileged)("ids and names too long for the paths made from them", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("ids");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  /** What ctrnet's runtime dir holds besides the database (whose records expectClean checks). */
  function runtimeEntries(): string[] {
    const root = inst.env.CTRNET_ROOT!;
    if (!existsSync(root)) return [];
    return readdirSync(root, { recursive: true }).map(String).filter((f) => !f.startsWith("tmp") && !f.startsWith("state.db")).sort();
  }

  test("a 253-character id is refused with exit 2 naming the limit, and nothing is made", () => {
    const before = runtimeEntries();
    const veths = hostVeths();
    refused(inst, ["create", "--network", net.name, "a".repeat(253)], "more than the limit of 128");
    refused(inst, ["create", "--network", net.name, "b".repeat(129)], "is 129 characters long, more than the limit of 128");
    refused(inst, ["create", "--network", net.name, "--name", "n".repeat(129), `ok-${hex(3)}`], "container name");
    refused(inst, ["run", "--network", net.name, "--name", "n".repeat(200), "--", "true"], "more than the limit of 128");
    expect(runtimeEntries()).toEqual(before);
    expect(hostVeths()).toEqual(veths);
  });

  test("the longest id and name work end to end on a CNI network whose name is as long as the limit leaves", () => {
    // 92: what a 128-character id leaves a network name next to the longest interface name (src/names.ts)
    const longNet = `${"l".repeat(85)}-${hex(3)}`;
    expect(longNet).toHaveLength(92);
    const conf = bridgeConflist({ name: longNet, bridge: net.bridge, subnets: [net.subnet], ipamDataDir: inst.ipamDir });
    const confPath = join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${longNet}.conflist`);
    writeFileSync(confPath, JSON.stringify(conf));
    try {
      const id = `${"i".repeat(122)}${hex(3)}`;
      const name = `${"n".repeat(122)}${hex(3)}`;
      expect([id.length, name.length]).toEqual([128, 128]);
      const netns = inst.ok(["create", "--network", longNet, "--name", name, "-p", "80", id]).trim();
      expect(existsSync(netns)).toBe(true);
      const settings = inst.inspect(name).NetworkSettings;
      expect(settings.IPAddress).toStartWith(`${net.prefix}.`);
      expect(Object.keys(settings.Networks)).toEqual([longNet]);
      expect(inst.ok(["port", id, "80"])).toContain("0.0.0.0:");
      inst.ok(["rm", id]);
      expect(existsSync(netns)).toBe(false);
    } finally {
      Bun.spawnSync(["rm", "-f", confPath]);
    }
  });

  test("a network name and an id too long together for the CNI cache file are refused with exit 2, leaving nothing", () => {
    const longNet = `${"m".repeat(120)}-${hex(3)}`;
    const conf = bridgeConflist({ name: longNet, bridge: net.bridge, subnets: [net.subnet], ipamDataDir: inst.ipamDir });
    const confPath = join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${longNet}.conflist`);
    writeFileSync(confPath, JSON.stringify(conf));
    try {
      const veths = hostVeths();
      // both within their own limits (127 and 120 characters), too long together
      refused(inst, ["create", "--network", longNet, `${"i".repeat(114)}${hex(3)}`], "too long together for a CNI cache file name");
      expect(hostVeths()).toEqual(veths);
    } finally {
      Bun.spawnSync(["rm", "-f", confPath]);
    }
  });
});
