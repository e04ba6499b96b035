// A damaged state database (issue 18): set aside with one line and replaced by one rebuilt from the system
// (ctrnet's CNI cache entries and netns marks), after which every command, gc and rm -f included, works on
// the rebuilt containers, and gc collects what could not be matched.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { hostVeths } from "./cni-helpers.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";
import { cliWith, oneLine, refused } from "./reliability-helpers.ts";

describe.skipIf(!privileged)("a damaged state database", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("state");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  const dbPath = () => join(inst.env.CTRNET_ROOT!, "state.db");

  function asideFiles(): string[] {
    return readdirSync(inst.env.CTRNET_ROOT!).filter((f) => f.startsWith("state.db.corrupt-"));
  }

  /**
   * Whether a process (the helper supervisor, whose first round after a create may still be reading) has the
   * database open: its close checkpoints the WAL and would write the damage over again.
   */
  function dbOpenElsewhere(): boolean {
    const files = new Set([dbPath(), `${dbPath()}-wal`]);
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (files.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return true;
        } catch {
          // closed meanwhile
        }
      }
    }
    return false;
  }

  /**
   * Whether every helper supervisor of the state root is through its first round, which writes its watchdog
   * into its file: one the create just started may not have opened the database yet, so that no process has
   * it open says nothing until then (a quick create and inspect got there first, and the supervisor's own
   * open found the damage and repaired it before the command meant to).
   */
  function supervisorsSettled(): boolean {
    const dir = join(inst.env.CTRNET_ROOT!, "supervisors");
    if (!existsSync(dir)) return true;
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .every((f) => {
        try {
          return (JSON.parse(readFileSync(join(dir, f), "utf8")) as { watchdog?: unknown }).watchdog !== undefined;
        } catch {
          return true; // removed meanwhile: that supervisor retired
        }
      });
  }

  /** Before the database is damaged: until the supervisors settled and no other process has it open. */
  function waitDbQuiet(): void {
    // a bound for a broken run, not a timing assertion
    for (const end = Date.now() + 10_000; (!supervisorsSettled() || dbOpenElsewhere()) && Date.now() < end; ) Bun.sleepSync(20);
  }

  /**
   * fn while every helper supervisor of the state root is stopped (SIGSTOP) without the database open: a
   * round of its own (woken by the create's helper file, or the ports it was handed) would otherwise open
   * the damaged database first and set it aside with its line on its /dev/null, before the command meant to.
   */
  function withSupervisorsStopped<T>(fn: () => T): T {
    const dir = join(inst.env.CTRNET_ROOT!, "supervisors");
    const signal = (pids: number[], sig: "SIGSTOP" | "SIGCONT") => {
      for (const pid of pids) {
        try {
          process.kill(pid, sig);
        } catch {
          // retired meanwhile
        }
      }
    };
    for (let tries = 0; ; tries++) {
      waitDbQuiet();
      const pids = existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith(".json"))
            .flatMap((f) => {
              try {
                return [(JSON.parse(readFileSync(join(dir, f), "utf8")) as { pid: number }).pid];
              } catch {
                return [];
              }
            })
        : [];
      signal(pids, "SIGSTOP");
      // stopped with the database open (it opened it after the wait): let it finish, and again
      if (dbOpenElsewhere() && tries < 20) {
        signal(pids, "SIGCONT");
        continue;
      }
      try {
        return fn();
      } finally {
        signal(pids, "SIGCONT");
      }
    }
  }

  /** Overwrites `length` bytes at `offset` with random ones, once no other process has the database open. */
  function scribble(offset: number, length: number): void {
    waitDbQuiet();
    const fd = openSync(dbPath(), "r+");
    try {
      writeSync(fd, crypto.getRandomValues(new Uint8Array(length)), 0, length, offset);
    } finally {
      closeSync(fd);
    }
  }

  /** The last page of the containers table's b-tree: what `ls` must read. */
  function damageAPage(): void {
    const pageSize = 4096;
    const pages = statSync(dbPath()).size / pageSize;
    expect(pages).toBeGreaterThan(2);
    // page 2 onwards hold the tables; a page of random bytes is no b-tree page
    for (let p = 1; p < pages; p++) scribble(p * pageSize, pageSize);
  }

  test.each([
    ["truncated to 0 bytes", () => (waitDbQuiet(), truncateSync(join(inst.env.CTRNET_ROOT!, "state.db"), 0))],
    ["random bytes over its header", () => scribble(0, 100)],
    ["random bytes over its pages", () => damageAPage()],
  ])("%s: it is set aside with one line, its bridge containers are rebuilt from the system, and gc collects the rest", (_how, damage) => {
    const live = [`db1-${hex(3)}`, `db2-${hex(3)}`];
    const port = 20000 + Math.floor(Math.random() * 10000);
    inst.ok(["create", "--network", net.name, "-p", `${port}:80`, "--name", `named-${live[0]}`, "--alias", "web", live[0]!]);
    inst.ok(["create", "--network", net.name, live[1]!]);
    // a container that leaves nothing but its netns file: nothing to tell its mode by
    const bare = `db0-${hex(3)}`;
    const bareNetns = inst.ok(["create", "--network", "none", bare]).trim();
    const before = live.map((id) => inst.inspect(id));
    const veths = hostVeths();
    expect(existsSync(`${dbPath()}-wal`)).toBe(false);
    damage();

    const first = cliWith(inst, ["ls", "--format", "json"]);
    expect(first.code).toBe(0);
    oneLine(first.stderr);
    expect(first.stderr).toContain(`state database ${dbPath()} is damaged`);
    expect(first.stderr).toContain(`rebuilt the records of 2 containers from ctrnet's CNI cache, netns files and helpers`);
    expect(asideFiles()).toHaveLength(1);
    expect(first.stderr).toContain(asideFiles()[0]!);
    expect((JSON.parse(first.stdout) as { id: string }[]).map((c) => c.id).sort()).toEqual([...live].sort());

    // said once: the new database is sound
    const again = cliWith(inst, ["ls"]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
    for (const [i, id] of live.entries()) {
      const now = inst.inspect(id);
      expect(now.NetworkSettings.Networks).toEqual(before[i].NetworkSettings.Networks);
      expect(now.NetworkSettings.Ports).toEqual(before[i].NetworkSettings.Ports);
      expect(now.NetworkSettings.SandboxKey).toBe(before[i].NetworkSettings.SandboxKey);
    }
    expect(inst.ok(["port", `named-${live[0]}`])).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
    // the one whose mode nothing tells is not rebuilt
    const inspected = cliWith(inst, ["inspect", bare]);
    expect({ code: inspected.code, stdout: inspected.stdout }).toEqual({ code: 1, stdout: "[]\n" });
    expect(inspected.stderr).toContain(`no container with name or ID "${bare}" found: no such container`);

    expect(cliWith(inst, ["rm", live[0]!])).toMatchObject({ code: 0, stderr: "" });

    const gc = cliWith(inst, ["gc"]);
    expect({ code: gc.code, stderr: gc.stderr }).toEqual({ code: 0, stderr: "" });
    expect(gc.stdout).toBe(`removed netns ${bareNetns}\n`);
    expect(existsSync(bareNetns)).toBe(false);
    expect(cliWith(inst, ["rm", live[1]!])).toMatchObject({ code: 0, stderr: "" });
    expect(hostVeths().filter((v) => !veths.includes(v))).toEqual([]);
    expect(hostVeths().length).toBe(veths.length - 2);
    expect(asideFiles()).toHaveLength(1);
    Bun.spawnSync(["sh", "-c", `rm -f ${dbPath()}.corrupt-*`]);
  });

  test("a container on a network of ctrnet's own plugin type is rebuilt too, its published port and its host_interface_name with it", () => {
    const network = `dbn-${hex(3)}`;
    inst.ok(["network", "create", "-o", "plugin=ctrnet", network]);
    try {
      const id = `db5-${hex(3)}`;
      const port = 20000 + Math.floor(Math.random() * 10000);
      const veth = `hr${hex(4)}`;
      inst.ok(["create", "--network", `${network}:host_interface_name=${veth}`, "-p", `${port}:80`, id]);
      const before = inst.inspect(id);
      // the container's published port started the supervisor, which holds it
      const r = withSupervisorsStopped(() => {
        scribble(0, 100);
        return cliWith(inst, ["ls", "--format", "json"]);
      });
      expect(r.stderr).toContain("rebuilt the records of 1 container from");
      expect(inst.inspect(id).NetworkSettings.Networks).toEqual(before.NetworkSettings.Networks);
      expect(inst.ok(["port", id])).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
      expect(Bun.spawnSync(["ip", "link", "show", veth]).exitCode).toBe(0);
      expect(cliWith(inst, ["rm", id])).toMatchObject({ code: 0, stderr: "" });
      expect(Bun.spawnSync(["ip", "link", "show", veth], { stderr: "ignore" }).exitCode).not.toBe(0);
    } finally {
      // -f, and no check here: a failure above must be the one reported
      cliWith(inst, ["network", "rm", "-f", network]);
      Bun.spawnSync(["sh", "-c", `rm -f ${dbPath()}.corrupt-*`]);
    }
  });

  test.skipIf(Bun.which("slirp4netns") === null)("a slirp4netns container is rebuilt from its running slirp4netns: its options and netns; rm stops it", () => {
    const id = `db6-${hex(3)}`;
    const netns = inst.ok(["create", "--network", "slirp4netns:cidr=10.41.0.0/24,mtu=1400,allow_host_loopback=true", id]).trim();
    const pid = JSON.parse(inst.ok(["ls", "--format", "json"]))[0];
    expect(pid.id).toBe(id);
    waitDbQuiet();
    truncateSync(dbPath(), 0);
    const r = cliWith(inst, ["ls", "--format", "json"]);
    expect(r.stderr).toContain(`rebuilt the records of 1 container from ctrnet's CNI cache, netns files and helpers (${id})`);
    const [rec] = JSON.parse(r.stdout);
    expect({ id: rec.id, netns: rec.netns }).toEqual({ id, netns });
    expect(inst.ok(["ls"])).toContain("slirp4netns:cidr=10.41.0.0/24,mtu=1400,allow_host_loopback=true");
    expect(cliWith(inst, ["rm", id])).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(netns)).toBe(false);
    Bun.spawnSync(["sh", "-c", `rm -f ${dbPath()}.corrupt-*`]);
  });

  test("a damaged record is left out with one warning, never stopping another command; gc and rm -f replace it with one rebuilt from the system", () => {
    const ids = [`db7-${hex(3)}`, `db8-${hex(3)}`];
    for (const id of ids) inst.ok(["create", "--network", net.name, id]);
    const before = inst.inspect(ids[0]!);
    const spoil = (id: string) => {
      const db = new Database(dbPath());
      db.run("UPDATE containers SET mode = '{bad' WHERE id = ?", [id]);
      db.close();
    };
    spoil(ids[0]!);

    const ls = cliWith(inst, ["ls", "--format", "json"]);
    expect(ls.code).toBe(0);
    oneLine(ls.stderr);
    expect(ls.stderr).toContain(`the record of container "${ids[0]}" is damaged: mode is not valid JSON; ctrnet rm -f ${ids[0]} or ctrnet gc replaces it`);
    expect(JSON.parse(ls.stdout).map((c: { id: string }) => c.id)).toEqual([ids[1]]);
    const inspected = cliWith(inst, ["inspect", ids[0]!]);
    expect(inspected.code).toBe(1);
    expect(inspected.stderr).toContain("is damaged");

    // gc: the live container is rebuilt, not torn down
    const gc = cliWith(inst, ["gc"]);
    expect(gc.code).toBe(0);
    expect(gc.stderr).toContain(`the damaged record of container ${ids[0]} is replaced by one rebuilt from the system`);
    expect(inst.inspect(ids[0]!).NetworkSettings.Networks).toEqual(before.NetworkSettings.Networks);
    expect(cliWith(inst, ["ls"])).toMatchObject({ code: 0, stderr: "" });

    // rm -f of a damaged record: rebuilt, then removed as any other
    spoil(ids[1]!);
    const rm = cliWith(inst, ["rm", "-f", ids[1]!]);
    expect(rm.code).toBe(0);
    expect(rm.stderr).toContain(`the damaged record of container ${ids[1]} is replaced by one rebuilt from the system`);
    expect(JSON.parse(inst.ok(["ls", "--format", "json"])).map((c: { id: string }) => c.id)).toEqual([ids[0]]);
  });

  test("what the CNI cache holds of another ctrnet (another --root) is not taken", () => {
    const id = `db4-${hex(3)}`;
    const other = join(inst.dir, "other-root");
    expect(cliWith(inst, ["create", "--network", net.name, id], { CTRNET_ROOT: other }).code).toBe(0);
    inst.ok(["ls"]);
    waitDbQuiet();
    truncateSync(dbPath(), 0);
    const r = cliWith(inst, ["ls", "--format", "json"]);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(r.stderr).toContain("nothing of its containers was found to rebuild records from");
    expect(cliWith(inst, ["rm", id], { CTRNET_ROOT: other })).toMatchObject({ code: 0, stderr: "" });
    Bun.spawnSync(["sh", "-c", `rm -rf ${dbPath()}.corrupt-* ${other}`]);
  });
});
