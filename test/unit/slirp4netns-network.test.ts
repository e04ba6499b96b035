import { describe, expect, test } from "bun:test";
import { forwarderPorts, hostFwds, slirp4netnsAddressesOf } from "../../src/drivers/slirp4netns/network.ts";
import { slirp4netnsDriver } from "../../src/drivers/slirp4netns/driver.ts";
import { networkSettings } from "../../src/lifecycle/inspect-format.ts";
import { newContainerRecord } from "../../src/container/attachments.ts";
import { parsePortSpecs } from "../../src/schema/ports.ts";

describe("slirp4netns container network", () => {
  test("addresses follow cidr: tap + 100, gateway + 2, dns + 3", () => {
    expect(slirp4netnsAddressesOf([])).toEqual({ ip: "10.0.2.100", prefixLength: 24, gateway: "10.0.2.2", dns: "10.0.2.3" });
    expect(slirp4netnsAddressesOf(["cidr=10.42.7.0/24"])).toMatchObject({ ip: "10.42.7.100", dns: "10.42.7.3" });
  });

  test("the forwarder takes ranges whole; an empty host IP stays empty (the forwarder listens on both families for it, as podman's rootlessport)", () => {
    expect(forwarderPorts(parsePortSpecs(["8080-8082:80-82", "[::1]:53:53/udp"]))).toEqual([
      { hostIP: "", hostPort: 8080, containerPort: 80, protocol: "tcp", range: 3 },
      { hostIP: "::1", hostPort: 53, containerPort: 53, protocol: "udp", range: 1 },
    ]);
  });

  test("add_hostfwd gets one request per port, to the tap's address", () => {
    expect(hostFwds(parsePortSpecs(["127.0.0.1:9000-9001:90-91/tcp,udp"]), "10.0.2.100")).toEqual([
      { proto: "tcp", hostIP: "127.0.0.1", hostPort: 9000, guestIP: "10.0.2.100", guestPort: 90 },
      { proto: "tcp", hostIP: "127.0.0.1", hostPort: 9001, guestIP: "10.0.2.100", guestPort: 91 },
      { proto: "udp", hostIP: "127.0.0.1", hostPort: 9000, guestIP: "10.0.2.100", guestPort: 90 },
      { proto: "udp", hostIP: "127.0.0.1", hostPort: 9001, guestIP: "10.0.2.100", guestPort: 91 },
    ]);
  });

  test("sctp is refused by both handlers", () => {
    const sctp = parsePortSpecs(["9:9/sctp"]);
    expect(() => forwarderPorts(sctp)).toThrow("9/sctp");
    expect(() => hostFwds(sctp, "10.0.2.100")).toThrow("9/sctp");
  });

  test("inspect shows the tap's address and gateway, the ports and the netns", () => {
    const rec = {
      ...newContainerRecord({ id: "c", mode: { kind: "slirp4netns", options: ["cidr=10.42.7.0/24"] }, netns: { path: "/run/netns/x", owned: true } }),
      ports: parsePortSpecs(["127.0.0.1:8080:80"]),
    };
    // what inspect.ts gives it: the status the driver knows from the cidr option
    const view = { status: slirp4netnsDriver(["cidr=10.42.7.0/24"], "/nonexistent").fixedStatus!(rec) };
    expect(networkSettings(rec, view)).toMatchObject({
      IPAddress: "10.42.7.100",
      IPPrefixLen: 24,
      Gateway: "10.42.7.2",
      MacAddress: "",
      SandboxKey: "/run/netns/x",
      Ports: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] },
    });
    expect(networkSettings(rec, view).Networks).toBeUndefined();
  });
});
