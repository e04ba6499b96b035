// Sixth pass over podman's system tests (test/system/500-networking.bats, 505-networking-pasta.bats), as
// ctrnet commands run by the unprivileged test user: the rootless netns's pasta with containers.conf's
// pasta_options, a loopback client of a rootless bridge's published port as podman's rootlessport shows it,
// `unshare --rootless-netns`.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../helpers/http.ts";
import { ctrnetAsUser, readUntil, rootlessUser, spawnCtrnetAsUser, stopPause, userProcesses } from "../helpers/rootless.ts";
import { addUplink, UPLINK } from "../helpers/uplink.ts";

const runnable = process.getuid?.() === 0 && ["pasta", "slirp4netns", "nc", "socat"].every((p) => Bun.which(p) !== null);
const PASTA = { CTRNET_ROOTLESS_NETWORK_CMD: "pasta" };
const NET = "pp6net";
const SUBNET_PREFIX = "172.20.61";

describe.skipIf(!runnable)("podman parity, sixth pass (rootless)", () => {
  let removeUplink: () => void;

  function ok(args: string[], env?: Record<string, string>): string {
    const r = ctrnetAsUser(args, { env });
    if (r.code !== 0) throw new Error(`ctrnet ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  const netnsFile = () => join(rootlessUser().runtimeDir, "netns", "rootless-netns");
  const wayOuts = () => userProcesses().filter((p) => /pasta|slirp4netns/.test(p.args) && p.args.includes("rootless-netns"));

  beforeAll(async () => {
    rootlessUser();
    await stopPause();
    removeUplink = addUplink();
    ok(["network", "create", "--subnet", `${SUBNET_PREFIX}.0/24`, NET]);
  });

  afterEach(() => {
    // nothing of the rootless netns outlives the commands that used it
    expect(wayOuts()).toEqual([]);
    expect(existsSync(netnsFile())).toBe(false);
  });

  afterAll(async () => {
    ctrnetAsUser(["network", "rm", "-f", NET]);
    await stopPause();
    removeUplink();
    expect(userProcesses()).toEqual([]);
  });

  test("the rootless netns's pasta takes CTRNET_PASTA_OPTIONS (podman's pasta_options, which its rootless netns's pasta gets too); CTRNET_ROOTLESS_NETNS_OPTIONS come after them and win", () => {
    const id = "pp6-opts";
    ok(["create", "--network", NET, id], { ...PASTA, CTRNET_PASTA_OPTIONS: "-I,cfgif0,--ns-mac-addr,9a:dd:31:ea:92:98" });
    try {
      const links = ok(["rootless-netns", "enter", "--", "ip", "-o", "link", "show", "cfgif0"], PASTA);
      expect(links).toContain("link/ether 9a:dd:31:ea:92:98 ");
    } finally {
      ok(["rm", id]);
    }
    ok(["create", "--network", NET, id], { ...PASTA, CTRNET_PASTA_OPTIONS: "-I,cfgif0,--ns-mac-addr,9a:dd:31:ea:92:98", CTRNET_ROOTLESS_NETNS_OPTIONS: "--ns-mac-addr,aa:bb:cc:dd:ee:ff" });
    try {
      const links = ok(["rootless-netns", "enter", "--", "ip", "-o", "link", "show", "cfgif0"], PASTA);
      expect(links).toContain("link/ether aa:bb:cc:dd:ee:ff ");
    } finally {
      ok(["rm", id]);
    }
  });

  test.each([["slirp4netns", {}], ["pasta", PASTA]] as const)(
    "bats 'podman network create': a client on the host's loopback reaches a rootless bridge container's port from the bridge's gateway (podman's rootlessport), behind %s",
    async (_, env) => {
      const port = freePorts(1);
      const server = spawnCtrnetAsUser(["run", "--network", NET, "-p", `127.0.0.1:${port}:${port}`, "--", "nc", "-l", "-n", "-v", "-p", String(port)], { env });
      try {
        const said = await readUntil(server.stderr, "Listening on");
        for (const end = Date.now() + 20_000; ; await Bun.sleep(100)) {
          const nc = Bun.spawn(["nc", "-N", "-w", "2", "127.0.0.1", String(port)], { stdin: new Blob(["teststring\n"]), stdout: "ignore", stderr: "ignore" });
          if ((await nc.exited) === 0) break;
          if (Date.now() > end) throw new Error(`nothing accepted on 127.0.0.1:${port}`);
        }
        // nc -l serves one client and exits
        expect(await server.exited).toBe(0);
        expect(await said.rest()).toMatch(new RegExp(`Connection received on ${SUBNET_PREFIX.replaceAll(".", "\\.")}\\.1 \\d+`));
        expect(await new Response(server.stdout).text()).toBe("teststring\n");
      } finally {
        server.kill("SIGTERM");
        await server.exited;
      }
    },
    60_000,
  );

  test("bats 'Podman unshare --rootless-netns with Pasta': a pasta that fails is podman's 'pasta failed with exit code 1', exit 125, nothing left; then the namespace is made for the command (the host's interface inside), and gone after it", () => {
    const fake = mkdtempSync(join(tmpdir(), "ctrnet-pp6-"));
    try {
      chmodSync(fake, 0o755);
      symlinkSync("/usr/bin/false", join(fake, "pasta"));
      const failed = ctrnetAsUser(["unshare", "--rootless-netns", "ip", "addr"], { env: { ...PASTA, PATH: `${fake}:/usr/sbin:/usr/bin:/sbin:/bin` } });
      expect(failed.stderr).toContain("pasta failed with exit code 1");
      expect(failed.code).toBe(125);
      expect(existsSync(netnsFile())).toBe(false);
      // a container's run on a bridge network fails the same way, in one line: its undo makes no namespace
      // again (nothing of its ADD exists to delete), so it does not fail a second time
      const run = ctrnetAsUser(["run", "--network", NET, "--", "true"], { env: { ...PASTA, PATH: `${fake}:/usr/sbin:/usr/bin:/sbin:/bin` } });
      expect(run.code).toBe(125);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toContain("pasta failed with exit code 1");
      expect(run.stderr).not.toContain("failed too");
      expect(ok(["ls", "-a", "-q"])).toBe("");
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
    const inside = ctrnetAsUser(["unshare", "--rootless-netns", "ip", "addr"], { env: PASTA });
    expect(inside.stderr).toBe("");
    expect(inside.code).toBe(0);
    expect(inside.stdout).toContain(`: ${UPLINK.name}: `);
    expect(inside.stdout).toContain(`inet ${UPLINK.ipv4}/${UPLINK.prefix4}`);
    // the command's own status, as podman unshare; a command that is not there is 127
    expect(ctrnetAsUser(["unshare", "--rootless-netns", "--", "sh", "-c", "exit 3"]).code).toBe(3);
    expect(ctrnetAsUser(["unshare", "--rootless-netns", "nosuchcommand"]).code).toBe(127);
  });

  test("unshare --rootless-netns joins the namespace a container has (its bridge inside), and keeps it while it runs though the last container goes (podman's ref count)", async () => {
    const id = "pp6-ref";
    ok(["create", "--network", NET, id]);
    const dir = mkdtempSync(join(tmpdir(), "ctrnet-pp6-"));
    chmodSync(dir, 0o755);
    const flag = join(dir, "go");
    const shell = spawnCtrnetAsUser(["unshare", "--rootless-netns", "--", "sh", "-c", `ip -o -4 addr show; until [ -e ${flag} ]; do sleep 0.05; done; ip -o -4 addr show`]);
    try {
      const first = await readUntil(shell.stdout, `${SUBNET_PREFIX}.1/24`);
      expect(first.text).toContain("inet 10.0.2.100/24");
      ok(["rm", id]);
      expect(existsSync(netnsFile())).toBe(true);
      writeFileSync(flag, "");
      expect(await shell.exited).toBe(0);
      expect(await first.rest()).toContain("inet 10.0.2.100/24");
    } finally {
      writeFileSync(flag, "");
      await shell.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("bats 'podman run --network=host uses localhost for host.containers.internal' as the user: no warning (the host's /sys cannot be mounted by the user, nor needs to be)", () => {
    const r = ctrnetAsUser(["run", "--rm", "--network", "host", "--", "cat", "/etc/hosts"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^127\.0\.0\.1\s.*host\.containers\.internal/m);
  });

  test.each([["a rootless bridge network", ["--network", NET]], ["slirp4netns", ["--network", "slirp4netns"]]] as const)(
    "a port without a host address on %s listens on both families, as podman's rootlessport (Go's dual-stack wildcard): an IPv6 client reaches an IPv4-only container, over TCP and UDP",
    async (_, network) => {
      const port = freePorts(1);
      for (const [proto, listen, connect] of [
        ["tcp", "TCP6-LISTEN:80,ipv6only=0", `TCP6:[${UPLINK.ipv6}]:${port}`],
        ["udp", "UDP6-LISTEN:80,ipv6only=0,null-eof", `UDP6:[${UPLINK.ipv6}]:${port},shut-null`],
      ] as const) {
        const server = spawnCtrnetAsUser(["run", ...network, "-p", `${port}:80/${proto}`, "--", "timeout", "20", "socat", "-u", listen, "STDOUT"]);
        try {
          // clients until the server has one (it serves one and exits): the forwarder listens before it does
          let served = false;
          const got = readUntil(server.stdout, `over ${proto}\n`).finally(() => (served = true));
          for (const end = Date.now() + 20_000; !served; await Bun.sleep(200)) {
            if (Date.now() > end) throw new Error(`nothing served on [${UPLINK.ipv6}]:${port}/${proto}`);
            await Bun.spawn(["socat", "-u", "-", connect], { stdin: new Blob([`over ${proto}\n`]), stdout: "ignore", stderr: "ignore" }).exited;
          }
          expect((await got).text).toContain(`over ${proto}\n`);
        } finally {
          server.kill("SIGTERM");
          await server.exited;
        }
      }
      const id = "pp6-port";
      ok(["create", ...network, "-p", `${port}:80`, id]);
      try {
        // shown as podman shows it
        expect(ok(["port", id])).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
      } finally {
        ok(["rm", id]);
      }
    },
    60_000,
  );
});
