// connect/disconnect on a live container: a second network comes as eth1 with an address there; when the
// first network goes, the published port moves to the second (same IP and MAC there) and still answers;
// a network disconnected and connected again gets a new address but its old interface name.
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  addressesInside,
  fetchText,
  hex,
  Installation,
  privileged,
  startWebServer,
  stopProcess,
  type TestNetwork,
} from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("ctrnet connect and disconnect", () => {
  let inst: Installation;
  let first: TestNetwork;
  let second: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    first = inst.network("one");
    second = inst.network("two");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  test("connect gives eth1; after disconnecting the first network the port answers through the second", async () => {
    const id = `cn-${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    const netns = inst.ok(["create", "--network", first.name, "-p", `${port}:80`, id]).trim();
    inst.ok(["connect", "--alias", "db", second.name, id]);
    const inside = addressesInside(netns);
    expect(inside.eth0!.inet[0]).toStartWith(`${first.prefix}.`);
    expect(inside.eth1!.inet[0]).toStartWith(`${second.prefix}.`);
    const networks = inst.inspect(id).NetworkSettings.Networks;
    expect(Object.keys(networks)).toEqual([first.name, second.name].sort());
    expect(networks[second.name].Aliases).toEqual(["db", id.slice(0, 12)]);
    expect(`${networks[second.name].IPAddress}/24`).toBe(inside.eth1!.inet[0]!);

    const server = await startWebServer(netns, "moved", inst.dir);
    try {
      expect(await fetchText(`http://127.0.0.1:${port}/`)).toBe("moved");
      inst.ok(["disconnect", first.name, id]);
      const after = addressesInside(netns);
      expect(after.eth0).toBeUndefined();
      expect(after.eth1).toEqual(inside.eth1!);
      expect(await fetchText(`http://127.0.0.1:${port}/`)).toBe("moved");
    } finally {
      await stopProcess(server);
    }
    const settings = inst.inspect(id).NetworkSettings;
    expect(Object.keys(settings.Networks)).toEqual([second.name]);
    expect(`${settings.IPAddress}/24`).toBe(inside.eth1!.inet[0]!);
    inst.ok(["rm", id]);
  });

  test("disconnect then connect of a network gives a new address and the same interface name", () => {
    const id = `re-${hex(4)}`;
    const blocker = `bl-${hex(4)}`;
    const netns = inst.ok(["create", "--network", `${first.name},${second.name}`, id]).trim();
    const before = addressesInside(netns).eth1!.inet[0]!;
    inst.ok(["disconnect", second.name, id]);
    expect(addressesInside(netns).eth1).toBeUndefined();
    // host-local hands out the next address after the last one it gave, so a new one comes back anyway;
    // a second container makes sure the old one is taken.
    inst.ok(["create", "--network", second.name, blocker]);
    inst.ok(["connect", second.name, id]);
    const again = addressesInside(netns).eth1!.inet[0]!;
    expect(again).toStartWith(`${second.prefix}.`);
    expect(again).not.toBe(before);
    const twice = inst.cli(["connect", second.name, id]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(": network is already connected");
    // a network that does not exist: a runtime "not found" (exit 1), as network rm's
    const notConnected = inst.cli(["disconnect", "nope", id]);
    expect(notConnected.code).toBe(1);
    inst.ok(["rm", id, blocker]);
  });

  test("connect and disconnect take a network id prefix; --ip a network or broadcast address, or a mode without networks, are refused", () => {
    const id = `ix-${hex(4)}`;
    const netns = inst.ok(["create", "--network", first.name, id]).trim();
    const secondId = createHash("sha256").update(second.name).digest("hex");
    for (const ip of [`${second.prefix}.0`, `${second.prefix}.255`]) {
      const r = inst.cli(["connect", "--ip", ip, second.name, id]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(/^ctrnet: error: IP address .* is the (network|broadcast) address of .*\n$/) });
    }
    expect(addressesInside(netns).eth1).toBeUndefined();
    inst.ok(["connect", secondId.slice(0, 10), id]);
    expect(addressesInside(netns).eth1!.inet[0]).toStartWith(`${second.prefix}.`);
    expect(inst.inspect(id).NetworkSettings.Networks).toHaveProperty(second.name);
    inst.ok(["disconnect", secondId.slice(0, 10), id]);
    expect(addressesInside(netns).eth1).toBeUndefined();
    const none = `nn-${hex(4)}`;
    inst.ok(["create", "--network", "none", none]);
    const r = inst.cli(["connect", second.name, none]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringContaining("its network mode is none, not bridge: invalid network mode") });
    inst.ok(["rm", id, none]);
  });

  test("connect --ip and --mac give that address and MAC on the new interface", () => {
    const id = `st-${hex(4)}`;
    const netns = inst.ok(["create", "--network", first.name, id]).trim();
    inst.ok(["connect", "--ip", `${second.prefix}.77`, "--mac", "02:42:0a:0b:0c:0d", second.name, id]);
    expect(addressesInside(netns).eth1).toEqual({ mac: "02:42:0a:0b:0c:0d", inet: [`${second.prefix}.77/24`] });
    inst.ok(["rm", id]);
  });
});
