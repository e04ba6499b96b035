// Issue 7, item 5: ctrnet as the hook of a rootless OCI runtime run directly by the unprivileged test
// user, for runc and crun alike. Both run the hooks on the host while the container has a user namespace
// of its own: for runc, createRuntime runs ctrnet again inside it; crun keeps it closed until the
// container's program starts, so createRuntime leaves a waiter that the createContainer hook hands the
// namespaces to. Either way a busybox httpd annotated io.ctrnet.network=slirp4netns serves its file on
// the published port and reaches the host through slirp's gateway; after kill and delete nothing of it
// is left. Several start at once; the user's gc leaves running ones alone and collects killed ones; crun
// create/start with a gc between works. crun without the createContainer hook, a set-up that fails at
// createContainer, a CNI network and a bad annotation each fail the start with ctrnet's one line and
// leave nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ctrnetAsUser, rootlessUser, stopPause, userEnv, userProcesses, waitGone } from "../helpers/rootless.ts";
import { freePorts } from "../helpers/http.ts";
import { addUplink } from "../helpers/uplink.ts";

type RuntimeName = "crun" | "runc";

const runnable = process.getuid?.() === 0 && ["crun", "runc", "slirp4netns", "busybox", "curl"].every((p) => Bun.which(p) !== null);
const TEST_TIMEOUT_MS = 60_000;
const BAD_PORT_LINE = 'ctrnet: error: annotation io.ctrnet.publish: invalid port spec "80:eighty": invalid container port "eighty"';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function asUser(argv: string[], cwd: string): Run {
  const user = rootlessUser();
  const r = Bun.spawnSync(["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--", ...argv], {
    env: userEnv(user),
    cwd,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** As asUser, without blocking the event loop: for commands that talk to a server of this process. */
async function asUserAsync(argv: string[], cwd: string): Promise<Run> {
  const user = rootlessUser();
  const child = Bun.spawn(["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--", ...argv], {
    env: userEnv(user),
    cwd,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** crun refuses this machine's hybrid cgroup layout; a tmpfs over the v2 hierarchy, in the suite's private mount namespace, hides it. */
function hideHybridCgroup2(): () => void {
  const unified = "/sys/fs/cgroup/unified";
  let controllers = "";
  try {
    controllers = readFileSync(join(unified, "cgroup.controllers"), "utf8").trim();
  } catch {
    return () => {};
  }
  if (!controllers) return () => {};
  if (Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", unified]).exitCode !== 0) throw new Error(`cannot mount a tmpfs over ${unified}`);
  return () => void Bun.spawnSync(["umount", unified]);
}


async function fetchBody(port: number): Promise<string | null> {
  for (let i = 0; i < 100; i++) {
    const child = Bun.spawn(["curl", "-s", "-m", "1", `http://127.0.0.1:${port}/index.html`], { stdout: "pipe", stderr: "ignore" });
    const body = await new Response(child.stdout).text();
    if ((await child.exited) === 0) return body;
    await Bun.sleep(50);
  }
  return null;
}

describe.skipIf(!runnable)("ctrnet as the hook of a rootless runtime", () => {
  let dir: string;
  let hooks: unknown;
  let restoreCgroups: () => void;
  let bundles = 0;

  beforeAll(async () => {
    const user = rootlessUser();
    await stopPause();
    restoreCgroups = hideHybridCgroup2();
    dir = mkdtempSync(join(tmpdir(), "ctrnet-rootless-hook-"));
    chownSync(dir, user.uid, user.gid);
    const config = ctrnetAsUser(["hook", "config"]);
    expect(config.code).toBe(0);
    hooks = JSON.parse(config.stdout);
    // a rootless user's block has createContainer, which a rootless crun needs
    expect(Object.keys((hooks as { hooks: object }).hooks)).toEqual(["createRuntime", "createContainer", "poststop"]);
  });

  afterAll(async () => {
    await stopPause();
    restoreCgroups?.();
    rmSync(dir, { recursive: true, force: true });
    expect(userProcesses()).toEqual([]);
  });

  const runtimeArgv = (name: RuntimeName): string[] =>
    name === "crun" ? ["crun", "--cgroup-manager=disabled", "--root", join(dir, "crun-state")] : ["runc", "--root", join(dir, "runc-state")];

  /** A bundle of the user's, from the runtime's own `spec --rootless`, with ctrnet's hooks and these annotations. */
  function bundle(name: RuntimeName, body: string, annotations: Record<string, string>): string {
    const user = rootlessUser();
    const path = join(dir, `bundle-${bundles++}`);
    const rootfs = join(path, "rootfs");
    mkdirSync(join(rootfs, "bin"), { recursive: true });
    mkdirSync(join(rootfs, "www"));
    copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
    for (const applet of ["httpd", "wget", "cat"]) symlinkSync("busybox", join(rootfs, "bin", applet));
    writeFileSync(join(rootfs, "www/index.html"), body);
    for (const p of [path, rootfs, join(rootfs, "bin"), join(rootfs, "www"), join(rootfs, "www/index.html")]) chownSync(p, user.uid, user.gid);
    const spec = asUser([name, "spec", "--rootless"], path);
    if (spec.code !== 0) throw new Error(`${name} spec --rootless: ${spec.stderr}`);
    const config = JSON.parse(readFileSync(join(path, "config.json"), "utf8"));
    config.process.terminal = false;
    config.process.args = ["/bin/httpd", "-f", "-p", "80", "-h", "/www"];
    config.annotations = annotations;
    // runc's rootless spec keeps the host's netns, which a user cannot configure anyway
    if (!config.linux.namespaces.some((ns: { type: string }) => ns.type === "network")) config.linux.namespaces.push({ type: "network" });
    Object.assign(config, hooks);
    writeFileSync(join(path, "config.json"), JSON.stringify(config, null, 2));
    return path;
  }

  /** Changes a bundle's config.json, e.g. its hooks. */
  function editConfig(path: string, edit: (config: { hooks: Record<string, { path: string; args: string[] }[]> }) => void): void {
    const file = join(path, "config.json");
    const config = JSON.parse(readFileSync(file, "utf8"));
    edit(config);
    writeFileSync(file, JSON.stringify(config));
  }

  /** The ids `ctrnet ls` shows the user. */
  const listedIds = (): string[] => (JSON.parse(ctrnetAsUser(["ls", "--format", "json"]).stdout) as { id: string }[]).map((r) => r.id);

  /** `run -d`; the container's stdio goes to files, or a pipe would stay open as long as it runs. */
  function runDetached(name: RuntimeName, path: string, id: string): Run {
    const out = join(path, "run.out");
    const r = asUser(["sh", "-c", `exec "$@" >${out} 2>&1`, "sh", ...runtimeArgv(name), "run", "-d", "--bundle", path, id], path);
    return { ...r, stderr: readFileSync(out, "utf8") };
  }

  function remove(name: RuntimeName, id: string): void {
    asUser([...runtimeArgv(name), "kill", id, "KILL"], dir);
    for (let i = 0; i < 50; i++) {
      const state = asUser([...runtimeArgv(name), "state", id], dir);
      if (state.code !== 0 || JSON.parse(state.stdout).status === "stopped") break;
      Bun.sleepSync(20);
    }
    asUser([...runtimeArgv(name), "delete", "-f", id], dir);
  }

  /** Processes of the user other than the pause process a `ctrnet ls` started. */
  const others = () => userProcesses().filter((p) => !p.args.endsWith(" _pause"));

  async function nothingLeft(name: RuntimeName): Promise<void> {
    for (const p of others()) await waitGone(p.pid);
    expect(others()).toEqual([]);
    const ls = ctrnetAsUser(["ls", "--format", "json"]);
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([]);
    expect(asUser([...runtimeArgv(name), "list", "-q"], dir).stdout.trim()).toBe("");
    // no waiter's socket (crun's createRuntime leaves one for createContainer)
    const hooksDir = join(rootlessUser().runtimeDir, "ctrnet", "hooks");
    expect(existsSync(hooksDir) ? readdirSync(hooksDir) : []).toEqual([]);
  }

  for (const name of ["runc", "crun"] as const) {
    test(
      `${name}: slirp4netns and a published port serve the container's file, the container reaches the host through its gateway and has slirp's DNS in its /etc; kill and delete leave nothing, /etc put back`,
      async () => {
        const port = freePorts(1);
        const id = `${name}-${port}`;
        const host = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(`host answers ${id}`) });
        const path = bundle(name, `hello from ${id}`, {
          "io.ctrnet.network": "slirp4netns:allow_host_loopback=true",
          "io.ctrnet.publish": `127.0.0.1:${port}:80`,
          "io.ctrnet.write-etc": "true",
        });
        try {
          const r = runDetached(name, path, id);
          expect(r.stderr).toBe("");
          expect(r.code).toBe(0);
          expect(await fetchBody(port)).toBe(`hello from ${id}`);
          // slirp4netns's gateway, 10.0.2.2, is the host's loopback with allow_host_loopback
          const fromInside = await asUserAsync([...runtimeArgv(name), "exec", id, "/bin/wget", "-q", "-O", "-", `http://10.0.2.2:${host.port}/`], dir);
          expect(fromInside).toMatchObject({ code: 0, stdout: `host answers ${id}` });
          // slirp4netns's DNS, cidr + 3, written into the root filesystem before the program started
          const resolv = asUser([...runtimeArgv(name), "exec", id, "/bin/cat", "/etc/resolv.conf"], dir);
          expect(resolv.stdout).toContain("nameserver 10.0.2.3\n");
          const [rec] = JSON.parse(ctrnetAsUser(["ls", "--format", "json"]).stdout) as { id: string; netns: string }[];
          expect(rec?.id).toBe(id);
          const containerPid = JSON.parse(asUser([...runtimeArgv(name), "state", id], dir).stdout).pid as number;
          expect(rec?.netns).toBe(`/proc/${containerPid}/ns/net`);
          expect(others().some((p) => p.args.includes("slirp4netns"))).toBe(true);
          // the hook's helpers are supervised from the container's user namespace: killed, they come back
          for (const kind of ["portForwarder", "slirp4netns"]) {
            const helpers = () => JSON.parse(ctrnetAsUser(["inspect", id]).stdout)[0].Helpers as Record<string, { Pid: number; Restarts: number; Running: boolean }>;
            process.kill(helpers()[kind]!.Pid, "SIGKILL");
            for (let i = 0; i < 400 && !(helpers()[kind]!.Restarts === 1 && helpers()[kind]!.Running); i++) await Bun.sleep(50);
            expect(helpers()[kind]).toMatchObject({ Restarts: 1, Running: true });
            expect(await fetchBody(port)).toBe(`hello from ${id}`);
          }
        } finally {
          remove(name, id);
          host.stop(true);
        }
        await nothingLeft(name);
        // poststop put the root filesystem back as it was: it had no /etc
        expect(existsSync(join(path, "rootfs", "etc"))).toBe(false);
      },
      TEST_TIMEOUT_MS,
    );
  }

  for (const name of ["runc", "crun"] as const) {
    test(
      `${name}: pasta and a published port (pasta's own -t) serve the container's file; its /etc names pasta's DNS forwarder; kill and delete stop pasta and leave nothing`,
      async () => {
        if (Bun.which("pasta") === null) return;
        const port = freePorts(1);
        const id = `${name}-pasta-${port}`;
        const path = bundle(name, `hello from ${id}`, { "io.ctrnet.network": "pasta", "io.ctrnet.publish": `127.0.0.1:${port}:80`, "io.ctrnet.write-etc": "true" });
        const removeUplink = addUplink();
        try {
          const r = runDetached(name, path, id);
          expect(r.stderr).toBe("");
          expect(r.code).toBe(0);
          expect(await fetchBody(port)).toBe(`hello from ${id}`);
          const resolv = asUser([...runtimeArgv(name), "exec", id, "/bin/cat", "/etc/resolv.conf"], dir);
          expect(resolv.stdout).toContain("nameserver 169.254.1.1\n");
          expect(JSON.parse(ctrnetAsUser(["inspect", id]).stdout)[0]).toMatchObject({ Id: id, NetworkMode: "pasta" });
          expect(others().filter((p) => p.args.split(" ")[0]!.endsWith("/pasta")).length).toBe(1);
          expect(others().some((p) => p.args.includes("_rootlessport"))).toBe(false);
        } finally {
          remove(name, id);
          removeUplink();
        }
        await nothingLeft(name);
      },
      TEST_TIMEOUT_MS,
    );
  }

  for (const name of ["runc", "crun"] as const) {
    test(
      `${name}: the user's ctrnet gc leaves a running container alone (its netns is closed to ctrnet's own user namespace) and removes it once its process is killed without poststop`,
      async () => {
        const port = freePorts(1);
        const id = `${name}-gc-${port}`;
        const path = bundle(name, `hello from ${id}`, { "io.ctrnet.network": "slirp4netns", "io.ctrnet.publish": `127.0.0.1:${port}:80` });
        try {
          expect(runDetached(name, path, id).code).toBe(0);
          expect(await fetchBody(port)).toBe(`hello from ${id}`);
          expect(ctrnetAsUser(["gc"]).code).toBe(0);
          expect(listedIds()).toEqual([id]);
          expect(await fetchBody(port)).toBe(`hello from ${id}`);
          // inspect and port read the record
          expect(ctrnetAsUser(["port", id])).toMatchObject({ code: 0, stdout: `80/tcp -> 127.0.0.1:${port}\n` });
          expect(JSON.parse(ctrnetAsUser(["inspect", id]).stdout)[0]).toMatchObject({ Id: id, NetworkMode: "slirp4netns" });
          // stats cannot read its interfaces, and says why
          const stats = ctrnetAsUser(["stats", id]);
          expect(stats.code).toBe(1);
          expect(stats.stderr).toContain("it belongs to the user namespace of the runtime that made it, which ctrnet's own cannot enter\n");
          asUser([...runtimeArgv(name), "kill", id, "KILL"], dir);
          for (let i = 0; i < 100 && JSON.parse(asUser([...runtimeArgv(name), "state", id], dir).stdout).status !== "stopped"; i++) await Bun.sleep(20);
          const gc = ctrnetAsUser(["gc"]);
          expect(gc.code).toBe(0);
          expect(listedIds()).toEqual([]);
        } finally {
          remove(name, id);
        }
        await nothingLeft(name);
      },
      TEST_TIMEOUT_MS,
    );
  }

  for (const name of ["runc", "crun"] as const) {
    test(
      `${name}: four containers started at once all get their network and port; deleting them leaves nothing`,
      async () => {
        const started = Array.from({ length: 4 }, () => {
          const port = freePorts(1);
          const id = `${name}-many-${port}`;
          const path = bundle(name, `hello from ${id}`, { "io.ctrnet.network": "slirp4netns", "io.ctrnet.publish": `127.0.0.1:${port}:80` });
          return { port, id, path };
        });
        try {
          const runs = await Promise.all(
            started.map(({ path, id }) => asUserAsync(["sh", "-c", `exec "$@" >${join(path, "run.out")} 2>&1`, "sh", ...runtimeArgv(name), "run", "-d", "--bundle", path, id], path)),
          );
          expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
          for (const { port, id } of started) expect(await fetchBody(port)).toBe(`hello from ${id}`);
          expect(listedIds().sort()).toEqual(started.map((s) => s.id).sort());
        } finally {
          for (const { id } of started) remove(name, id);
        }
        await nothingLeft(name);
      },
      TEST_TIMEOUT_MS,
    );
  }

  test(
    "runc: a bad annotation fails the start with exit 2 and ctrnet's one line",
    async () => {
      const id = `runc-bad-${freePorts(1)}`;
      const path = bundle("runc", "never served", { "io.ctrnet.network": "slirp4netns", "io.ctrnet.publish": "80:eighty" });
      const r = runDetached("runc", path, id);
      remove("runc", id);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("exit status 2");
      expect(r.stderr).toContain(`stderr: ${JSON.stringify(`${BAD_PORT_LINE}\n`).slice(1, -1)}`);
      await nothingLeft("runc");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "crun without ctrnet's createContainer hook: createRuntime cannot reach the container; one line says what to add, nothing is left",
    async () => {
      const port = freePorts(1);
      const id = `crun-${port}`;
      const hookStderr = join(dir, `hook-${id}.err`);
      const path = bundle("crun", "never served", {
        "io.ctrnet.network": "slirp4netns",
        "io.ctrnet.publish": `127.0.0.1:${port}:80`,
        "run.oci.hooks.stderr": hookStderr,
      });
      editConfig(path, (config) => delete config.hooks.createContainer);
      const r = runDetached("crun", path, id);
      remove("crun", id);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("(exit code: 1)");
      const lines = readFileSync(hookStderr, "utf8").split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith("ctrnet: error: cannot open the namespaces of the container's process ");
      expect(lines[0]).toContain("add ctrnet's createContainer hook");
      await nothingLeft("crun");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "crun: a set-up that fails in createContainer (the host port is taken) fails the start with ctrnet's line; nothing is left",
    async () => {
      const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
      const id = `crun-taken-${taken.port}`;
      const hookStderr = join(dir, `hook-${id}.err`);
      const path = bundle("crun", "never served", {
        "io.ctrnet.network": "slirp4netns",
        "io.ctrnet.publish": `127.0.0.1:${taken.port}:80`,
        "run.oci.hooks.stderr": hookStderr,
      });
      try {
        const r = runDetached("crun", path, id);
        remove("crun", id);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("error executing hook");
        const lines = readFileSync(hookStderr, "utf8").split("\n").filter(Boolean);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toStartWith("ctrnet: error: ");
        expect(lines[0]).toContain(String(taken.port));
      } finally {
        taken.stop(true);
      }
      await nothingLeft("crun");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "crun create, then ctrnet gc while the container waits for start (its namespaces still closed), then crun start: the network stays and serves",
    async () => {
      const port = freePorts(1);
      const id = `crun-created-${port}`;
      const path = bundle("crun", `hello from ${id}`, { "io.ctrnet.network": "slirp4netns", "io.ctrnet.publish": `127.0.0.1:${port}:80` });
      try {
        const out = join(path, "create.out");
        const created = asUser(["sh", "-c", `exec "$@" >${out} 2>&1`, "sh", ...runtimeArgv("crun"), "create", "--bundle", path, id], path);
        expect(readFileSync(out, "utf8")).toBe("");
        expect(created.code).toBe(0);
        const gc = ctrnetAsUser(["gc"]);
        expect(gc.code).toBe(0);
        expect(listedIds()).toEqual([id]);
        expect(asUser([...runtimeArgv("crun"), "start", id], path).code).toBe(0);
        expect(await fetchBody(port)).toBe(`hello from ${id}`);
      } finally {
        remove("crun", id);
      }
      await nothingLeft("crun");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "crun: a waiter killed before createContainer comes fails the start with one line; nothing is left",
    async () => {
      const id = `crun-killed-${freePorts(1)}`;
      const hookStderr = join(dir, `hook-${id}.err`);
      const gate = join(dir, `gate-${id}`);
      const path = bundle("crun", "never served", { "io.ctrnet.network": "slirp4netns", "run.oci.hooks.stderr": hookStderr });
      // holds crun before ctrnet's createContainer hook until the test has killed the waiter
      editConfig(path, (config) => config.hooks.createContainer!.unshift({ path: "/bin/sh", args: ["sh", "-c", `while [ ! -e ${gate} ]; do sleep 0.02; done`] }));
      const running = asUserAsync(["sh", "-c", `exec "$@" >${join(path, "run.out")} 2>&1`, "sh", ...runtimeArgv("crun"), "run", "-d", "--bundle", path, id], path);
      let waiter: { pid: number } | undefined;
      for (let i = 0; i < 250 && !waiter; i++) {
        waiter = others().find((p) => p.args.includes("_hook-wait"));
        if (!waiter) await Bun.sleep(20);
      }
      expect(waiter).toBeDefined();
      process.kill(waiter!.pid, "SIGKILL");
      await waitGone(waiter!.pid);
      writeFileSync(gate, "");
      expect((await running).code).not.toBe(0);
      remove("crun", id);
      expect(readFileSync(hookStderr, "utf8")).toMatch(/^ctrnet: error: container "crun-killed-\d+" gets no network: the waiter createRuntime left for it is gone \(nothing listens on \/.*\.sock\)\n$/);
      await nothingLeft("crun");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "crun: createRuntime twice (and prestart) make one network; the first waiter gives way to the second",
    async () => {
      const port = freePorts(1);
      const id = `crun-twice-${port}`;
      const path = bundle("crun", `hello from ${id}`, { "io.ctrnet.network": "slirp4netns", "io.ctrnet.publish": `127.0.0.1:${port}:80` });
      editConfig(path, (config) => {
        const setUp = config.hooks.createRuntime![0]!;
        config.hooks.createRuntime!.push(setUp);
        config.hooks.prestart = [{ ...setUp, args: setUp.args.map((a) => (a === "createRuntime" ? "prestart" : a)) }];
      });
      try {
        const r = runDetached("crun", path, id);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(await fetchBody(port)).toBe(`hello from ${id}`);
        expect(listedIds()).toEqual([id]);
        for (const p of others().filter((p) => p.args.includes("_hook-wait"))) await waitGone(p.pid);
      } finally {
        remove("crun", id);
      }
      await nothingLeft("crun");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "crun: when the container fails before ctrnet's createContainer hook runs, createRuntime's waiter goes with it",
    async () => {
      const id = `crun-early-${freePorts(1)}`;
      const path = bundle("crun", "never served", { "io.ctrnet.network": "slirp4netns" });
      // a failing hook that reads the state crun writes it first: /bin/false, gone before crun wrote, made crun
      // say "writing to pipe: Broken pipe" instead on a busy machine
      editConfig(path, (config) => config.hooks.createContainer!.unshift({ path: "/bin/sh", args: ["sh", "-c", "cat >/dev/null; exit 1"] }));
      const r = runDetached("crun", path, id);
      remove("crun", id);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("error executing hook `/bin/sh`");
      await nothingLeft("crun");
    },
    TEST_TIMEOUT_MS,
  );

  for (const name of ["runc", "crun"] as const) {
    test(
      `${name}: a CNI network is refused with exit 2 and one line: a rootless user's bridges are out of the runtime's reach`,
      async () => {
        const id = `${name}-cni-${freePorts(1)}`;
        const hookStderr = join(dir, `hook-${id}.err`);
        const path = bundle(name, "never served", { "io.ctrnet.network": "somenet", "run.oci.hooks.stderr": hookStderr });
        const r = runDetached(name, path, id);
        remove(name, id);
        expect(r.code).not.toBe(0);
        const line =
          'ctrnet: error: network "somenet" cannot be given to a rootless runtime\'s container: a rootless user\'s CNI bridges live in ctrnet\'s rootless netns, out of reach from the runtime\'s user namespace; use slirp4netns, pasta or none';
        if (name === "runc") expect(r.stderr).toContain(`stderr: ${JSON.stringify(`${line}\n`).slice(1, -1)}`);
        else expect(readFileSync(hookStderr, "utf8")).toBe(`${line}\n`);
        expect(r.stderr).toContain(name === "runc" ? "exit status 2" : "(exit code: 2)");
        await nothingLeft(name);
      },
      TEST_TIMEOUT_MS,
    );
  }

  test(
    "crun: a bad annotation fails the start with exit 2 and ctrnet's one line",
    async () => {
      const id = `crun-bad-${freePorts(1)}`;
      const hookStderr = join(dir, `hook-${id}.err`);
      const path = bundle("crun", "never served", {
        "io.ctrnet.network": "slirp4netns",
        "io.ctrnet.publish": "80:eighty",
        "run.oci.hooks.stderr": hookStderr,
      });
      const r = runDetached("crun", path, id);
      remove("crun", id);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("(exit code: 2)");
      expect(readFileSync(hookStderr, "utf8")).toBe(`${BAD_PORT_LINE}\n`);
      await nothingLeft("crun");
    },
    TEST_TIMEOUT_MS,
  );
});
