// Network configuration loading: .conflist and .conf files, search order, and errors that name the file
// and the field.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import {
  findNetwork,
  listNetworks,
  loadNetworkFile,
  NetworkConfigError,
  NetworkNotFoundError,
  networkId,
  parseNetworkConfig,
  resolveNetwork,
} from "../../src/drivers/cni/config.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-cni-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const list = (name: string, extra: Record<string, unknown> = {}) => ({
  cniVersion: "1.0.0",
  name,
  plugins: [{ type: "bridge", bridge: "cni0", ipam: { type: "host-local" } }, { type: "portmap", capabilities: { portMappings: true } }],
  ...extra,
});

describe("parseNetworkConfig", () => {
  test("a conflist keeps every plugin key, known or not, and its bytes as read", async () => {
    const doc = list("mynet", { someRuntimeKey: 1 });
    (doc.plugins[0] as Record<string, unknown>).vendorOption = { nested: [1, 2] };
    const path = write("10-mynet.conflist", doc);
    const net = await loadNetworkFile(path);
    expect(net.name).toBe("mynet");
    expect(net.cniVersion).toBe("1.0.0");
    expect(net.plugins[0]).toEqual({ type: "bridge", bridge: "cni0", ipam: { type: "host-local" }, vendorOption: { nested: [1, 2] } });
    expect(net.plugins[1]?.capabilities).toEqual({ portMappings: true });
    expect(new TextDecoder().decode(net.bytes)).toBe(JSON.stringify(doc));
    expect(net.source).toBe(path);
    expect(net.disableCheck).toBe(false);
  });

  test("a single-plugin .conf becomes a one-plugin list, as libcni wraps it", async () => {
    const conf = { cniVersion: "0.4.0", name: "single", type: "bridge", bridge: "cni9", ipam: { type: "host-local", subnet: "10.9.0.0/16" } };
    const net = await loadNetworkFile(write("single.conf", conf));
    expect(net.name).toBe("single");
    expect(net.cniVersion).toBe("0.4.0");
    expect(net.plugins).toEqual([conf]);
    expect(JSON.parse(new TextDecoder().decode(net.bytes))).toEqual({ cniVersion: "0.4.0", name: "single", plugins: [conf] });
  });

  test("a file read again is parsed again only when it changed or was replaced", async () => {
    const path = write("10-memo.conflist", list("memo"));
    const first = await loadNetworkFile(path);
    expect(await loadNetworkFile(path)).toBe(first);
    // replaced, as `network create` and editors that rename do: another inode
    const next = join(dir, "next.tmp");
    writeFileSync(next, JSON.stringify(list("memo", { disableCheck: true })));
    renameSync(next, path);
    const replaced = await loadNetworkFile(path);
    expect(replaced.disableCheck).toBe(true);
    // rewritten in place with another size
    writeFileSync(path, JSON.stringify(list("memo2")));
    expect((await loadNetworkFile(path)).name).toBe("memo2");
    rmSync(path);
    await expect(loadNetworkFile(path)).rejects.toThrow(/cannot read/);
  });

  test("malformed JSON names the file", async () => {
    const path = write("broken.conflist", '{"cniVersion": "1.0.0", "name": ');
    await expect(loadNetworkFile(path)).rejects.toThrow(new RegExp(`^${path}: malformed JSON: `));
  });

  test("a missing or mistyped plugin type names the file and the field path", () => {
    const missing = list("n");
    delete (missing.plugins[1] as Record<string, unknown>).type;
    expect(() => parseNetworkConfig(JSON.stringify(missing), "/etc/cni/net.d/x.conflist")).toThrow(
      "/etc/cni/net.d/x.conflist: plugins[1].type: missing",
    );
    const mistyped = list("n");
    (mistyped.plugins[1] as Record<string, unknown>).type = 3;
    expect(() => parseNetworkConfig(JSON.stringify(mistyped), "/etc/cni/net.d/x.conflist")).toThrow(
      "/etc/cni/net.d/x.conflist: plugins[1].type: expected string, got 3",
    );
  });

  test("rejects what would break later: paths as plugin types, empty lists, bad ipam, bad flags", () => {
    const cases: [unknown, string][] = [
      [list("n", { plugins: [{ type: "../../bin/sh" }] }), "plugins[0].type: expected a plugin name, not a path"],
      [list("n", { plugins: [] }), "plugins: expected at least one plugin"],
      [list("n", { plugins: [{ type: "bridge", ipam: {} }] }), "plugins[0].ipam.type: missing"],
      [list("n", { plugins: [{ type: "bridge", capabilities: { ips: "yes" } }] }), 'plugins[0].capabilities.ips: expected boolean, got "yes"'],
      [list("n", { disableCheck: "maybe" }), "disableCheck: expected"],
      [{ name: "n", plugins: [{ type: "bridge" }] }, "cniVersion: missing"],
      [list("n", { cniVersion: "one" }), "cniVersion: expected a version like 1.0.0"],
      [list("n", { cniVersion: "2.0.0" }), 'cniVersion: "2.0.0" is not one of 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0'],
      [[1, 2], "expected a JSON object"],
      [{ cniVersion: "1.0.0", name: "n" }, "type: missing"],
    ];
    for (const [doc, message] of cases) {
      expect(() => parseNetworkConfig(JSON.stringify(doc), "f.conflist")).toThrow(`f.conflist: ${message}`);
    }
  });

  test("a bad network name is bad input, named with the file", () => {
    let err: unknown;
    try {
      parseNetworkConfig(JSON.stringify(list("../evil")), "/d/evil.conflist");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetworkConfigError);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('/d/evil.conflist: name: Invalid characters in network name "../evil": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*');
  });

  test("cniVersions: the highest version ctrnet speaks wins; disable flags take strings too", () => {
    const net = parseNetworkConfig(
      JSON.stringify(list("n", { cniVersion: "0.4.0", cniVersions: ["0.4.0", "1.1.0", "9.9.9", "1.0.0"], disableCheck: "true", disableGC: true })),
      "f",
    );
    expect(net.cniVersion).toBe("1.1.0");
    expect(net.disableCheck).toBe(true);
    expect(net.disableGC).toBe(true);
  });
});

describe("the same text parsed again (a file, then its bytes in the CNI cache)", () => {
  test("gives what a first parse gives, with its own source and bytes", () => {
    const text = JSON.stringify(list("again"));
    const first = parseNetworkConfig(new TextEncoder().encode(text), "/etc/cni/net.d/again.conflist");
    const bytes = new TextEncoder().encode(text);
    const second = parseNetworkConfig(bytes, "/var/lib/cni/results/again-c1-eth0");
    expect(second).toEqual({ ...first, source: "/var/lib/cni/results/again-c1-eth0", bytes });
    expect(second.bytes).toBe(bytes);
    const conf = JSON.stringify({ cniVersion: "1.0.0", name: "single", type: "bridge", bridge: "b0" });
    const wrapped = parseNetworkConfig(conf, "a.conf");
    expect(parseNetworkConfig(conf, "b.conf")).toEqual({ ...wrapped, source: "b.conf" });
  });

  test("a text that does not parse fails every time, naming each source", () => {
    expect(() => parseNetworkConfig("{", "one.conflist")).toThrow("one.conflist: malformed JSON");
    expect(() => parseNetworkConfig("{", "two.conflist")).toThrow("two.conflist: malformed JSON");
  });
});

describe("findNetwork and listNetworks", () => {
  test("lists come before single configs, files in name order, earlier directories first", async () => {
    const second = join(dir, "second");
    mkdirSync(second);
    write("00-a.conf", { cniVersion: "1.0.0", name: "net", type: "bridge", bridge: "from-conf" });
    write("99-b.conflist", list("net", { plugins: [{ type: "bridge", bridge: "from-list" }] }));
    writeFileSync(join(second, "00-c.conflist"), JSON.stringify(list("net", { plugins: [{ type: "bridge", bridge: "second-dir" }] })));
    writeFileSync(join(second, "01-other.conflist"), JSON.stringify(list("other")));
    write("ignored.txt", "not a config");

    expect((await findNetwork("net", [dir, second])).plugins[0]?.bridge).toBe("from-list");
    expect((await findNetwork("net", [second, dir])).plugins[0]?.bridge).toBe("second-dir");
    const { networks, problems } = await listNetworks([dir, second, join(dir, "does-not-exist")]);
    expect(networks.map((n) => n.name)).toEqual(["net", "other"]);
    expect(problems).toEqual([]);
  });

  test("a broken unrelated file does not hide a good network; a missing network names the broken files", async () => {
    const broken = write("00-broken.conflist", "{");
    write("10-good.conflist", list("good"));
    expect((await findNetwork("good", [dir])).name).toBe("good");

    const listing = await listNetworks([dir]);
    expect(listing.networks.map((n) => n.name)).toEqual(["good"]);
    expect(listing.problems.map((p) => p.source)).toEqual([broken]);

    const err = await findNetwork("absent", [dir]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkNotFoundError);
    expect((err as Error).message).toStartWith(`unable to find network with name or ID absent: network not found in ${dir} (unusable configuration files: ${broken}: malformed JSON`);
    expect((err as Error).message).toEndWith(")");
  });

  test("a file added or removed is seen at the next listing, the directory settled or just changed", async () => {
    const names = async () => (await listNetworks([dir])).networks.map((n) => n.name);
    write("10-a.conflist", list("a"));
    expect(await names()).toEqual(["a"]);
    // changed again within the same moment: never the listing from before
    write("20-b.conflist", list("b"));
    expect(await names()).toEqual(["a", "b"]);
    // a directory left alone a while (its times older than SETTLED_MS) is listed once and remembered, until it changes
    await Bun.sleep(150);
    expect(await names()).toEqual(["a", "b"]);
    expect(await names()).toEqual(["a", "b"]);
    rmSync(join(dir, "10-a.conflist"));
    expect(await names()).toEqual(["b"]);
    await Bun.sleep(150);
    expect(await names()).toEqual(["b"]);
    write("30-c.conflist", list("c"));
    expect(await names()).toEqual(["b", "c"]);
  });

  test("the name asked for is validated before any file is read", async () => {
    await expect(findNetwork("a/b", [dir])).rejects.toThrow('Invalid characters in network name "a/b"');
  });

  test("a network's id is its name's sha256, as podman's CNI backend makes it", () => {
    expect(networkId("podman")).toBe("2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9");
  });
});

describe("resolveNetwork", () => {
  const ids = (...names: string[]) => names.map(networkId);
  test("a name, a whole id or a unique id prefix, as podman", async () => {
    for (const name of ["alpha", "beta", "gamma"]) write(`${name}.conflist`, list(name));
    const [alpha, beta] = ids("alpha", "beta");
    expect((await resolveNetwork("alpha", [dir])).name).toBe("alpha");
    expect((await resolveNetwork(alpha!, [dir])).name).toBe("alpha");
    expect((await resolveNetwork(alpha!.slice(0, 3), [dir])).name).toBe("alpha");
    expect((await resolveNetwork(beta!.slice(0, 12), [dir])).name).toBe("beta");
    // findNetwork, for names from records, never takes an id.
    await expect(findNetwork(alpha!, [dir])).rejects.toBeInstanceOf(NetworkNotFoundError);
  });

  test("a name wins over an id prefix; an ambiguous prefix is an error naming it; an unknown one is not found", async () => {
    const names = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "na", "nb", "nc", "nd", "ne", "nf", "ng", "nh"];
    for (const name of names) write(`${name}.conflist`, list(name));
    const byFirst = new Map<string, string[]>();
    for (const name of names) byFirst.set(networkId(name)[0]!, [...(byFirst.get(networkId(name)[0]!) ?? []), name]);
    const [shared, sharing] = [...byFirst].find(([, n]) => n.length > 1)!;
    await expect(resolveNetwork(shared, [dir])).rejects.toThrow(`more than one result for network ID ${shared}: it starts the ids of networks ${sharing.join(", ")}`);
    const err = await resolveNetwork(shared, [dir]).catch((e: unknown) => e);
    expect((err as UsageError).exitCode).toBe(2);

    write("named.conflist", list(shared));
    expect((await resolveNetwork(shared, [dir])).name).toBe(shared);

    await expect(resolveNetwork("nonexistent", [dir])).rejects.toThrow(`unable to find network with name or ID nonexistent: network not found in ${dir}`);
  });
});

describe("host-local ranges are checked when the file is read", () => {
  const withIpam = (ipam: Record<string, unknown>) => JSON.stringify(list("n", { plugins: [{ type: "bridge", ipam: { type: "host-local", ...ipam } }] }));
  test.each([
    [{ ranges: [[{ subnet: "banana" }]] }, 'plugins[0].ipam.ranges[0][0].subnet: "banana" is not a subnet host-local can use'],
    [{ ranges: [[{ subnet: "10.1.0.5/24" }]] }, 'plugins[0].ipam.ranges[0][0].subnet: "10.1.0.5/24" is not a subnet'],
    [{ ranges: [[{ subnet: "10.1.0.0/31" }]] }, 'plugins[0].ipam.ranges[0][0].subnet: "10.1.0.0/31" is not a subnet host-local can use'],
    [{ ranges: [[{ subnet: "10.1.0.0/24", rangeStart: "10.2.0.1" }]] }, "plugins[0].ipam.ranges[0][0].rangeStart: not in the range's subnet"],
    [{ ranges: [[{ subnet: "10.1.0.0/24", rangeEnd: "x" }]] }, "plugins[0].ipam.ranges[0][0].rangeEnd: expected an IP address"],
    [{ ranges: [[{ subnet: "10.1.0.0/24", gateway: "10.1.0.300" }]] }, "plugins[0].ipam.ranges[0][0].gateway: expected an IP address"],
    [{ ranges: [[]] }, "plugins[0].ipam.ranges[0]: expected at least one range"],
    [{ subnet: "10.1.0.0/33" }, 'plugins[0].ipam.subnet: "10.1.0.0/33" is not a subnet'],
    [{ subnet: "10.1.0.0/16", rangeStart: "10.9.0.1" }, "plugins[0].ipam.rangeStart: not in the range's subnet"],
  ])("%j is refused, naming the file and the field", (ipam, message) => {
    expect(() => parseNetworkConfig(withIpam(ipam), "f.conflist")).toThrow(`f.conflist: ${message}`);
  });

  test("good ranges and other IPAMs pass", () => {
    expect(parseNetworkConfig(withIpam({ ranges: [[{ subnet: "10.1.0.0/24", rangeStart: "10.1.0.10", rangeEnd: "10.1.0.20", gateway: "10.1.0.1" }], [{ subnet: "fd01::/64" }]] }), "f").name).toBe("n");
    expect(parseNetworkConfig(withIpam({ subnet: "10.5.0.0/16", gateway: "10.5.0.1" }), "f").name).toBe("n");
    const dhcp = JSON.stringify(list("n", { plugins: [{ type: "macvlan", ipam: { type: "dhcp", subnet: "whatever" } }] }));
    expect(parseNetworkConfig(dhcp, "f").name).toBe("n");
  });

  test("a network name longer than 128 characters is refused, naming the file", () => {
    expect(parseNetworkConfig(JSON.stringify(list("n".repeat(128))), "f").name).toHaveLength(128);
    expect(() => parseNetworkConfig(JSON.stringify(list("n".repeat(253))), "f")).toThrow("f: name: network name \"nnnn");
    expect(() => parseNetworkConfig(JSON.stringify(list("n".repeat(129))), "f")).toThrow("is longer than 128 characters");
  });
});
