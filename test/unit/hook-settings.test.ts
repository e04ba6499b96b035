// io.ctrnet.* annotations and hook arguments: parsed strictly, annotations winning key by key.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { ANNOTATION_NAMES, resolveSettings, settingsFromAnnotations, validateHostname, runtimeContainerName } from "../../src/hook/settings.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("settingsFromAnnotations", () => {
  test("every annotation, other prefixes ignored", () => {
    expect(
      settingsFromAnnotations({
        "io.ctrnet.network": "a,b",
        "io.ctrnet.publish": " 8080:80  127.0.0.1::53/udp ",
        "io.ctrnet.ip": "10.88.0.5",
        "io.ctrnet.mac": "02:42:ac:11:00:02",
        "io.ctrnet.aliases": "web, www",
        "io.ctrnet.hostname": "web.example",
        "io.ctrnet.write-etc": "true",
        "io.podman.annotations.label": "x",
        "io.ctrnetwork": "not ours",
      }),
    ).toEqual({
      network: "a,b",
      ports: ["8080:80", "127.0.0.1::53/udp"],
      ip: "10.88.0.5",
      mac: "02:42:ac:11:00:02",
      aliases: ["web", "www"],
      hostname: "web.example",
      writeEtc: true,
    });
  });

  test("an empty publish annotation publishes nothing", () => {
    expect(settingsFromAnnotations({ "io.ctrnet.publish": "" })).toEqual({ ports: [] });
  });

  test.each([
    ['annotation io.ctrnet.publish: invalid port spec "80:eighty": invalid container port "eighty"', { "io.ctrnet.publish": "80:eighty" }],
    ["annotation io.ctrnet.publish: ", { "io.ctrnet.publish": "8080:80 8080:80" }],
    ['annotation io.ctrnet.network: invalid --network "host,bridge"', { "io.ctrnet.network": "host,bridge" }],
    ["annotation io.ctrnet.ip: ", { "io.ctrnet.ip": "10.0.0" }],
    ["annotation io.ctrnet.mac: ", { "io.ctrnet.mac": "02:42" }],
    ['annotation io.ctrnet.aliases: invalid network alias "b/c"', { "io.ctrnet.aliases": "a,b/c" }],
    ['annotation io.ctrnet.hostname: invalid hostname "-x"', { "io.ctrnet.hostname": "-x" }],
    ['annotation io.ctrnet.write-etc: expected true or false, got "1"', { "io.ctrnet.write-etc": "1" }],
    [`unknown annotation io.ctrnet.ports: ctrnet reads ${ANNOTATION_NAMES.join(", ")}`, { "io.ctrnet.ports": "80" }],
    ["unknown annotation io.ctrnet.toString", { "io.ctrnet.toString": "x" }],
  ])("%s", (expected, annotations) => {
    expect(message(() => settingsFromAnnotations(annotations))).toStartWith(expected);
  });
});

describe("resolveSettings", () => {
  test("defaults", () => {
    expect(resolveSettings({}, {})).toEqual({ ports: [], aliases: [], expose: [], publishAll: false, writeEtc: false });
  });

  test("annotations win over arguments, key by key", () => {
    const args = { network: "argnet", publish: ["80"], ip: "10.0.0.2", aliases: ["a"], writeEtc: true };
    expect(resolveSettings(args, { "io.ctrnet.network": "annnet", "io.ctrnet.write-etc": "false" })).toEqual({
      network: "annnet",
      ports: ["80"],
      ip: "10.0.0.2",
      aliases: ["a"],
      expose: [],
      publishAll: false,
      writeEtc: false,
    });
  });

  test("--ip6, --expose, -P as annotations (io.ctrnet.ip6, io.ctrnet.expose spaces or commas, io.ctrnet.publish-all) and arguments", () => {
    const args = { ip6: "fd00::5", expose: ["80,81/udp"], publishAll: true };
    expect(resolveSettings(args, {})).toMatchObject({ ip6: "fd00::5", expose: ["80", "81/udp"], publishAll: true });
    expect(resolveSettings(args, { "io.ctrnet.ip6": "fd00::6", "io.ctrnet.expose": "90 91-92/udp,93", "io.ctrnet.publish-all": "false" })).toMatchObject({
      ip6: "fd00::6",
      expose: ["90", "91-92/udp", "93"],
      publishAll: false,
    });
    expect(message(() => settingsFromAnnotations({ "io.ctrnet.ip6": "10.0.0.5" }))).toBe('annotation io.ctrnet.ip6: invalid IPv6 address "10.0.0.5"');
    expect(message(() => settingsFromAnnotations({ "io.ctrnet.expose": "90/foo" }))).toContain('annotation io.ctrnet.expose: validating protocols for exposed port 90: unrecognized protocol "foo"');
    expect(message(() => settingsFromAnnotations({ "io.ctrnet.publish-all": "yes" }))).toBe('annotation io.ctrnet.publish-all: expected true or false, got "yes"');
  });

  test("the /etc options: arguments and annotations (spaces or commas), annotations winning option by option", () => {
    const args = { dns: ["192.0.2.1"], addHosts: ["db:192.0.2.9"] };
    expect(resolveSettings(args, { "io.ctrnet.dns": "192.0.2.53, 192.0.2.54", "io.ctrnet.dns-search": "a.example b.example", "io.ctrnet.dns-option": "ndots:2" }).etc).toEqual({
      dns: ["192.0.2.53", "192.0.2.54"],
      dnsSearch: ["a.example", "b.example"],
      dnsOptions: ["ndots:2"],
      addHosts: [{ name: "db", address: "192.0.2.9" }],
    });
    expect(message(() => resolveSettings({}, { "io.ctrnet.add-host": "nocolon" }))).toBe('annotation io.ctrnet.add-host: invalid --add-host "nocolon": expected NAME:IP');
    expect(message(() => resolveSettings({ dns: ["1.2.3"] }, {}))).toBe('invalid --dns "1.2.3": expected an IP address');
  });

  test("--dns none and --no-hosts: one key each with the nameservers, checked once merged", () => {
    // an annotation's nameservers replace the arguments' none, and its none their nameservers
    expect(resolveSettings({ dns: ["none"] }, { "io.ctrnet.dns": "192.0.2.53" }).etc).toEqual({ dns: ["192.0.2.53"] });
    expect(resolveSettings({ dns: ["192.0.2.1"], noHosts: true }, { "io.ctrnet.dns": "none" }).etc).toEqual({ noResolvConf: true, noHosts: true });
    expect(resolveSettings({ noHosts: true }, { "io.ctrnet.no-hosts": "false" }).etc).toBeUndefined();
    expect(message(() => resolveSettings({ dnsOptions: ["ndots:2"] }, { "io.ctrnet.dns": "none" }))).toBe(
      "--dns none (keep the container's resolv.conf) cannot be given with --dns-search or --dns-option",
    );
    expect(message(() => resolveSettings({ addHosts: ["db:192.0.2.9"] }, { "io.ctrnet.no-hosts": "true" }))).toBe("--no-hosts and --add-host cannot be set together");
    expect(message(() => resolveSettings({ dns: ["none", "192.0.2.1"] }, {}))).toBe("--dns none (keep the container's resolv.conf) cannot be given with nameservers");
  });

  test("arguments are checked as strictly", () => {
    expect(message(() => resolveSettings({ publish: ["x"] }, {}))).toStartWith('invalid port spec "x"');
    expect(message(() => resolveSettings({ hostname: "a..b" }, {}))).toStartWith('invalid hostname "a..b"');
  });
});

test("validateHostname", () => {
  expect(validateHostname("a")).toBe("a");
  expect(validateHostname("web-1.example.org")).toBe("web-1.example.org");
  for (const bad of ["", "a-", "a_b", "a b", `${"x".repeat(64)}.org`, "x.".repeat(127) + "xx"]) {
    expect(() => validateHostname(bad)).toThrow(UsageError);
  }
});

describe("the runtime's name for the container", () => {
  test("taken from nerdctl's, containerd CRI's or CRI-O's annotation, in that order; podman's flags name nothing", () => {
    expect(runtimeContainerName({ "nerdctl/name": "web", "io.kubernetes.cri.container-name": "api" })).toBe("web");
    expect(runtimeContainerName({ "io.kubernetes.cri.sandbox-name": "pod1" })).toBe("pod1");
    expect(runtimeContainerName({ "io.kubernetes.cri-o.ContainerName": "k8s_db_pod_ns_0" })).toBe("k8s_db_pod_ns_0");
    expect(runtimeContainerName({ "io.container.manager": "libpod", "io.podman.annotations.autoremove": "TRUE" })).toBeUndefined();
  });

  test("a value ctrnet cannot use as a name is skipped for the next key, never an error", () => {
    expect(runtimeContainerName({ "nerdctl/name": "not a name", "io.kubernetes.cri.container-name": "api" })).toBe("api");
    expect(runtimeContainerName({ "nerdctl/name": "" })).toBeUndefined();
    expect(runtimeContainerName({ "nerdctl/name": "x".repeat(200) })).toBeUndefined();
  });
});
