// Eighth pass over podman's networking tests (test/e2e/network_test.go, network_create_test.go,
// network_connect_disconnect_test.go, port_test.go, test/system/500-networking.bats, and 015-help.bats's
// checks of the network commands), as ctrnet commands run by root through the compiled binary.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("podman parity, eighth pass", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("pp8");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  const networkNames = () => inst.ok(["network", "ls", "-q"]).trim().split("\n");

  test("bats 015-help on the network commands: podman's argument counts (cobra's ExactArgs, MaximumNArgs, MinimumNArgs, NoArgs), a word too many refused and not ignored, exit 2, nothing made", () => {
    inst.ok(["create", "--network", net.name, "c8a"]);
    const before = networkNames();
    for (const [args, words] of [
      [["network", "create", "pp8x", "pp8y"], "accepts at most 1 arg(s), received 2"],
      [["network", "exists"], "accepts 1 arg(s), received 0"],
      [["network", "exists", net.name, "pp8y"], "accepts 1 arg(s), received 2"],
      [["network", "update", "--dns-add", "192.0.2.53"], "accepts 1 arg(s), received 0"],
      [["network", "update", net.name, "pp8y", "--dns-add", "192.0.2.53"], "accepts 1 arg(s), received 2"],
      [["network", "connect", net.name], "accepts 2 arg(s), received 1"],
      [["network", "connect", net.name, "c8a", "extra"], "accepts 2 arg(s), received 3"],
      [["disconnect", net.name, "c8a", "extra"], "accepts 2 arg(s), received 3"],
      [["network", "inspect"], "requires at least 1 arg(s), only received 0"],
      [["network", "rm", "-f"], "requires at least 1 arg(s), only received 0"],
      [["network", "ls", net.name], "`ctrnet network ls` takes no arguments"],
      [["network", "list", net.name], "`ctrnet network list` takes no arguments"],
      [["network", "prune", "-f", net.name], "`ctrnet network prune` takes no arguments"],
      [["ps", "-a", "c8a"], "`ctrnet ps` takes no arguments"],
      [["port", "c8a", "80", "81"], "`port` accepts at most 2 arguments"],
      // as cobra: an unknown option is named before the count is checked
      [["network", "exists", "--frob"], "unknown option --frob"],
    ] as const) {
      const r = inst.cli([...args]);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 2, stdout: "", stderr: `ctrnet: error: ${words}\n` });
    }
    // nothing was made or changed
    expect(networkNames()).toEqual(before);
    expect(inst.inspect("c8a").NetworkSettings.Networks).toHaveProperty(net.name);
    expect(inst.ok(["network", "inspect", net.name, "--format", "{{.NetworkDNSServers}}"])).toBe("[]\n");
    // within the counts, as before
    expect(inst.cli(["network", "exists", net.name]).code).toBe(0);
    expect(inst.cli(["network", "exists", "pp8-nosuch"]).code).toBe(1);
  });

  test("bats 015-help: a command group without its command prints its help, then podman's 'missing command' words, exit 2", () => {
    for (const group of [["network"], ["container"], []]) {
      const r = inst.cli(group);
      expect({ group, code: r.code, stderr: r.stderr }).toEqual({ group, code: 2, stderr: `ctrnet: error: missing command '${["ctrnet", ...group].join(" ")} COMMAND'\n` });
      expect(r.stdout).toContain(`\nUsage:\n  ${["ctrnet", ...group].join(" ")}`);
    }
    expect(inst.cli(["network", "--help"]).code).toBe(0);
  });
  test("bats 'podman network reload': the container's id is printed, however it was named; e2e getContainers: reload and rm look every name up first, one missing fails the command with nothing done (rm -f: each name removed or ignored)", () => {
    const id = "c8b0123456789abcdef";
    inst.ok(["create", "--network", net.name, "--name", "web8", id]);
    inst.ok(["create", "--network", net.name, "c8c"]);
    expect(inst.ok(["network", "reload", "web8"])).toBe(`${id}\n`);
    expect(inst.ok(["reload", "web8", "c8c"])).toBe(`${id}\nc8c\n`);
    const missing = `no container with name or ID "pp8-nosuch" found: no such container`;
    for (const args of [["network", "reload", "web8", "pp8-nosuch"], ["rm", "web8", "pp8-nosuch"], ["rm", "pp8-nosuch", "c8c"]]) {
      const r = inst.cli(args);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 1, stdout: "", stderr: `ctrnet: error: ${missing}\n` });
    }
    expect(inst.ok(["ps", "--format", "{{.ID}}", "--no-trunc"]).trim().split("\n").sort()).toEqual([id, "c8c"].sort());
    expect(inst.ok(["rm", "-f", "web8", "pp8-nosuch", "c8c"])).toBe("web8\npp8-nosuch\nc8c\n");
  });
  test("malformed addresses in podman's words: run/create --ip and --ip6 (netflags: \"X\" is not an ip address), network connect --ip and --ip6 (pflag's IP flags); nothing connected", () => {
    inst.ok(["create", "--network", net.name, "c8d"]);
    for (const [args, words] of [
      [["create", "--network", net.name, "--ip6", "nope", "c8e"], '"nope" is not an ip address'],
      [["run", "--network", net.name, "--ip", "10.1.2.256", "--", "true"], '"10.1.2.256" is not an ip address'],
      [["network", "connect", "--ip", "nope", net.name, "c8d"], 'invalid argument "nope" for "--ip" flag: invalid string being converted to IP address: nope'],
      [["network", "connect", "--ip6", "fd00::zz", net.name, "c8d"], 'invalid argument "fd00::zz" for "--ip6" flag: invalid string being converted to IP address: fd00::zz'],
    ] as const) {
      const r = inst.cli([...args]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: `ctrnet: error: ${words}\n` });
    }
    expect(Object.keys(inst.inspect("c8d").NetworkSettings.Networks)).toEqual([net.name]);
    expect(inst.ok(["ps", "-q"]).trim().split("\n")).toEqual(["c8d"]);
  });
  test("e2e 'podman run --publish-all with EXPOSE port ranges': every exposed port published, HostConfig.PublishAllPorts true (false without -P); HostConfig's --dns, --dns-option, --dns-search and --add-host, Config's hostname, as podman's inspect", () => {
    inst.ok(["create", "--network", net.name, "--publish-all", "--expose", "2002", "--expose", "2001-2003", "--expose", "2004-2005/tcp", "c8f"]);
    const all = inst.inspect("c8f");
    expect(Object.keys(all.NetworkSettings.Ports).sort()).toEqual(["2001/tcp", "2002/tcp", "2003/tcp", "2004/tcp", "2005/tcp"]);
    expect(all.HostConfig.PublishAllPorts).toBe(true);
    expect(inst.ok(["inspect", "c8f", "--format", "{{.HostConfig.PublishAllPorts}} {{.Config.Hostname}}"])).toBe("true c8f\n");
    inst.ok(["create", "--network", net.name, "--expose", "2006", "--dns", "192.0.2.53", "--dns-option", "ndots:2", "--dns-search", "example.com", "--add-host", "db;db2:192.0.2.9", "--hostname", "box8", "c8g"]);
    const some = inst.inspect("c8g");
    expect(some.HostConfig).toMatchObject({ Dns: ["192.0.2.53"], DnsOptions: ["ndots:2"], DnsSearch: ["example.com"], ExtraHosts: ["db;db2:192.0.2.9"], PublishAllPorts: false });
    expect(some.Config.Hostname).toBe("box8");
    expect(some.NetworkSettings.Ports).toEqual({ "2006/tcp": null });
    expect(inst.ok(["inspect", "c8g", "--format", "{{.HostConfig.Dns}} {{.HostConfig.ExtraHosts}} {{json .HostConfig.DnsSearch}}"])).toBe('[192.0.2.53] [db;db2:192.0.2.9] ["example.com"]\n');
  });
  test("e2e create_staticip 'two containers with the same IP': {{.State.Status}} {{.NetworkSettings.IPAddress}} is podman's 'running IP' while the network is up; the second asking for it is refused in podman's words; JSON State keeps ctrnet's word", () => {
    const ip = `${net.prefix}.77`;
    inst.ok(["create", "--network", net.name, "--ip", ip, "c8h"]);
    expect(inst.ok(["inspect", "--format", "{{.State.Status}} {{.NetworkSettings.IPAddress}}", "c8h"])).toBe(`running ${ip}\n`);
    expect(inst.ok(["inspect", "--format", "{{.State}} {{.State.Running}} {{json .State}}", "c8h"])).toBe('ready true "ready"\n');
    expect(inst.inspect("c8h").State).toBe("ready");
    const r = inst.cli(["create", "--network", net.name, "--ip", ip, "c8i"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`requested ip address ${ip} is already allocated`);
  });
  test("port's PORT as podman's port reads it: any protocol word (one no port has is not found, exit 1), the port in strconv's words and one / at most (exit 2)", () => {
    inst.ok(["create", "--network", net.name, "-p", "8188:80", "c8j"]);
    expect(inst.ok(["port", "c8j", "80/tcp"])).toBe("0.0.0.0:8188\n");
    for (const [query, code, words] of [
      ["80/foo", 1, 'failed to find published port "80/foo"'],
      ["abc", 2, 'strconv.ParseUint: parsing "abc": invalid syntax'],
      ["70000", 2, 'strconv.ParseUint: parsing "70000": value out of range'],
      ["80/tcp/x", 2, "port formats are port/protocol. '80/tcp/x' is invalid"],
    ] as const) {
      const r = inst.cli(["port", "c8j", query]);
      expect({ query, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ query, code, stdout: "", stderr: `ctrnet: error: ${words}\n` });
    }
  });
});
