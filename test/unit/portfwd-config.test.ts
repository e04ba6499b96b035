import { describe, expect, test } from "bun:test";
import { parseConfig, validateConfig } from "../../src/drivers/portfwd/config.ts";
import { listenersOf } from "../../src/drivers/portfwd/listeners.ts";

const port = { hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "tcp" };
const config = { netnsPath: "/run/netns/cni-1", childIP: "10.88.0.2", ports: [port] };

function problem(input: unknown): string {
  try {
    validateConfig(input);
  } catch (err) {
    expect((err as Error).name).toBe("UsageError");
    return (err as Error).message;
  }
  throw new Error("accepted");
}

describe("port forwarder config", () => {
  test("a single port gets range 1", () => {
    expect(validateConfig(config).ports[0]).toEqual({ ...port, protocol: "tcp", range: 1 });
  });

  test("accepts every host address form: empty, IPv4, IPv6 wildcard, IPv6", () => {
    for (const hostIP of ["", "0.0.0.0", "::", "::1", "192.0.2.7"]) {
      expect(validateConfig({ ...config, ports: [{ ...port, hostIP }] }).ports[0]!.hostIP).toBe(hostIP);
    }
  });

  test("accepts an IPv6 child address and UDP", () => {
    const out = validateConfig({ ...config, childIP: "fd00::2", ports: [{ ...port, protocol: "udp", range: 4 }] });
    expect(out.childIP).toBe("fd00::2");
    expect(out.ports[0]!.range).toBe(4);
  });

  test.each([
    ["missing field", { ...config, ports: [{ ...port, hostPort: undefined }] }, "ports[0].hostPort: missing"],
    ["missing netnsPath", { childIP: "10.88.0.2", ports: [port] }, "netnsPath: missing"],
    ["container port 0", { ...config, ports: [{ ...port, containerPort: 0 }] }, "ports[0].containerPort: expected a port number from 1 to 65535"],
    ["port above 65535", { ...config, ports: [{ ...port, hostPort: 65536 }] }, "ports[0].hostPort: expected a port number"],
    ["fractional port", { ...config, ports: [{ ...port, hostPort: 80.5 }] }, "ports[0].hostPort: expected a port number"],
    ["bad child IP", { ...config, childIP: "10.88.0.256" }, "childIP: expected an IP address"],
    ["bad host IP", { ...config, ports: [{ ...port, hostIP: "localhost" }] }, "ports[0].hostIP: expected an IP address"],
    ["unknown protocol", { ...config, ports: [{ ...port, protocol: "sctp" }] }, "ports[0].protocol:"],
    ["range 0", { ...config, ports: [{ ...port, range: 0 }] }, "ports[0].range: expected a count of ports"],
    ["range past 65535", { ...config, ports: [{ ...port, hostPort: 65534, range: 3 }] }, "ports[0]: hostPort + range goes past port 65535"],
    ["container range past 65535", { ...config, ports: [{ ...port, containerPort: 65535, range: 2 }] }, "ports[0]: containerPort + range"],
    ["no ports", { ...config, ports: [] }, "ports: expected at least one port"],
    ["unknown key", { ...config, exitFd: 3 }, "exitFd"],
    ["an IPv4 childIP6", { ...config, childIP6: "10.88.0.3" }, "childIP6: expected an IPv6 address"],
    ["an IPv4 loopbackAs6", { ...config, loopbackAs6: "10.0.2.2" }, "loopbackAs6: expected an IPv6 address"],
    ["keepClientAddress not a boolean", { ...config, keepClientAddress: "yes" }, "keepClientAddress:"],
  ])("%s is refused, naming the field", (_what, input, text) => {
    expect(problem(input)).toStartWith("invalid port forwarder config: ");
    expect(problem(input)).toContain(text);
  });

  test("text that is not JSON is refused as such", () => {
    expect(() => parseConfig("{netnsPath")).toThrow("invalid port forwarder config: not JSON");
    expect(parseConfig(JSON.stringify(config)).childIP).toBe("10.88.0.2");
  });
});

describe("listeners of a config", () => {
  test("one listener per port of a range; an empty host address is every address of both families, as rootlessport's dual-stack socket: 0.0.0.0 and ::", () => {
    const out = listenersOf(validateConfig({ ...config, ports: [{ ...port, hostIP: "", range: 3 }] }));
    expect(out).toEqual([
      ...[0, 1, 2].map((i) => ({ protocol: "tcp" as const, host: { ip: "0.0.0.0", port: 8080 + i }, target: { ip: "10.88.0.2", port: 80 + i } })),
      ...[0, 1, 2].map((i) => ({ protocol: "tcp" as const, host: { ip: "::", port: 8080 + i }, target: { ip: "10.88.0.2", port: 80 + i }, ifIPv6: true as const })),
    ]);
  });

  test("0.0.0.0 and :: are both families too (Go's wildcard listen is dual-stack); :: given is the IPv6 listener that must be there", () => {
    const v4 = listenersOf(validateConfig({ ...config, ports: [{ ...port, hostIP: "0.0.0.0" }] }));
    expect(v4.map((l) => [l.host.ip, l.ifIPv6 ?? false])).toEqual([["0.0.0.0", false], ["::", true]]);
    const v6 = listenersOf(validateConfig({ ...config, ports: [{ ...port, hostIP: "::", protocol: "udp" }] }));
    expect(v6).toEqual([
      { protocol: "udp", host: { ip: "0.0.0.0", port: 8080 }, target: { ip: "10.88.0.2", port: 80 } },
      { protocol: "udp", host: { ip: "::", port: 8080 }, target: { ip: "10.88.0.2", port: 80 } },
    ]);
    const one = listenersOf(validateConfig({ ...config, ports: [{ ...port, hostIP: "127.0.0.1" }] }));
    expect(one.map((l) => l.host.ip)).toEqual(["127.0.0.1"]);
  });

  test("with childIP6, IPv6 host addresses lead to it (so an IPv6 client's address can be kept), IPv4 ones to childIP", () => {
    const both = validateConfig({ ...config, childIP6: "fd77::2", ports: [{ ...port, hostIP: "::1" }, { ...port, hostIP: "", hostPort: 8081 }] });
    expect(listenersOf(both).map((l) => l.target.ip)).toEqual(["fd77::2", "10.88.0.2", "fd77::2"]);
  });

  test("client addresses are kept unless the config says not to", () => {
    expect(validateConfig(config).keepClientAddress).toBe(true);
    expect(validateConfig({ ...config, keepClientAddress: false }).keepClientAddress).toBe(false);
  });
});
