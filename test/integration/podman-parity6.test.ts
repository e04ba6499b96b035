// Sixth pass over podman's system tests (test/system/500-networking.bats), as ctrnet commands run by root
// through the compiled binary on a real network: a published port range (bats "podman run port forward
// range"), network rm --force of a missing and a real network. The rootless cases are in
// test/rootless/podman-parity6.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePorts } from "../helpers/http.ts";
import { hex, Installation, privileged, run, type TestNetwork } from "./lifecycle-helpers.ts";

const runnable = privileged && ["socat", "busybox"].every((p) => Bun.which(p) !== null);

describe.skipIf(!runnable)("podman parity, sixth pass", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("pp6");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  test("bats 'podman run port forward range': the host ports are taken while the container lives (socat's bind fails, Address already in use), and each port of the range reaches its own server", async () => {
    const first = freePorts(3);
    const range = `${first}-${first + 2}`;
    const id = `pr-${hex(4)}`;
    const netns = inst.ok(["create", "--network", net.name, "-p", `${range}:${range}`, id]).trim();
    const bind = run(["timeout", "5", "socat", `TCP-LISTEN:${first},bind=127.0.0.1,fork`, "-"]);
    expect(bind.ok).toBe(false);
    expect(bind.out).toMatch(new RegExp(`127\\.0\\.0\\.1:${first}.* Address already in use`));
    for (let port = first; port <= first + 2; port++) {
      const server = Bun.spawn(["nsenter", `--net=${netns}`, "busybox", "nc", "-l", "-p", String(port), "-e", "/bin/cat"], { stdout: "ignore", stderr: "ignore" });
      try {
        let echoed = "";
        for (const end = Date.now() + 10_000; echoed === "" && Date.now() < end; await Bun.sleep(200)) {
          const client = Bun.spawn(["socat", "-T", "2", "-", `TCP:127.0.0.1:${port}`], { stdin: new Blob([`through ${port}\n`]), stdout: "pipe", stderr: "ignore" });
          echoed = await new Response(client.stdout).text();
          await client.exited;
        }
        expect(echoed).toBe(`through ${port}\n`);
      } finally {
        server.kill();
        await server.exited;
      }
    }
  });

  test("bats 'podman network rm --force bogus': a missing network alone is silent; beside a real one only the real one is printed", () => {
    const bogus = `bogus-${hex(3)}`;
    const missing = inst.cli(["network", "rm", bogus]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`unable to find network with name or ID ${bogus}: network not found`);
    expect(inst.cli(["network", "rm", "-t", "-1", "--force", bogus])).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const real = `real-${hex(3)}`;
    inst.ok(["network", "create", real]);
    expect(inst.cli(["network", "rm", "--force", bogus, real])).toMatchObject({ code: 0, stdout: `${real}\n`, stderr: "" });
    expect(inst.ok(["network", "ls", "-q"])).not.toContain(real);
  });

  test("bats 'default_host_ips from containers.conf' (CTRNET_DEFAULT_HOST_IPS): a port without a host address is bound to those only, an explicit 0.0.0.0 stays; a bad value exits 2", async () => {
    const port = freePorts(1);
    const id = `dh-${hex(4)}`;
    inst.env.CTRNET_DEFAULT_HOST_IPS = "127.0.0.1,::1";
    try {
      inst.ok(["create", "--network", net.name, "-p", `${port}:80`, id]);
      const bindings = inst.ok(["inspect", id, "--format", "{{.HostConfig.PortBindings}}"]);
      expect(bindings).toContain(`{127.0.0.1 ${port}}`);
      expect(bindings).toContain(`{::1 ${port}}`);
      expect(inst.ok(["port", id])).toBe(`80/tcp -> 127.0.0.1:${port}\n80/tcp -> [::1]:${port}\n`);
      inst.ok(["rm", id]);
      inst.ok(["create", "--network", net.name, "-p", `0.0.0.0:${port}:80`, id]);
      expect(inst.ok(["inspect", id, "--format", "{{.HostConfig.PortBindings}}"])).toContain(`{0.0.0.0 ${port}}`);
      inst.ok(["rm", id]);
      inst.env.CTRNET_DEFAULT_HOST_IPS = "127.0.0.1,nope";
      const bad = inst.cli(["create", "--network", net.name, "-p", `${port}:80`, id]);
      expect(bad).toMatchObject({ code: 2, stderr: 'ctrnet: error: invalid CTRNET_DEFAULT_HOST_IPS: "nope" is not an IP address\n' });
    } finally {
      delete inst.env.CTRNET_DEFAULT_HOST_IPS;
    }
  });

  test("bats 'CONTAINERS_CONF_OVERRIDE /etc/hosts options' (CTRNET_BASE_HOSTS_FILE, CTRNET_HOST_CONTAINERS_INTERNAL_IP): the base file's entries, localhost, the configured host address; a container named as a base entry adds no line of its own", () => {
    const base = join(inst.dir, "base-hosts");
    writeFileSync(base, "172.20.60.7 host1\n172.20.61.8 host2 #some comment\n");
    inst.env.CTRNET_BASE_HOSTS_FILE = base;
    inst.env.CTRNET_HOST_CONTAINERS_INTERNAL_IP = "172.20.62.9";
    try {
      const lines = inst.ok(["run", "--rm", "--network", net.name, "--add-host", "host3:172.20.63.1", "--", "cat", "/etc/hosts"]).trimEnd().split("\n");
      expect(lines.slice(0, 6)).toEqual([
        "172.20.63.1\thost3",
        "172.20.60.7\thost1",
        "172.20.61.8\thost2",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost",
        "172.20.62.9\thost.containers.internal host.docker.internal",
      ]);
      expect(lines).toHaveLength(7);
      const named = inst.ok(["run", "--rm", "--network", net.name, "--name", "host1", "--hostname", "host1", "--", "cat", "/etc/hosts"]).trimEnd().split("\n");
      expect(named).toHaveLength(5);
      expect(named).toContain("172.20.62.9\thost.containers.internal host.docker.internal");
      // none: no entry; a bad value or an unreadable file exits 2, nothing made
      inst.env.CTRNET_HOST_CONTAINERS_INTERNAL_IP = "none";
      expect(inst.ok(["run", "--rm", "--network", net.name, "--", "cat", "/etc/hosts"])).not.toContain("host.containers.internal");
      inst.env.CTRNET_HOST_CONTAINERS_INTERNAL_IP = "bad";
      expect(inst.cli(["create", "--network", net.name, `hci-${hex(3)}`])).toMatchObject({ code: 2, stderr: 'ctrnet: error: invalid CTRNET_HOST_CONTAINERS_INTERNAL_IP "bad": expected an IP address or none\n' });
      delete inst.env.CTRNET_HOST_CONTAINERS_INTERNAL_IP;
      inst.env.CTRNET_BASE_HOSTS_FILE = join(inst.dir, "nope");
      expect(inst.cli(["create", "--network", net.name, `bh-${hex(3)}`])).toMatchObject({ code: 2, stderr: `ctrnet: error: cannot read CTRNET_BASE_HOSTS_FILE ${join(inst.dir, "nope")}: no such file\n` });
    } finally {
      delete inst.env.CTRNET_BASE_HOSTS_FILE;
      delete inst.env.CTRNET_HOST_CONTAINERS_INTERNAL_IP;
    }
  });

  test("bats 'CONTAINERS_CONF_OVERRIDE dns options' (CTRNET_DNS_SERVERS, CTRNET_DNS_SEARCHES): search first, the servers in order; on a DNS network only its server (they are its upstreams); --dns with --network host still named; a bad value exits 2 naming the variable", () => {
    const dnsNet = `dn-${hex(3)}`;
    inst.ok(["network", "create", "--subnet", "172.20.71.0/24", dnsNet]);
    inst.env.CTRNET_DNS_SEARCHES = "example.com";
    inst.env.CTRNET_DNS_SERVERS = "1.1.1.1,100.100.100.100,1.0.0.1,8.8.8.8";
    try {
      expect(inst.ok(["run", "--rm", "--network", net.name, "--", "cat", "/etc/resolv.conf"])).toBe(
        "search example.com\nnameserver 1.1.1.1\nnameserver 100.100.100.100\nnameserver 1.0.0.1\nnameserver 8.8.8.8\n",
      );
      expect(inst.ok(["run", "--rm", "--network", dnsNet, "--", "cat", "/etc/resolv.conf"])).toBe("search example.com\nnameserver 172.20.71.1\n");
      delete inst.env.CTRNET_DNS_SEARCHES;
      delete inst.env.CTRNET_DNS_SERVERS;
      expect(inst.ok(["run", "--rm", "--network", dnsNet, "--", "cat", "/etc/resolv.conf"])).toMatch(/^nameserver 172\.20\.71\.1$/m);
      expect(inst.ok(["run", "--rm", "--network", "host", "--dns", "1.1.1.1", "--", "cat", "/etc/resolv.conf"])).toMatch(/^nameserver 1\.1\.1\.1$/m);
      inst.env.CTRNET_DNS_SERVERS = "bogus";
      expect(inst.cli(["run", "--rm", "--network", net.name, "--", "true"])).toMatchObject({
        code: 2,
        stderr: 'ctrnet: error: CTRNET_DNS_SERVERS, CTRNET_DNS_SEARCHES or CTRNET_DNS_OPTIONS: invalid --dns "bogus": bogus is not an ip address\n',
      });
    } finally {
      delete inst.env.CTRNET_DNS_SEARCHES;
      delete inst.env.CTRNET_DNS_SERVERS;
      inst.ok(["network", "rm", "-f", dnsNet]);
    }
  });
});
