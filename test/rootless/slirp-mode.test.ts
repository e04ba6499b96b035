// Issue 5's "done when", as the unprivileged test user: slirp4netns is the rootless default; published
// ports (both port handlers, ranges), the tap and resolv.conf for a cidr, the peer address a server sees,
// host loopback, bad options, a port in use; and afterwards nothing of the user's is left but the pause
// process, which `ctrnet gc` then stops too.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ctrnetAsUser, pausePid, rootlessUser, spawnCtrnetAsUser, stopPause, userProcesses, userSite, waitGone } from "../helpers/rootless.ts";
import { freePorts, httpdUntil, untilServed } from "../helpers/http.ts";

const runnable = process.getuid?.() === 0 && ["slirp4netns", "socat", "curl", "busybox"].every((p) => Bun.which(p) !== null);
const ASYNC_TEST_TIMEOUT_MS = 60_000;
const HANDLERS = ["rootlesskit", "slirp4netns"] as const;

describe.skipIf(!runnable)("slirp4netns as a rootless user", () => {
  let tmp: string;
  let www: string;
  /** The user's own: a command that runs can write here. */
  let scratch: string;

  beforeAll(async () => {
    rootlessUser();
    await stopPause();
    // the user reads the site and the flags, and writes nothing here
    ({ dir: tmp, www, scratch } = userSite("ctrnet-rootless-slirp-", "served rootless\n"));
  });

  beforeEach(() => {
    expect(userProcesses().filter((p) => !p.args.endsWith(" _pause"))).toEqual([]);
  });

  afterAll(async () => {
    await stopPause();
    rmSync(tmp, { recursive: true, force: true });
    expect(userProcesses()).toEqual([]);
  });

  let flags = 0;
  function flag(): { path: string; raise: () => void } {
    const path = join(tmp, `flag-${flags++}`);
    return { path, raise: () => writeFileSync(path, "") };
  }

  /** The user's processes other than the pause process: none once a command has finished. */
  const others = () => userProcesses().filter((p) => p.args !== `${rootlessUser().binary} _pause`);

  test("the default network is slirp4netns: tap0 at 10.0.2.100", () => {
    const r = ctrnetAsUser(["run", "--", "ip", "-4", "-o", "addr", "show", "tap0"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("inet 10.0.2.100/24");
  });

  test("inspect names the default mode in Networks, as podman's (bats: inspect list networks); port of an unknown container exits 1", () => {
    const id = `sl-inspect-${process.pid}`;
    const made = ctrnetAsUser(["create", id]);
    expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: "" });
    try {
      const networks = ctrnetAsUser(["inspect", "--format", "{{.NetworkSettings.Networks}}", id]);
      expect(networks.stdout).toMatch(/^map\[slirp4netns:/);
      const port = ctrnetAsUser(["port", "nope"]);
      expect({ code: port.code, stderr: port.stderr }).toEqual({ code: 1, stderr: 'ctrnet: error: no container with name or ID "nope" found: no such container\n' });
    } finally {
      expect(ctrnetAsUser(["rm", id]).code).toBe(0);
    }
  });

  test("cidr: tap0 gets cidr + 100, resolv.conf names cidr + 3", () => {
    const r = ctrnetAsUser(["run", "--network", "slirp4netns:cidr=10.42.7.0/24", "--", "sh", "-c", "ip addr; cat /etc/resolv.conf"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inet 10\.42\.7\.100\/24 .*tap0/);
    expect(r.stdout).toContain("nameserver 10.42.7.3\n");
  });

  for (const handler of HANDLERS) {
    const network = handler === "rootlesskit" ? [] : ["--network", "slirp4netns:port_handler=slirp4netns"];

    test(
      `port_handler=${handler}: busybox httpd serves a file on the published port`,
      async () => {
        const port = freePorts(1);
        const done = flag();
        const run = spawnCtrnetAsUser(["run", ...network, "-p", `127.0.0.1:${port}:80`, "--", ...httpdUntil([80], done.path, www)]);
        try {
          expect(await untilServed(port, run)).toBe("served rootless\n");
        } finally {
          done.raise();
        }
        expect(await run.exited).toBe(0);
        expect(await new Response(run.stderr).text()).toBe("");
        expect(others()).toEqual([]);
      },
      ASYNC_TEST_TIMEOUT_MS,
    );

    test(
      `port_handler=${handler}: -P publishes an --expose port on a free host port, which port --all shows`,
      async () => {
        const done = flag();
        const run = spawnCtrnetAsUser(["run", ...network, "-P", "--expose", "80", "--", ...httpdUntil([80], done.path, www)]);
        try {
          let port = 0;
          for (const end = Date.now() + 20_000; port === 0 && Date.now() < end; await Bun.sleep(50)) {
            const line = ctrnetAsUser(["port", "--all"]).stdout.split("\n").find((l) => l.includes("80/tcp -> 0.0.0.0:"));
            port = line === undefined ? 0 : Number(line.split(":").at(-1));
          }
          expect(port).toBeGreaterThan(1023);
          expect(await untilServed(port, run)).toBe("served rootless\n");
        } finally {
          done.raise();
        }
        expect(await run.exited).toBe(0);
        expect(await new Response(run.stderr).text()).toBe("");
        expect(others()).toEqual([]);
      },
      ASYNC_TEST_TIMEOUT_MS,
    );

    test(
      `port_handler=${handler}: a 3-port range`,
      async () => {
        const base = freePorts(3);
        const done = flag();
        const run = spawnCtrnetAsUser(["run", ...network, "-p", `127.0.0.1:${base}-${base + 2}:8080-8082`, "--", ...httpdUntil([8080, 8081, 8082], done.path, www)]);
        try {
          for (let i = 0; i < 3; i++) expect(await untilServed(base + i, run)).toBe("served rootless\n");
        } finally {
          done.raise();
        }
        expect(await run.exited).toBe(0);
        expect(others()).toEqual([]);
      },
      ASYNC_TEST_TIMEOUT_MS,
    );

    test(
      `port_handler=${handler}: a port in use is refused before anything is made`,
      async () => {
        const port = freePorts(1);
        const taken = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
        const marker = join(scratch, `ran-${flags++}`);
        try {
          const r = ctrnetAsUser(["run", ...network, "-p", `127.0.0.1:${port}:80`, "--", "touch", marker]);
          expect(r.code).toBe(2);
          expect(r.stderr).toContain(`listen tcp4 127.0.0.1:${port}: bind: address already in use`);
        } finally {
          taken.stop(true);
        }
        expect(existsSync(marker)).toBe(false);
        expect(others()).toEqual([]);
      },
      ASYNC_TEST_TIMEOUT_MS,
    );
  }

  test(
    "a server inside sees a client address that is not 127.0.0.1",
    async () => {
      const port = freePorts(1);
      const run = spawnCtrnetAsUser(["run", "-p", `127.0.0.1:${port}:80`, "--", "socat", "TCP-LISTEN:80", "SYSTEM:echo $SOCAT_PEERADDR"]);
      let peer = "";
      const deadline = Date.now() + 20_000;
      while (peer === "" && run.exitCode === null && Date.now() < deadline) {
        const client = Bun.spawn(["socat", "-u", `TCP:127.0.0.1:${port}`, "-"], { stdout: "pipe", stderr: "ignore" });
        peer = (await new Response(client.stdout).text()).trim();
        await client.exited;
        if (peer === "") await Bun.sleep(50);
      }
      expect(await run.exited).toBe(0);
      expect(peer).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(peer).not.toBe("127.0.0.1");
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "allow_host_loopback=true reaches the host's 127.0.0.1 through 10.0.2.2; without it, it cannot",
    async () => {
      const port = freePorts(1);
      const server = Bun.listen({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            s.end("hello from the host\n");
          },
          data() {},
        },
      });
      const fetchHost = async (network: string) => {
        const run = spawnCtrnetAsUser(["run", "--network", network, "--", "socat", "-u", `TCP:10.0.2.2:${port},connect-timeout=3`, "-"]);
        return { out: await new Response(run.stdout).text(), code: await run.exited };
      };
      try {
        expect(await fetchHost("slirp4netns:allow_host_loopback=true")).toEqual({ out: "hello from the host\n", code: 0 });
        const denied = await fetchHost("slirp4netns");
        expect(denied.out).toBe("");
        expect(denied.code).not.toBe(0);
      } finally {
        server.stop(true);
      }
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test.each([
    ["foo=bar", 'unknown option for slirp4netns: "foo=bar"'],
    ["port_handler=socat", 'unknown port_handler for slirp4netns: "socat"'],
    ["allow_host_loopback=yes", 'invalid value of allow_host_loopback for slirp4netns: "yes"'],
    ["cidr=10.42.7.1", 'invalid cidr "10.42.7.1"'],
    ["mtu=10", 'invalid mtu "10"'],
  ])("bad option %s: exit 2 with the seed's message", (option, message) => {
    const r = ctrnetAsUser(["run", "--network", `slirp4netns:${option}`, "--", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test(
    "create and rm leave no helper; afterwards only the pause process is left, and gc stops it",
    async () => {
      const created = ctrnetAsUser(["create", "-p", `127.0.0.1:${freePorts(1)}:80`, "rootless-slirp"]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const helpers = others();
      expect(helpers.some((p) => p.args.includes("slirp4netns"))).toBe(true);
      expect(helpers.some((p) => p.args.endsWith("_rootlessport"))).toBe(true);
      const rm = ctrnetAsUser(["rm", "rootless-slirp"]);
      expect(rm.stderr).toBe("");
      expect(rm.code).toBe(0);
      for (const p of helpers) expect(await waitGone(p.pid)).toBe(true);

      const pause = pausePid()!;
      expect(userProcesses().map((p) => p.pid)).toEqual([pause]);
      const gc = ctrnetAsUser(["gc"]);
      expect(gc.code).toBe(0);
      expect(await waitGone(pause)).toBe(true);
      expect(userProcesses()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );
});
