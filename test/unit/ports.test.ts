import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { CtrnetError, UsageError } from "../../src/errors.ts";
import {
  defaultHostIPs,
  checkPortConflicts,
  formatPort,
  fromCniPortMappings,
  parseExposeSpec,
  parseExposeSpecs,
  parsePortSpec,
  parsePortSpecs,
  psPortsText,
  publishAllMappings,
  PortMapping,
  toCniPortMappings,
} from "../../src/schema/ports.ts";

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error("expected a UsageError");
}

const m = (over: Partial<PortMapping>): PortMapping => ({
  hostIP: "",
  hostPort: 0,
  containerPort: 80,
  protocol: "tcp",
  range: 1,
  ...over,
});

describe("parsePortSpec", () => {
  test.each<[string, PortMapping[]]>([
    ["80", [m({})]],
    ["8080:80", [m({ hostPort: 8080 })]],
    ["127.0.0.1:8080:80", [m({ hostIP: "127.0.0.1", hostPort: 8080 })]],
    ["127.0.0.1::80", [m({ hostIP: "127.0.0.1" })]],
    [":80", [m({})]],
    ["0:80", [m({})]],
    ["0.0.0.0:8080:80", [m({ hostPort: 8080 })]],
    ["[::1]:8080:80", [m({ hostIP: "::1", hostPort: 8080 })]],
    ["[::]:8080:80", [m({ hostIP: "::", hostPort: 8080 })]],
    ["[fd00:0::1]::80", [m({ hostIP: "fd00::1" })]],
    ["[127.0.0.1]:8080:80", [m({ hostIP: "127.0.0.1", hostPort: 8080 })]],
    ["53/udp", [m({ containerPort: 53, protocol: "udp" })]],
    ["5353:53/udp", [m({ hostPort: 5353, containerPort: 53, protocol: "udp" })]],
    ["9000/sctp", [m({ containerPort: 9000, protocol: "sctp" })]],
    ["80/TCP", [m({})]],
    ["8080:80/tcp,udp", [m({ hostPort: 8080 }), m({ hostPort: 8080, protocol: "udp" })]],
    ["53/udp,tcp,udp", [m({ containerPort: 53, protocol: "udp" }), m({ containerPort: 53, protocol: "tcp" })]],
    ["8080-8082:80-82", [m({ hostPort: 8080, range: 3 })]],
    ["80-82", [m({ range: 3 })]],
    ["0:80-82", [m({ range: 3 })]],
    ["127.0.0.1::80-82/udp", [m({ hostIP: "127.0.0.1", range: 3, protocol: "udp" })]],
    ["8080-8080:80-80", [m({ hostPort: 8080 })]],
    ["65535:65535", [m({ hostPort: 65535, containerPort: 65535 })]],
    ["1:1", [m({ hostPort: 1, containerPort: 1 })]],
    ["08080:080", [m({ hostPort: 8080 })]],
    ["65533-65535:1-3", [m({ hostPort: 65533, containerPort: 1, range: 3 })]],
  ])("%p", (spec, expected) => {
    expect(parsePortSpec(spec)).toEqual(expected);
    for (const mapping of expected) expect(v.safeParse(PortMapping, mapping).success).toBe(true);
  });

  test.each([
    ["", "missing container port"],
    ["/tcp", "missing container port"],
    ["8080:", "missing container port"],
    ["80/tcp/udp", "the protocol can only be given once"],
    ["80/", "empty protocol"],
    ["80/tcp,", "empty protocol"],
    ["80/icmp", 'unknown protocol "icmp" (expected tcp, udp or sctp)'],
    ["80/tcp,quic", 'unknown protocol "quic" (expected tcp, udp or sctp)'],
    ["x", 'invalid container port "x"'],
    ["80x", 'invalid container port "80x"'],
    ["-80", 'invalid container port "-80"'],
    ["80-", 'invalid container port "80-"'],
    ["80-81-82", 'invalid container port "80-81-82"'],
    ["+80", 'invalid container port "+80"'],
    [" 80", 'invalid container port " 80"'],
    ["100000", 'invalid container port "100000"'],
    ["0", "container port 0 is out of range (1-65535)"],
    ["65536", "container port 65536 is out of range (1-65535)"],
    ["8080:0", "container port 0 is out of range (1-65535)"],
    ["65535-65536", "container port 65536 is out of range (1-65535)"],
    ["82-80", "container port range 82-80 ends before it starts"],
    ["x:80", 'invalid host port "x"'],
    ["65536:80", "host port 65536 is out of range (0-65535)"],
    ["8082-8080:80-82", "host port range 8082-8080 ends before it starts"],
    ["0-2:80-82", "host port range 0-2 includes port 0"],
    ["80-82:90", "host and container port ranges differ in length (3 != 1)"],
    ["8080:80-82", "host and container port ranges differ in length (1 != 3)"],
    ["8080-8081:80-82", "host and container port ranges differ in length (2 != 3)"],
    [":8080:80", "empty host IP (leave out the IP and its colon to publish on every address)"],
    ["[]:8080:80", "empty host IP (leave out the IP and its colon to publish on every address)"],
    ["localhost:8080:80", 'invalid host IP "localhost"'],
    ["10.0.0.256:8080:80", 'invalid host IP "10.0.0.256"'],
    ["[fe80::1%eth0]:8080:80", 'invalid host IP "fe80::1%eth0"'],
    ["1:2:3:4", "expected [HOSTIP:][HOSTPORT:]CTRPORT, with an IPv6 HOSTIP in brackets"],
    ["::1:8080:80", "expected [HOSTIP:][HOSTPORT:]CTRPORT, with an IPv6 HOSTIP in brackets"],
    ["[::1:8080:80", "missing ] after the IPv6 host address"],
    ["::1]:8080:80", "an IPv6 host address must be in brackets, e.g. [::1]:8080:80"],
    ["[::1]8080:80", "expected : after the bracketed host address"],
    ["[::1]:80", "a host address must be followed by HOSTPORT:CTRPORT (HOSTPORT may be empty)"],
    ["[::1]:1:2:3", "a host address must be followed by HOSTPORT:CTRPORT (HOSTPORT may be empty)"],
    ["[::1]:8080:", "missing container port"],
  ])("rejects %p", (spec, reason) => {
    const err = usageError(() => parsePortSpec(spec));
    expect(err.message).toBe(`invalid port spec "${spec}": ${reason}`);
    expect(err.exitCode).toBe(2);
  });
});

describe("default_host_ips (CTRNET_DEFAULT_HOST_IPS)", () => {
  test("a value without a host address is published on each default one; one that names an address, 0.0.0.0 too, keeps it (bats: default_host_ips from containers.conf)", () => {
    const hostIPs = defaultHostIPs({ CTRNET_DEFAULT_HOST_IPS: "127.0.0.1,::1" });
    expect(hostIPs).toEqual(["127.0.0.1", "::1"]);
    expect(parsePortSpecs(["8080:80", "53/udp", "0.0.0.0:8081:80", "[::]:8082:80", "192.0.2.1::90"], hostIPs).map((m) => [m.hostIP, m.hostPort, m.protocol])).toEqual([
      ["127.0.0.1", 8080, "tcp"],
      ["::1", 8080, "tcp"],
      ["127.0.0.1", 0, "udp"],
      ["::1", 0, "udp"],
      ["", 8081, "tcp"],
      ["::", 8082, "tcp"],
      ["192.0.2.1", 0, "tcp"],
    ]);
    expect(parsePortSpecs(["8080:80"]).map((m) => m.hostIP)).toEqual([""]);
  });

  test("unset or empty: none; 0.0.0.0 is every address; a bad one exits 2 naming it", () => {
    expect(defaultHostIPs({})).toEqual([]);
    expect(defaultHostIPs({ CTRNET_DEFAULT_HOST_IPS: "" })).toEqual([]);
    expect(defaultHostIPs({ CTRNET_DEFAULT_HOST_IPS: "0.0.0.0,::" })).toEqual(["", "::"]);
    expect(() => defaultHostIPs({ CTRNET_DEFAULT_HOST_IPS: "127.0.0.1,nope" })).toThrow(new UsageError('invalid CTRNET_DEFAULT_HOST_IPS: "nope" is not an IP address'));
  });
});

describe("checkPortConflicts", () => {
  test.each([
    [["8080:80", "8081:80"]],
    [["8080:80", "8080:80/udp"]],
    [["8080:80/tcp,udp"]],
    [["127.0.0.1:8080:80", "127.0.0.2:8080:81"]],
    [["127.0.0.1:8080:80", "[::1]:8080:80"]],
    [["80", "80"]],
    [["8080-8082:80-82", "8083:83"]],
    [["0:80-82", "0:80-82"]],
  ])("accepts %p", (specs) => {
    expect(parsePortSpecs(specs).length).toBeGreaterThan(0);
  });

  test.each([
    [["8080:80", "8080:81"], "host port 0.0.0.0:8080/tcp is published twice"],
    [["8080:80/udp", "0.0.0.0:8080:81/udp"], "host port 0.0.0.0:8080/udp is published twice"],
    [["127.0.0.1:8080:80", "127.0.0.1:8080:81"], "host port 127.0.0.1:8080/tcp is published twice"],
    [["[::1]:8080:80", "[::1]:8080:81"], "host port [::1]:8080/tcp is published twice"],
    [["127.0.0.1:8080:80", "8080:81"], "host port 8080/tcp is published on both 127.0.0.1 and 0.0.0.0"],
    [["8080:80", "127.0.0.1:8080:81"], "host port 8080/tcp is published on both 0.0.0.0 and 127.0.0.1"],
    [["[::]:8080:80", "10.0.0.1:8080:81"], "host port 8080/tcp is published on both :: and 10.0.0.1"],
    [["8080-8082:80-82", "8082:90"], "host port 0.0.0.0:8082/tcp is published twice"],
    [["8080:80/tcp,udp", "8080:81/udp"], "host port 0.0.0.0:8080/udp is published twice"],
  ])("rejects %p", (specs, message) => {
    // podman's words first (e2e: ps test with invalid port range), then which
    const port = /(\d+)\/(tcp|udp|sctp)/.exec(message)!;
    expect(usageError(() => parsePortSpecs(specs)).message).toBe(`conflicting port mappings for host port ${port[1]} (protocol ${port[2]}): ${message}`);
  });

  test("mappings not parsed from specs are checked the same way", () => {
    expect(() => checkPortConflicts([m({ hostPort: 1, range: 10 }), m({ hostPort: 10, containerPort: 90 })])).toThrow(
      "conflicting port mappings for host port 10 (protocol tcp): host port 0.0.0.0:10/tcp is published twice",
    );
    expect(() => parsePortSpecs(["1000-2000:2000-3000", "1999-2999:3001-4001"])).toThrow("conflicting port mappings for host port 1999 (protocol tcp)");
  });
});

describe("toCniPortMappings", () => {
  test("one entry per port, in order", () => {
    expect(toCniPortMappings(parsePortSpecs(["127.0.0.1:8080-8082:80-82", "5353:53/tcp,udp"]))).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" },
      { hostPort: 8081, containerPort: 81, protocol: "tcp", hostIP: "127.0.0.1" },
      { hostPort: 8082, containerPort: 82, protocol: "tcp", hostIP: "127.0.0.1" },
      { hostPort: 5353, containerPort: 53, protocol: "tcp", hostIP: "" },
      { hostPort: 5353, containerPort: 53, protocol: "udp", hostIP: "" },
    ]);
  });

  test("no mappings, no entries", () => {
    expect(toCniPortMappings([])).toEqual([]);
  });

  test("a host port still to be chosen is a bug in the caller, not bad input", () => {
    let err: unknown;
    try {
      toCniPortMappings(parsePortSpec("80/udp"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CtrnetError);
    expect((err as Error).message).toBe("no host port has been chosen for container port 80/udp");
  });
});

describe("formatPort", () => {
  test.each([
    ["8080:80", "80/tcp -> 0.0.0.0:8080"],
    ["127.0.0.1:8080:80/udp", "80/udp -> 127.0.0.1:8080"],
    ["[::1]:8080:80", "80/tcp -> [::1]:8080"],
    ["[::]:8080:80/sctp", "80/sctp -> [::]:8080"],
    ["8080-8082:80-82", "80-82/tcp -> 0.0.0.0:8080-8082"],
    ["80", "80/tcp -> 0.0.0.0:0"],
    ["80-82", "80-82/tcp -> 0.0.0.0:0"],
  ])("%p", (spec, line) => {
    expect(formatPort(parsePortSpec(spec)[0]!)).toBe(line);
  });
});

describe("PortMapping schema", () => {
  test.each<[string, unknown, string | null]>([
    ["a parsed mapping", m({ hostPort: 8080 }), null],
    ["an IPv6 host", m({ hostIP: "fd00::1", hostPort: 8080 }), null],
    ["a full range", m({ hostPort: 65533, containerPort: 65533, range: 3 }), null],
    ["a non-canonical host IP", m({ hostIP: "FD00::1" }), "hostIP"],
    ["a bad host IP", m({ hostIP: "localhost" }), "hostIP"],
    ["container port 0", m({ containerPort: 0 }), "containerPort"],
    ["a fractional port", m({ hostPort: 80.5 }), "hostPort"],
    ["host port 65536", m({ hostPort: 65536 }), "hostPort"],
    ["range 0", m({ range: 0 }), "range"],
    ["an unknown protocol", { ...m({}), protocol: "icmp" }, "protocol"],
    ["a missing field", { hostIP: "", hostPort: 0, containerPort: 80, protocol: "tcp" }, "range"],
    ["a container range past 65535", m({ containerPort: 65535, range: 2 }), "the container port range ends past 65535"],
    ["a host range past 65535", m({ hostPort: 65535, range: 2 }), "the host port range ends past 65535"],
  ])("%s", (_, input, problem) => {
    const result = v.safeParse(PortMapping, input);
    expect(result.success).toBe(problem === null);
    if (!result.success) {
      const issue = result.issues[0];
      expect(v.getDotPath(issue) ?? issue.message).toBe(problem!);
    }
  });
});

describe("fromCniPortMappings", () => {
  test("joins the single ports of toCniPortMappings back into the ranges they came from", () => {
    const mappings = parsePortSpecs(["8080-8082:80-82", "127.0.0.1:53:53/udp", "9000:90/tcp,udp", "7000:70"]);
    const back = fromCniPortMappings(toCniPortMappings(mappings));
    const key = (m: PortMapping) => `${m.protocol} ${m.hostIP} ${m.hostPort}`;
    expect(back.sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...mappings].sort((a, b) => key(a).localeCompare(key(b))));
  });

  test("leaves out entries that are no port mapping", () => {
    expect(fromCniPortMappings([{ hostPort: "x" }, null, { hostPort: 80, containerPort: 80, protocol: "tcp" }])).toEqual([
      { hostIP: "", hostPort: 80, containerPort: 80, protocol: "tcp", range: 1 },
    ]);
  });
});

describe("--expose and -P", () => {
  test("PORT[-END][/PROTO], as podman reads it", () => {
    expect(parseExposeSpec("90")).toEqual({ containerPort: 90, protocol: "tcp", range: 1 });
    expect(parseExposeSpec("100-102/UDP")).toEqual({ containerPort: 100, protocol: "udp", range: 3 });
    expect(parseExposeSpec("90/")).toEqual({ containerPort: 90, protocol: "tcp", range: 1 });
    expect(parseExposeSpecs(["90", "90/tcp", "90/sctp"])).toEqual([
      { containerPort: 90, protocol: "tcp", range: 1 },
      { containerPort: 90, protocol: "sctp", range: 1 },
    ]);
  });

  test("bad values get podman's words, as usage errors", () => {
    expect(usageError(() => parseExposeSpec("abc")).message).toStartWith("invalid range format for --expose: abc");
    expect(usageError(() => parseExposeSpec("90/foo")).message).toBe('validating protocols for exposed port 90: unrecognized protocol "foo" in port mapping');
    expect(usageError(() => parseExposeSpec("0")).message).toBe("port numbers must be between 1 and 65535 (inclusive), got 0");
    expect(usageError(() => parseExposeSpec("70000")).message).toStartWith("invalid range format for --expose: 70000");
    expect(usageError(() => parseExposeSpec("5-3")).message).toBe("invalid range format for --expose: 5-3: Invalid range specified for the Port: 5-3");
    expect(usageError(() => parseExposeSpec("")).message).toStartWith("invalid range format for --expose: ");
    expect(usageError(() => parseExposeSpec("/tcp")).message).toBe("invalid range format for --expose: /tcp: Empty string specified for ports.");
  });

  test("-P: each exposed port no -p covers gets its own free host port (0 until chosen)", () => {
    const published = parsePortSpecs(["8080:80", "9000-9001:100-101/udp"]);
    const exposed = parseExposeSpecs(["80", "90", "100-102/udp", "80/udp"]);
    expect(publishAllMappings(exposed, published)).toEqual([
      { hostIP: "", hostPort: 0, containerPort: 90, protocol: "tcp", range: 1 },
      { hostIP: "", hostPort: 0, containerPort: 102, protocol: "udp", range: 1 },
      { hostIP: "", hostPort: 0, containerPort: 80, protocol: "udp", range: 1 },
    ]);
    expect(publishAllMappings([], published)).toEqual([]);
  });
});

describe("psPortsText (ls's Ports, as podman ps's PORTS)", () => {
  const tcp = (hostPort: number, containerPort: number, range = 1, hostIP = ""): PortMapping => ({ hostIP, hostPort, containerPort, protocol: "tcp", range });
  test("published ports as HOSTIP:HOST->CTR/PROTO, ranges whole, IPv6 bare; each address's and protocol's by host port, as podman's", () => {
    expect(psPortsText([tcp(46650, 80), tcp(8280, 8280, 3), { ...tcp(8780, 80, 1, "::1"), protocol: "udp" }])).toBe(
      "0.0.0.0:8280-8282->8280-8282/tcp, 0.0.0.0:46650->80/tcp, ::1:8780->80/udp",
    );
    // e2e: ps test with multiple port range
    expect(psPortsText([tcp(3000, 3000, 2), tcp(3100, 4000, 3), tcp(30080, 30080), tcp(30443, 30443), tcp(8000, 8080)])).toBe(
      "0.0.0.0:3000-3001->3000-3001/tcp, 0.0.0.0:3100-3102->4000-4002/tcp, 0.0.0.0:8000->8080/tcp, 0.0.0.0:30080->30080/tcp, 0.0.0.0:30443->30443/tcp",
    );
  });
  test("exposed ports nothing publishes follow, by protocol and number, consecutive ones joined", () => {
    expect(psPortsText([], [{ containerPort: 1000, protocol: "tcp", range: 9000 }])).toBe("1000-9999/tcp");
    expect(
      psPortsText([tcp(5000, 80)], [
        { containerPort: 80, protocol: "tcp", range: 1 },
        { containerPort: 90, protocol: "udp", range: 1 },
        { containerPort: 82, protocol: "tcp", range: 1 },
        { containerPort: 81, protocol: "tcp", range: 1 },
        { containerPort: 85, protocol: "tcp", range: 1 },
      ]),
    ).toBe("0.0.0.0:5000->80/tcp, 81-82/tcp, 85/tcp, 90/udp");
    expect(psPortsText([])).toBe("");
  });
});
