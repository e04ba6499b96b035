// Issue 17 items 3-4 and issue 18's faults of helpers, as the unprivileged test user with the real
// slirp4netns: the helpers of a created container are restarted when they die (kill -9), inspect counts
// the restarts, a container whose helper is gone and cannot be restarted shows as degraded until
// `reload` restarts it, gc keeps a container with a process in its netns, and the IPv6 address of a
// slirp4netns container is usable when the command starts. After each test nothing of the user's is
// left but the pause process: no helper, no supervisor.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Subprocess } from "bun";
import { ctrnetAsUser, rootlessUser, spawnCtrnetAsUser, stopPause, userProcesses, waitGone } from "../helpers/rootless.ts";
import { freePorts, untilServed } from "../helpers/http.ts";
import { addUplink } from "../helpers/uplink.ts";

const runnable = process.getuid?.() === 0 && ["slirp4netns", "curl", "busybox"].every((p) => Bun.which(p) !== null);
const ASYNC_TEST_TIMEOUT_MS = 60_000;
/** A bound for a broken run, not a timing assertion. */
const POLL_LIMIT_MS = 20_000;

interface InspectHelper {
  Pid: number;
  Running: boolean;
  Restarts: number;
  LastRestart?: string;
}

interface Inspected {
  State: string;
  Degraded?: string;
  NetworkSettings: { SandboxKey: string };
  Helpers?: Record<string, InspectHelper>;
}

function inspect(id: string): Inspected {
  const r = ctrnetAsUser(["inspect", id]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const parsed = JSON.parse(r.stdout) as Inspected | Inspected[];
  return Array.isArray(parsed) ? parsed[0]! : parsed;
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await Bun.sleep(50);
  }
}

/**
 * A descendant of `ancestor` whose command line starts with `command`, in whatever netns (userProcesses
 * sees only the test's own; other runs on the machine have processes of the same user).
 */
function descendantRunning(ancestor: number, command: string): number | undefined {
  const parentOf = (pid: number): number | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return undefined;
    }
  };
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").startsWith(command)) continue;
    } catch {
      continue;
    }
    for (let p = parentOf(Number(entry)); p !== undefined && p > 1; p = parentOf(p)) if (p === ancestor) return Number(entry);
  }
  return undefined;
}

const others = () => userProcesses().filter((p) => !p.args.endsWith(" _pause"));
const WATCHDOG = "ctrnet-supervisor-watchdog";
const supervisors = () => userProcesses().filter((p) => p.args.endsWith(" _supervise") && !p.args.includes(WATCHDOG));
const watchdogs = () => userProcesses().filter((p) => p.args.includes(WATCHDOG));

describe.skipIf(!runnable)("helpers that heal themselves, as a rootless user", () => {
  let tmp: string;
  let www: string;

  beforeAll(async () => {
    rootlessUser();
    await stopPause();
    tmp = mkdtempSync(join(tmpdir(), "ctrnet-rootless-heal-"));
    www = join(tmp, "www");
    mkdirSync(www);
    writeFileSync(join(www, "index.html"), "still served\n");
    for (const p of [tmp, www]) chmodSync(p, 0o755);
    chmodSync(join(www, "index.html"), 0o644);
  });

  beforeEach(() => {
    expect(others()).toEqual([]);
  });

  afterAll(async () => {
    await stopPause();
    rmSync(tmp, { recursive: true, force: true });
    expect(userProcesses()).toEqual([]);
  });

  /** busybox httpd inside the container's netns, through `ctrnet netns exec`. */
  function serveIn(id: string): Subprocess<"ignore", "pipe", "pipe"> {
    const netns = basename(inspect(id).NetworkSettings.SandboxKey);
    return spawnCtrnetAsUser(["netns", "exec", netns, "--", "busybox", "httpd", "-f", "-p", "80", "-h", www]);
  }

  async function stop(server: Subprocess<"ignore", "pipe", "pipe">): Promise<void> {
    server.kill("SIGTERM");
    await server.exited;
  }

  function removeAndCheck(id: string): void {
    const rm = ctrnetAsUser(["rm", id]);
    expect(rm.stderr).toBe("");
    expect(rm.code).toBe(0);
  }

  /** After a failed test: what it made goes, so that the next one starts clean. */
  function removeQuietly(id: string): void {
    ctrnetAsUser(["rm", "-f", id]);
  }

  test(
    "kill -9 of slirp4netns, then of the forwarder: the port answers again, inspect counts each restart",
    async () => {
      const port = freePorts(1);
      const created = ctrnetAsUser(["create", "-p", `127.0.0.1:${port}:80`, "healing"]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const server = serveIn("healing");
      let ok = false;
      try {
        expect(await untilServed(port, server)).toBe("still served\n");
        const before = inspect("healing").Helpers!;
        expect(before.slirp4netns).toMatchObject({ Running: true, Restarts: 0 });
        expect(before.portForwarder).toMatchObject({ Running: true, Restarts: 0 });

        for (const kind of ["slirp4netns", "portForwarder"]) {
          const dead = inspect("healing").Helpers![kind]!.Pid;
          process.kill(dead, "SIGKILL");
          const healed = await until(`${kind} restarted`, () => {
            const h = inspect("healing").Helpers![kind]!;
            return h.Restarts === 1 && h.Running ? h : undefined;
          });
          expect(healed.Pid).not.toBe(dead);
          expect(Number.isNaN(Date.parse(healed.LastRestart ?? ""))).toBe(false);
          expect(await untilServed(port, server)).toBe("still served\n");
          expect(inspect("healing").State).toBe("ready");
        }
        ok = true;
      } finally {
        await stop(server);
        if (!ok) removeQuietly("healing");
      }
      removeAndCheck("healing");
      // no helper and no supervisor stays after rm
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "port_handler=slirp4netns: after kill -9 of slirp4netns its port forwards are added again",
    async () => {
      const port = freePorts(1);
      const created = ctrnetAsUser(["create", "--network", "slirp4netns:port_handler=slirp4netns", "-p", `127.0.0.1:${port}:80`, "healing-api"]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const server = serveIn("healing-api");
      let ok = false;
      try {
        expect(await untilServed(port, server)).toBe("still served\n");
        process.kill(inspect("healing-api").Helpers!.slirp4netns!.Pid, "SIGKILL");
        await until("slirp4netns restarted", () => (inspect("healing-api").Helpers!.slirp4netns!.Restarts === 1 ? true : undefined));
        expect(await untilServed(port, server)).toBe("still served\n");
        ok = true;
      } finally {
        await stop(server);
        if (!ok) removeQuietly("healing-api");
      }
      removeAndCheck("healing-api");
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "a rootless bridge network: kill -9 of the forwarder into the rootless netns, then of that netns's slirp4netns: both come back",
    async () => {
      const port = freePorts(1);
      expect(ctrnetAsUser(["network", "create", "--subnet", "10.77.9.0/24", "healnet"]).code).toBe(0);
      let ok = false;
      let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
      try {
        const created = ctrnetAsUser(["create", "--network", "healnet", "-p", `127.0.0.1:${port}:80`, "healing-bridge"]);
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
        server = serveIn("healing-bridge");
        expect(await untilServed(port, server)).toBe("still served\n");
        const dead = inspect("healing-bridge").Helpers!.portForwarder!.Pid;
        process.kill(dead, "SIGKILL");
        await until("forwarder restarted", () => (inspect("healing-bridge").Helpers!.portForwarder!.Restarts === 1 ? true : undefined));
        expect(await untilServed(port, server)).toBe("still served\n");
        // the shared rootless netns's own slirp4netns, every bridge container's way out, comes back too
        // while the supervisor restarts it, the way out is recorded as none for a moment
        const wayOut = () => (JSON.parse(ctrnetAsUser(["rootless-netns", "info", "--format", "json"]).stdout) as { slirp4netns: { pid: number; running: boolean } | null }).slirp4netns;
        const first = wayOut()!;
        expect(first.running).toBe(true);
        process.kill(first.pid, "SIGKILL");
        const second = await until("the rootless netns's slirp4netns restarted", () => {
          const now = wayOut();
          return now && now.pid !== first.pid && now.running ? now : undefined;
        });
        expect(second.running).toBe(true);
        expect(await untilServed(port, server)).toBe("still served\n");
        ok = true;
      } finally {
        if (server) await stop(server);
        if (ok) removeAndCheck("healing-bridge");
        else removeQuietly("healing-bridge");
        ctrnetAsUser(["network", "rm", "healnet"]);
      }
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "pasta: kill -9 of a created container's pasta, then of the rootless netns's pasta: both come back as pasta, the ports answer again",
    async () => {
      if (Bun.which("pasta") === null) return;
      const env = { CTRNET_ROOTLESS_NETWORK_CMD: "pasta" };
      const removeUplink = addUplink();
      const [port, bridgePort] = [freePorts(1), freePorts(1)];
      expect(ctrnetAsUser(["network", "create", "--subnet", "10.77.10.0/24", "healnet-pasta"]).code).toBe(0);
      const servers: Subprocess<"ignore", "pipe", "pipe">[] = [];
      let ok = false;
      try {
        // no --network: the switch makes it pasta
        expect(ctrnetAsUser(["create", "-p", `127.0.0.1:${port}:80`, "healing-pasta"], { env })).toMatchObject({ code: 0, stderr: "" });
        servers.push(serveIn("healing-pasta"));
        expect(await untilServed(port, servers[0]!)).toBe("still served\n");
        const dead = inspect("healing-pasta").Helpers!.pasta!.Pid;
        process.kill(dead, "SIGKILL");
        const healed = await until("pasta restarted", () => {
          const h = inspect("healing-pasta").Helpers!.pasta!;
          return h.Restarts === 1 && h.Running ? h : undefined;
        });
        expect(healed.Pid).not.toBe(dead);
        expect(await untilServed(port, servers[0]!)).toBe("still served\n");

        expect(ctrnetAsUser(["create", "--network", "healnet-pasta", "-p", `127.0.0.1:${bridgePort}:80`, "healing-pasta-bridge"], { env })).toMatchObject({ code: 0, stderr: "" });
        servers.push(serveIn("healing-pasta-bridge"));
        expect(await untilServed(bridgePort, servers[1]!)).toBe("still served\n");
        const wayOut = () => JSON.parse(ctrnetAsUser(["rootless-netns", "info", "--format", "json"]).stdout) as { program: string; slirp4netns: { pid: number; running: boolean } };
        const first = wayOut();
        expect(first).toMatchObject({ program: "pasta", slirp4netns: { running: true } });
        process.kill(first.slirp4netns.pid, "SIGKILL");
        const second = await until("the rootless netns's pasta restarted", () => {
          const now = wayOut();
          // while the supervisor restarts it, the way out is recorded as none for a moment
          return now.slirp4netns && now.slirp4netns.pid !== first.slirp4netns.pid && now.slirp4netns.running ? now : undefined;
        });
        expect(second.program).toBe("pasta");
        expect(await untilServed(bridgePort, servers[1]!)).toBe("still served\n");
        ok = true;
      } finally {
        for (const server of servers) await stop(server);
        for (const id of ["healing-pasta", "healing-pasta-bridge"]) {
          if (ok) removeAndCheck(id);
          else removeQuietly(id);
        }
        ctrnetAsUser(["network", "rm", "healnet-pasta"]);
        for (const p of others()) await waitGone(p.pid);
        removeUplink();
      }
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "a rootless bridge network with DNS: kill -9 of the DNS server in the rootless netns, the supervisor starts it again, names resolve with no command run",
    async () => {
      expect(ctrnetAsUser(["network", "create", "--subnet", "10.77.11.0/24", "healdns"]).code).toBe(0);
      let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
      let ok = false;
      try {
        const created = ctrnetAsUser(["create", "--network", "healdns", "--name", "named", "healing-dns"]);
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
        const settings = (inspect("healing-dns").NetworkSettings as unknown as { Networks: Record<string, { IPAddress: string; Gateway: string }> }).Networks.healdns!;
        // a process in the container's netns to ask from, as root through nsenter: no ctrnet command
        server = serveIn("healing-dns");
        const httpd = await until("httpd runs in the container's netns", () => descendantRunning(server!.pid, "busybox httpd"));
        const ask = () => {
          const r = Bun.spawnSync(["nsenter", "-t", String(httpd), "-n", "dig", "+short", "+time=1", "+tries=1", `@${settings.Gateway}`, "named"]);
          return r.stdout.toString().trim();
        };
        expect(await until("the name resolves", () => (ask() === settings.IPAddress ? true : undefined))).toBe(true);
        const helperFile = join(rootlessUser().runtimeDir, "ctrnet", "dns", "helper.json");
        const dns = JSON.parse(readFileSync(helperFile, "utf8")).pid as number;
        process.kill(dns, "SIGKILL");
        expect(await waitGone(dns)).toBe(true);
        expect(await until("the name resolves again", () => (ask() === settings.IPAddress ? true : undefined))).toBe(true);
        const again = JSON.parse(readFileSync(helperFile, "utf8")).pid as number;
        expect(again).not.toBe(dns);
        const helpers = inspect("healing-dns").Helpers as unknown as Record<string, InspectHelper>;
        expect(helpers.dnsServer).toMatchObject({ Pid: again, Running: true, Restarts: 1 });
        ok = true;
      } finally {
        if (server) await stop(server);
        if (ok) removeAndCheck("healing-dns");
        else removeQuietly("healing-dns");
        ctrnetAsUser(["network", "rm", "healdns"]);
      }
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "kill -9 of the supervisor: its watchdog starts another, which restarts a forwarder killed next, with no command run; rm leaves nothing",
    async () => {
      const port = freePorts(1);
      const created = ctrnetAsUser(["create", "-p", `127.0.0.1:${port}:80`, "restored"]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const server = serveIn("restored");
      let ok = false;
      try {
        expect(await untilServed(port, server)).toBe("still served\n");
        const forwarder = inspect("restored").Helpers!.portForwarder!.Pid;
        const first = await until("a supervisor runs", () => supervisors()[0]);
        await until("its watchdog runs", () => watchdogs()[0]);
        process.kill(first.pid, "SIGKILL");
        expect(await waitGone(first.pid)).toBe(true);
        // no ctrnet command runs from here until the port answers again
        const second = await until("another supervisor, with a watchdog of its own", () => {
          const now = supervisors();
          return now.length === 1 && now[0]!.pid !== first.pid && watchdogs().length === 1 ? now[0] : undefined;
        });
        process.kill(forwarder, "SIGKILL");
        expect(await waitGone(forwarder)).toBe(true);
        expect(await untilServed(port, server)).toBe("still served\n");
        const healed = inspect("restored").Helpers!.portForwarder!;
        expect(healed).toMatchObject({ Running: true, Restarts: 1 });
        expect(healed.Pid).not.toBe(forwarder);
        expect(supervisors().map((p) => p.pid)).toEqual([second.pid]);
        ok = true;
      } finally {
        await stop(server);
        if (!ok) removeQuietly("restored");
      }
      removeAndCheck("restored");
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "with its supervisor and the supervisor's watchdog gone too, a dead forwarder shows as degraded in ls and inspect until reload restarts it",
    async () => {
      const port = freePorts(1);
      try {
        const created = ctrnetAsUser(["create", "-p", `127.0.0.1:${port}:80`, "degraded"]);
        expect(created.code).toBe(0);
        // started by create, which does not wait for it to exec; its watchdog, by itself after its first round
        const supervisor = await until("a supervisor runs", () => supervisors()[0]);
        const watchdog = await until("its watchdog runs", () => watchdogs()[0]);
        // both killed (the supervisor stopped first, so that neither sees the other go)
        process.kill(supervisor.pid, "SIGSTOP");
        process.kill(watchdog.pid, "SIGKILL");
        process.kill(supervisor.pid, "SIGKILL");
        expect(await waitGone(supervisor.pid)).toBe(true);
        expect(await waitGone(watchdog.pid)).toBe(true);
        expect(supervisors()).toEqual([]);
        const forwarder = inspect("degraded").Helpers!.portForwarder!.Pid;
        process.kill(forwarder, "SIGKILL");
        expect(await waitGone(forwarder)).toBe(true);

        const table = ctrnetAsUser(["ls"]);
        expect(table.stdout).toMatch(/degraded\s+.*degraded \(port forwarder gone\)/);
        const listed = JSON.parse(ctrnetAsUser(["ls", "--format", "json"]).stdout) as { id: string; state: string; degraded?: string }[];
        expect(listed).toEqual([expect.objectContaining({ id: "degraded", state: "degraded", degraded: `its port forwarder (pid ${forwarder}) is gone` })]);
        const seen = inspect("degraded");
        expect(seen.State).toBe("degraded");
        expect(seen.Degraded).toBe(`its port forwarder (pid ${forwarder}) is gone`);
        expect(seen.Helpers!.portForwarder).toMatchObject({ Pid: forwarder, Running: false });

        const reload = ctrnetAsUser(["reload", "degraded"]);
        expect(reload.stderr).toBe("");
        expect(reload.code).toBe(0);
        const after = inspect("degraded");
        expect(after.State).toBe("ready");
        expect(after.Degraded).toBeUndefined();
        expect(after.Helpers!.portForwarder!.Running).toBe(true);
        expect(after.Helpers!.slirp4netns!.Running).toBe(true);
        // reload brought the supervisor back as well
        expect(await until("a supervisor runs again", () => supervisors()[0])).toBeDefined();
        const server = serveIn("degraded");
        try {
          expect(await untilServed(port, server)).toBe("still served\n");
        } finally {
          await stop(server);
        }
      } catch (err) {
        removeQuietly("degraded");
        throw err;
      }
      removeAndCheck("degraded");
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "gc keeps a container whose adopted process is gone while another process is in its netns, and removes it once that one is gone",
    async () => {
      const pids = join(tmp, "pids");
      writeFileSync(pids, "");
      chmodSync(pids, 0o666);
      // P (the shell, then sleep) is adopted; Q (the background sleep) stays in the netns after P is killed
      const holder = spawnCtrnetAsUser(["unshare", "--", "unshare", "--net", "sh", "-c", `sleep 600 & echo "$$ $!" > ${pids}; exec sleep 600`]);
      const [p, q] = await until("pids written", () => {
        const text = readFileSync(pids, "utf8").trim();
        return text ? text.split(" ").map(Number) : undefined;
      });
      try {
        const created = ctrnetAsUser(["create", "--network", "none", "--pid", String(p), "inuse"]);
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
        process.kill(p!, "SIGKILL");
        expect(await waitGone(p!)).toBe(true);

        const kept = ctrnetAsUser(["gc"]);
        expect(kept.code).toBe(0);
        expect(kept.stdout).toContain(`kept container inuse: process ${p} is gone, but process ${q} is in its netns`);
        expect(ctrnetAsUser(["inspect", "inuse"]).code).toBe(0);
      } finally {
        for (const pid of [p!, q!]) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone
          }
          expect(await waitGone(pid)).toBe(true);
        }
        await holder.exited;
      }
      const gc = ctrnetAsUser(["gc"]);
      expect(gc.code).toBe(0);
      expect(gc.stdout).toContain("removed container inuse");
      removeQuietly("inuse");
      expect(ctrnetAsUser(["inspect", "inuse"]).code).not.toBe(0);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test("enable_ipv6: the fd00:: address is there and not tentative when the command starts", () => {
    const r = ctrnetAsUser(["run", "--network", "slirp4netns:enable_ipv6=true", "--", "ip", "-6", "-o", "addr", "show", "dev", "tap0", "scope", "global"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inet6 fd00::[0-9a-f:]+\/64/);
    expect(r.stdout).not.toContain("tentative");
  });
});
