// pasta's options as podman 5 passes them: checked against the options the installed pasta lists (its
// --help, Debian 12's 2023 release in the fixture, and a newer one's extra lines), with getopt's words,
// and the command line podman's createPastaArgs builds from them.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pastaArgs, portSpec } from "../../src/drivers/pasta/argv.ts";
import { hasOption, parsePastaHelp, probePasta } from "../../src/drivers/pasta/features.ts";
import { parsePastaOptions, storedValues } from "../../src/drivers/pasta/options.ts";
import { pastaStatus } from "../../src/drivers/pasta/status.ts";
import type { PortMapping } from "../../src/schema/ports.ts";

const OLD = parsePastaHelp(readFileSync(new URL("../fixtures/pasta/help-0.0~git20230309.txt", import.meta.url), "utf8"));
// lines of a 2024 release's --help that the 2023 one lacks
const NEW = parsePastaHelp(
  `${readFileSync(new URL("../fixtures/pasta/help-0.0~git20230309.txt", import.meta.url), "utf8")}` +
    "  --map-host-loopback ADDR\tTranslate ADDR to refer to host\n  --map-guest-addr ADDR\tTranslate ADDR to guest's address\n",
);

const port = (p: Partial<PortMapping>): PortMapping => ({ hostIP: "", hostPort: 8080, containerPort: 80, protocol: "tcp", range: 1, ...p });
const args = (options: string[], ports: PortMapping[] = [], features = OLD, root = false) =>
  pastaArgs({ features, options: parsePastaOptions(options, features), ports, netnsPath: "/run/netns/c1", pidFile: "/run/p.pid", root });

describe("the installed pasta's options, from its --help", () => {
  test("long names, letters, and which take a value", () => {
    expect(OLD.long["ns-ifname"]).toEqual({ takesValue: true });
    expect(OLD.short.I).toBe("ns-ifname");
    expect(OLD.long["no-map-gw"]).toEqual({ takesValue: false });
    expect(OLD.long.runas).toEqual({ takesValue: true });
    expect(OLD.short["4"]).toBe("ipv4-only");
    expect(hasOption(OLD, "dns-forward")).toBe(true);
    // the examples under -t are no options
    expect(Object.keys(OLD.short)).not.toContain("22");
  });

  test("a 2023 pasta has no --map-guest-addr or --map-host-loopback; a newer one has both", () => {
    expect(hasOption(OLD, "map-guest-addr")).toBe(false);
    expect(hasOption(OLD, "map-host-loopback")).toBe(false);
    expect(hasOption(NEW, "map-guest-addr")).toBe(true);
    expect(hasOption(NEW, "map-host-loopback")).toBe(true);
  });
});

describe("pasta:OPTIONS", () => {
  test("short and long forms, attached and separate values, clusters", () => {
    const parsed = parsePastaOptions(["-I", "eth9", "--address=10.0.2.5", "-n24", "-46", "--map-gw", "-g", "10.0.2.2"], OLD);
    expect(parsed.mapGw).toBe(true);
    expect(parsed.options).toEqual([
      { name: "ns-ifname", value: "eth9" },
      { name: "address", value: "10.0.2.5" },
      { name: "netmask", value: "24" },
      { name: "ipv4-only" },
      { name: "ipv6-only" },
      { name: "gateway", value: "10.0.2.2" },
    ]);
  });

  test.each([
    [["--foo"], "pasta: unrecognized option '--foo'"],
    [["--map-host-loopback", "169.254.1.2"], "pasta: unrecognized option '--map-host-loopback'"],
    [["-z"], "pasta: invalid option -- 'z'"],
    [["-I"], "pasta: option requires an argument -- 'I'"],
    [["--dns-forward"], "pasta: option requires an argument -- 'dns-forward'"],
    [["--no-map-gw=1"], "pasta: option '--no-map-gw' doesn't allow an argument"],
    [["--netns", "/x"], "pasta option --netns cannot be given: ctrnet sets it"],
    [["-f"], "pasta option --foreground cannot be given: ctrnet sets it"],
    [["1234"], 'pasta: unexpected argument "1234"'],
    [[""], 'pasta: unexpected argument ""'],
  ])("%j is refused: %s", (options, message) => {
    expect(() => parsePastaOptions(options, OLD)).toThrow(message);
  });

  test("an option only a newer pasta has passes there", () => {
    expect(parsePastaOptions(["--map-host-loopback", "169.254.1.2"], NEW).options).toEqual([{ name: "map-host-loopback", value: "169.254.1.2" }]);
  });
});

describe("the command line, as podman's createPastaArgs", () => {
  test("no options, no ports: every direction none, --no-map-gw, --quiet, DNS forwarder, netns last", () => {
    const c = args([]);
    expect(c.args).toEqual([
      "--config-net", "--dns-forward", "169.254.1.1", "-t", "none", "-u", "none", "-T", "none", "-U", "none",
      "--no-map-gw", "--quiet", "--pid", "/run/p.pid", "--netns", "/run/netns/c1",
    ]);
    expect(c.dnsForward).toEqual(["169.254.1.1"]);
    expect(c.mapGuestAddr).toEqual([]);
  });

  test("where pasta has it, --map-guest-addr 169.254.1.2 goes last, as podman adds it", () => {
    const c = args([], [], NEW);
    expect(c.args.slice(-2)).toEqual(["--map-guest-addr", "169.254.1.2"]);
    expect(c.mapGuestAddr).toEqual(["169.254.1.2"]);
  });

  test("ports as -t/-u with podman's ranges; the user's -T/-U and --map-gw keep pasta's defaults off", () => {
    const c = args(["-T", "5432", "--map-gw", "--dns-forward", "10.0.2.3"], [port({ hostIP: "127.0.0.1", range: 3 }), port({ protocol: "udp", hostPort: 5353, containerPort: 53 })]);
    expect(c.args).toEqual([
      "--config-net", "--tcp-ns", "5432", "--dns-forward", "10.0.2.3", "-t", "127.0.0.1/8080-8082:80-82", "-u", "5353-5353:53-53",
      "-U", "none", "--quiet", "--pid", "/run/p.pid", "--netns", "/run/netns/c1",
    ]);
    expect(c.dnsForward).toEqual(["10.0.2.3"]);
  });

  test("root: --runas 0 (pasta would drop to nobody, who cannot enter root's netns) unless --runas is given", () => {
    expect(args([], [], OLD, true).args).toContain("--runas");
    expect(args(["--runas", "1000"], [], OLD, true).args.filter((a) => a === "--runas")).toHaveLength(1);
  });

  test("the user's --pid FILE (505-networking-pasta.bats) replaces ctrnet's own: pasta writes it there, and it is kept", () => {
    const c = args(["-P", "/tmp/user.pid"]);
    expect(c.args.filter((a) => a === "--pid")).toHaveLength(1);
    expect(c.args.slice(0, 3)).toEqual(["--config-net", "--pid", "/tmp/user.pid"]);
    expect(c).toMatchObject({ pidFile: "/tmp/user.pid", userPidFile: true });
    expect(args([])).toMatchObject({ pidFile: "/run/p.pid", userPidFile: false });
  });

  test("--debug leaves --quiet out", () => {
    expect(args(["-d"]).args).not.toContain("--quiet");
  });

  test("sctp: podman's words", () => {
    expect(() => args([], [port({ protocol: "sctp" })])).toThrow("can't forward protocol: sctp");
  });

  test("an IPv6 host address", () => {
    expect(portSpec(port({ hostIP: "::1" }))).toBe("::1/8080-8080:80-80");
  });
});

describe("pasta's status", () => {
  const observed = (...addresses: string[]) => ({ interfaces: [{ name: "eth0", addresses: addresses.map((address) => ({ address })) }], routes: [], dns: { nameservers: [], search: [], options: [] } });

  test("the DNS forwarder only where the container has a global address of its family (podman's filterIpFamily)", () => {
    expect(pastaStatus(observed("192.0.2.1/24", "2001:db8::1/64"), ["169.254.1.1"]).dns.nameservers).toEqual(["169.254.1.1"]);
    expect(pastaStatus(observed("2001:db8::1/64"), ["169.254.1.1"]).dns.nameservers).toEqual([]);
    expect(pastaStatus(observed("2001:db8::1/64"), ["169.254.1.1", "fd00::53"]).dns.nameservers).toEqual(["fd00::53"]);
    expect(pastaStatus(observed("192.0.2.1/24"), ["fd00::53"]).dns.nameservers).toEqual([]);
    // nothing read back (the netns gone): kept as given
    expect(pastaStatus(undefined, ["169.254.1.1"]).dns.nameservers).toEqual(["169.254.1.1"]);
  });
});

describe("probing the installed pasta", () => {
  const dir = mkdtempSync(join(tmpdir(), "ctrnet-pasta-probe-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in pasta that prints the 2023 release's usage on stderr and exits 1, as that release does. */
  function fake(name: string, help: string): string {
    const path = join(dir, name);
    writeFileSync(join(dir, `${name}.txt`), help);
    writeFileSync(path, `#!/bin/sh\ncat ${join(dir, `${name}.txt`)} >&2\nexit 1\n`);
    chmodSync(path, 0o755);
    return path;
  }

  test("usage on stderr with exit status 1 is read, and cached for the next process", () => {
    const binary = fake("pasta", readFileSync(new URL("../fixtures/pasta/help-0.0~git20230309.txt", import.meta.url), "utf8"));
    const cache = join(dir, "features.json");
    expect(probePasta(binary, cache)).toEqual(OLD);
    expect(JSON.parse(readFileSync(cache, "utf8")).features).toEqual(OLD);
  });

  test("a program whose --help is no pasta's, failing as /bin/false does (bats 'unshare --rootless-netns with Pasta'): podman's words for a pasta that fails", () => {
    const binary = fake("not-pasta", "Usage: not-pasta [OPTION]...\n  -a, --address ADDR\tan address\n");
    expect(() => probePasta(binary)).toThrow(`error checking pasta binary ${binary}: pasta failed with exit code 1 (--help): "Usage: not-pasta [OPTION]... …"`);
    const succeeds = join(dir, "succeeds");
    writeFileSync(succeeds, "#!/bin/sh\necho 'Usage: succeeds'\n");
    chmodSync(succeeds, 0o755);
    expect(() => probePasta(succeeds)).toThrow(`error checking pasta binary ${succeeds}: its --help is not pasta's (--help): "Usage: succeeds"`);
    const noNetns = fake("no-netns", "Usage: no-netns [OPTION]...\n  --config-net\tconfigure\n");
    expect(() => probePasta(noNetns)).toThrow(`error checking pasta binary ${noNetns}: its --help lists no --netns or --config-net; is it pasta?`);
  });
});

test("what ctrnet shows reads values from the stored options in every getopt form", () => {
  expect(storedValues(["-I", "eth9", "-a", "10.0.2.5"], "ns-ifname", "I")).toEqual(["eth9"]);
  expect(storedValues(["-Ieth8"], "ns-ifname", "I")).toEqual(["eth8"]);
  expect(storedValues(["--ns-ifname=eth7", "--dns-forward", "10.0.2.3"], "ns-ifname", "I")).toEqual(["eth7"]);
  expect(storedValues(["-Ieth8", "--dns-forward", "10.0.2.3", "--dns-forward=fd00::3"], "dns-forward")).toEqual(["10.0.2.3", "fd00::3"]);
});
