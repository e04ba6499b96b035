// Third pass over podman's networking tests (test/system/500-networking.bats, test/e2e/network*_test.go),
// as ctrnet commands through the compiled binary on real networks: /etc/hosts in podman 5's layout
// (containers/common etchosts), podman's error words for networks that are missing or in use, network
// create's validation in podman's order and no stricter than podman's.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("podman parity, third pass", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("pp3");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  test("/etc/hosts as podman 5 writes it: --add-host first, localhost, host.containers.internal with host.docker.internal, the container's own; a name taken by --add-host is not written again", () => {
    const name = `hs-${hex(3)}`;
    const lines = inst.ok(["run", "--network", net.name, "--name", name, "--add-host", "db.local:192.0.2.9", "--", "cat", "/etc/hosts"]).trimEnd().split("\n");
    expect(lines[0]).toBe("192.0.2.9\tdb.local");
    expect(lines.slice(1).findIndex((l) => /^127\.0\.0\.1\s+localhost/.test(l))).toBe(0);
    const gateway = lines.findIndex((l) => l === `${net.prefix}.1\thost.containers.internal host.docker.internal`);
    const own = lines.findIndex((l) => new RegExp(`^${net.prefix.replaceAll(".", "\\.")}\\.\\d+\\t${name} [0-9a-f]{12}$`).test(l));
    expect(gateway).toBeGreaterThan(1);
    expect(own).toBe(gateway + 1);
    expect(own).toBe(lines.length - 1);
    // bats "podman run --add-host": the container named as an --add-host line names nothing more
    const taken = inst.ok(["run", "--network", net.name, "--name", "db.local", "--hostname", "db.local", "--add-host", "db.local:192.0.2.9", "--", "cat", "/etc/hosts"]);
    expect(taken.match(/db\.local/g)).toHaveLength(1);
    // --network host: the host is 127.0.0.1, by both names
    expect(inst.ok(["run", "--network", "host", "--", "cat", "/etc/hosts"])).toMatch(/^127\.0\.0\.1\thost\.containers\.internal host\.docker\.internal$/m);
  });
});
