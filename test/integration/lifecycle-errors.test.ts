// Bad input exits 2 with one line on stderr and creates nothing: no record, netns, interface, rule, cache
// file or IPAM allocation (the preload and expectClean check those).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { BINARY } from "../helpers/binary.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("ctrnet create with bad input", () => {
  let inst: Installation;
  let net: TestNetwork;
  let other: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("bad");
    other = inst.network("spell");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  function rejects(args: string[], message: string, code = 2): void {
    const r = inst.cli(args);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: "" });
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(message);
  }

  test.each([
    ["unknown network", ["--network", "no-such-net"], 'unable to find network with name or ID no-such-net: network not found'],
    ["invalid IP", ["--ip", "10.1.2.300"], '"10.1.2.300" is not an ip address'],
    ["IP outside the subnet", ["--ip", "192.0.2.7"], "requested static ip 192.0.2.7 not in any subnet on network"],
    ["invalid MAC", ["--mac", "zz:00:00:00:00:01"], 'invalid MAC address "zz:00:00:00:00:01"'],
    ["multicast MAC", ["--mac", "01:00:5e:00:00:01"], "multicast"],
    ["invalid port spec", ["-p", "80-81:90"], 'invalid port spec "80-81:90"'],
    ["dead --pid", ["--pid", "999999999"], "process 999999999 does not exist"],
    ["missing --netns", ["--netns", "/nonexistent/ns"], "does not exist"],
    // (none, host, container:ID and ns:PATH drop them with podman's warning: lifecycle-parity.test.ts)
    ["container: of an unknown id", ["--network", "container:nope"], 'no container with name or ID "nope" found: no such container'],
    ["invalid id", [], "invalid container id"],
  ])("%s", (_what, extra, message) => {
    const id = _what === "invalid id" ? "bad!id" : `bad-${hex(4)}`;
    const network = extra.includes("--network") ? [] : ["--network", net.name];
    rejects(["create", ...network, ...extra, id], message);
  });

  test("on a host with no state yet, a create refused for its input makes no state directory", () => {
    const root = `${inst.env.CTRNET_ROOT}-fresh-${hex(4)}`;
    const env = { ...process.env, ...inst.env, CTRNET_ROOT: root };
    for (const extra of [["--network", "bad name!"], ["--network", "no-such-net"], ["--network", net.name, "-p", "80-81:90"], ["--network", net.name, "--ip", "10.1.2.300"]]) {
      const r = Bun.spawnSync([BINARY, "create", ...extra, `fresh-${hex(4)}`], { env, stdout: "pipe", stderr: "pipe" });
      expect({ extra, code: r.exitCode, lines: r.stderr.toString().trim().split("\n").length, root: existsSync(root) }).toEqual({ extra, code: 2, lines: 1, root: false });
    }
  });

  test("a duplicate id, a name in use, a host port or an address in use are refused", () => {
    const id = `dup-${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    inst.ok(["create", "--network", net.name, "--name", `nm-${id}`, "-p", `${port}:80`, "--ip", `${net.prefix}.50`, id]);
    rejects(["create", "--network", net.name, id], `container "${id}" already exists`);
    rejects(["create", "--network", net.name, "--name", `nm-${id}`, `x${id}`], "already in use");
    rejects(["create", "--network", net.name, "-p", `${port}:81`, `y${id}`], "already published");
    rejects(["create", "--network", net.name, "--ip", `${net.prefix}.50`, `z${id}`], `requested ip address ${net.prefix}.50 is already allocated to container ID ${id}`);
    inst.ok(["rm", id]);
  });

  test("unknown ids fail rm, inspect, port, stats, reload, connect and disconnect with exit 1 (a runtime not found, as rm's); rm -f ignores them", () => {
    // inspect as podman's: the list of those found (none), then exit 1
    const inspect = inst.cli(["inspect", "nope"]);
    expect({ code: inspect.code, stdout: inspect.stdout }).toEqual({ code: 1, stdout: "[]\n" });
    expect(inspect.stderr).toContain('no container with name or ID "nope" found: no such container');
    for (const args of [["port", "nope"], ["stats", "nope"], ["reload", "nope"], ["connect", net.name, "nope"], ["disconnect", net.name, "nope"], ["network", "connect", net.name, "nope"]]) {
      rejects(args, 'no container with name or ID "nope" found: no such container', 1);
    }
    // so are an unknown network to connect or disconnect, and a port the container does not publish (podman's words)
    const known = `kn-${hex(4)}`;
    inst.ok(["create", "--network", net.name, "-p", "8099", known]);
    rejects(["connect", "no-such-net", known], 'unable to find network with name or ID no-such-net: network not found', 1);
    rejects(["disconnect", "no-such-net", known], "no-such-net", 1);
    rejects(["port", known, "99/tcp"], 'failed to find published port "99/tcp"', 1);
    inst.ok(["rm", known]);
    // rm as podman's (its getContainers looks every name up first): an unknown container is exit 1 ("no such
    // container"), and the others are not removed
    const id = `rm-${hex(4)}`;
    inst.ok(["create", "--network", net.name, id]);
    expect(inst.cli(["rm", "nope", id])).toEqual({ code: 1, stdout: "", stderr: 'ctrnet: error: no container with name or ID "nope" found: no such container\n' });
    expect(inst.ok(["rm", id])).toBe(`${id}\n`);
    expect(inst.cli(["rm", "-f", "nope"]).code).toBe(0);
  });

  test("podman's spellings: --net, --network-alias, --mac-address, --ip6, network connect|disconnect|reload, port --all", () => {
    const id = `sp-${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    inst.ok(["create", "--net", net.name, "--network-alias", "a1", "--network-alias=a2", "--mac-address", "92:d0:c6:0a:29:33", "-p", `${port}-${port + 1}:80-81`, id]);
    const settings = (network: string) =>
      inst.ok(["inspect", id, "--format", `{{with index .NetworkSettings.Networks "${network}"}}{{.MacAddress}} {{join .Aliases ","}}{{end}}`]).trim();
    expect(settings(net.name)).toBe(`92:d0:c6:0a:29:33 a1,a2,${id}`);
    // network inspect's Containers by id, in podman 5's fields (500-networking.bats "network inspect running containers")
    expect(inst.ok(["network", "inspect", "--format", `{{json (index .Containers "${id}")}}`, net.name]).trim()).toMatch(
      new RegExp(`^\\{"name":"","interfaces":\\{"eth0":\\{"subnets":\\[\\{"ipnet":"${net.prefix.replaceAll(".", "\\.")}\\.\\d+/24","gateway":"${net.prefix.replaceAll(".", "\\.")}\\.1"\\}\\],"mac_address":"92:d0:c6:0a:29:33"\\}\\}\\}$`),
    );
    expect(inst.ok(["inspect", "--format", "{{.NetworkSettings.Networks}}", id])).toStartWith(`map[${net.name}:`);
    // joined by path: no network by name, podman's nil map
    const joined = `j${id}`;
    inst.ok(["create", "--network", `ns:${inst.ok(["inspect", "--format", "{{.NetworkSettings.SandboxKey}}", id]).trim()}`, joined]);
    expect(inst.ok(["inspect", "--format", "{{.NetworkSettings.Networks}}", joined])).toBe("map[]\n");
    inst.ok(["rm", joined]);
    // one line a port, as podman's; --all prefixes each with the id
    expect(inst.ok(["port", id])).toBe(`80/tcp -> 0.0.0.0:${port}\n81/tcp -> 0.0.0.0:${port + 1}\n`);
    expect(inst.ok(["port", "--all"])).toBe(`${id}\t80/tcp -> 0.0.0.0:${port}\n${id}\t81/tcp -> 0.0.0.0:${port + 1}\n`);
    inst.ok(["network", "connect", "--mac-address", "92:d0:c6:0a:29:34", "--alias", "b1", other.name, id]);
    expect(settings(other.name)).toBe(`92:d0:c6:0a:29:34 b1,${id}`);
    expect(inst.ok(["network", "reload", id])).toBe(`${id}\n`);
    inst.ok(["network", "disconnect", "-f", other.name, id]);
    expect(settings(other.name)).toBe("");
    // podman's "network not found" for a network neither configured nor on the container
    rejects(["network", "disconnect", "no-such-net", id], 'unable to find network with name or ID no-such-net: network not found', 1);
    rejects(["create", "--net", net.name, "--ip6", "10.0.0.9", `x${id}`], 'invalid --ip6 "10.0.0.9": expected an IPv6 address');
    inst.ok(["rm", id]);
  });
});
