// Fourth pass over podman's networking tests (test/system/505-networking-pasta.bats, test/e2e/
// run_networking_test.go's port cases), as ctrnet commands through the compiled binary on a real network:
// podman's string-slice flags read as pflag reads them (comma-separated, an empty value adds nothing), and
// ps -a. The rootless pasta cases are in test/rootless/pasta-mode.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { freePorts } from "../helpers/http.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("podman parity, fourth pass", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("pp4");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  test('-p, --dns, --dns-search, --add-host and --network-alias as string slices: "a,b" is two values, "" none', () => {
    const id = `ss-${hex(4)}`;
    const [a, b] = [freePorts(1), freePorts(1)];
    inst.ok(["create", "--network", net.name, "-p", "", "-p", `${a}:80,${b}:81/udp`, "--network-alias", "one,two", id]);
    expect(inst.ok(["port", id])).toBe(`80/tcp -> 0.0.0.0:${a}\n81/udp -> 0.0.0.0:${b}\n`);
    expect(inst.ok(["inspect", "--format", `{{json (index .NetworkSettings.Networks "${net.name}").Aliases}}`, id])).toContain('"one","two"');
    const etc = inst.ok(["run", "--network", net.name, "--dns", "192.0.2.53,192.0.2.54", "--dns-search", "a.example,b.example", "--add-host", "x.local:192.0.2.9,y.local:192.0.2.8", "--", "sh", "-c", "cat /etc/resolv.conf /etc/hosts"]);
    expect(etc).toContain("nameserver 192.0.2.53\nnameserver 192.0.2.54\n");
    expect(etc).toContain("search a.example b.example\n");
    expect(etc).toContain("192.0.2.9\tx.local\n192.0.2.8\ty.local\n");
  });

  test("ps -a (podman's --all) lists every container; its Ports as podman's: an exposed range, a published port", () => {
    const [exposed, published] = [`ex-${hex(4)}`, `pu-${hex(4)}`];
    inst.ok(["create", "--network", net.name, "--expose", "1000-9999", exposed]);
    expect(inst.ok(["ps", "-a", "--format", "{{.Ports}}"])).toBe("1000-9999/tcp\n");
    inst.ok(["rm", exposed]);
    inst.ok(["create", "--network", net.name, "--expose", "80", "-p", "80", published]);
    expect(inst.ok(["ps", "--all", "--format", "{{.Ports}}"])).toMatch(/^0\.0\.0\.0:\d+->80\/tcp\n$/);
    expect(inst.ok(["container", "ps", "-a", "-q"])).toBe(`${published.slice(0, 12)}\n`);
  });

  test.each(["none", "host", "slirp4netns", "pasta", "ns:/proc/self/ns/net"])("--ip, --ip6, --mac-address, --network-alias with --network %s: podman's words, each value parsed first", (mode) => {
    const refused = (flags: string[], message: string) => {
      const r = inst.cli(["create", "--network", mode, ...flags, `st-${hex(4)}`]);
      expect(r.stderr).toBe(`ctrnet: error: ${message}\n`);
      expect(r.code).toBe(2);
    };
    refused(["--ip", "10.0.0.5"], "--ip can only be set when the network mode is bridge: invalid argument");
    refused(["--ip6", "fd00::5"], "--ip6 can only be set when the network mode is bridge: invalid argument");
    refused(["--mac-address", "92:d0:c6:0a:29:33"], "--mac-address can only be set when the network mode is bridge: invalid argument");
    refused(["--network-alias", "a"], "--network-alias can only be set when the network mode is bridge: invalid argument");
    refused(["--ip", "notanip"], '"notanip" is not an ip address');
  });
});
