// `ctrnet run` through the compiled binary, as root inside the runner's private net+mount namespace, on a
// bridge network of its own with the real CNI plugins: exit statuses, the container's /etc files, a
// published port, signals, and that nothing at all is left after each run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { constants } from "node:os";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { bridgeConflist } from "../../src/drivers/cni/index.ts";
import { openState } from "../../src/state/index.ts";
import { BINARY, ctrnet, ensureBinary } from "../helpers/binary.ts";
import { hex, hostVeths, ipamAllocations, perContainerChains, privileged, run } from "./cni-helpers.ts";
import { prepareTestNetwork, removeNetworkFirewall, testBridgeConflist } from "../helpers/network-plugin.ts";

/** Bounds a broken run; each test normally takes well under a second. */
const ASYNC_TEST_TIMEOUT_MS = 30_000;

describe.skipIf(!privileged)("ctrnet run", () => {
  const id = hex(3);
  const network = `run-${id}`;
  const slowNetwork = `runslow-${id}`;
  const failingNetwork = `runfail-${id}`;
  const bridge = `ctr${id}`;
  const prefix = `10.${100 + (Number.parseInt(id.slice(0, 2), 16) % 150)}.${Number.parseInt(id.slice(2, 4), 16)}`;
  const tmp = join(tmpdir(), `ctrnet-run-it-${process.pid}-${id}`);
  const dirs = {
    root: join(tmp, "root"),
    netns: join(tmp, "netns"),
    conf: join(tmp, "conf"),
    cache: join(tmp, "cache"),
    ipam: join(tmp, "ipam"),
    plugins: join(tmp, "plugins"),
    etc: join(tmp, "etc"),
    www: join(tmp, "www"),
  };
  const env = {
    CTRNET_ROOT: dirs.root,
    CTRNET_NETNS_DIR: dirs.netns,
    CTRNET_CNI_CONFIG_DIR: dirs.conf,
    CTRNET_CNI_CACHE_DIR: dirs.cache,
    CTRNET_CNI_PLUGIN_DIR: dirs.plugins,
  };
  const netnsDirBefore = process.env.CTRNET_NETNS_DIR;
  // Gates of the slow bridge plugin: it says when an ADD has begun, and waits to be let go.
  const addStarted = join(tmp, "add-started");
  const addGo = join(tmp, "add-go");
  const addResumed = join(tmp, "add-resumed");
  const boundOverEtc: string[] = [];

  /** A fake host file seen in place of the real one by everything in this private mount namespace. */
  function bindOverEtc(file: string, content: string): void {
    writeFileSync(join(dirs.etc, file), content);
    expect(run(["mount", "--bind", join(dirs.etc, file), `/etc/${file}`]).ok).toBe(true);
    boundOverEtc.push(`/etc/${file}`);
  }

  beforeAll(() => {
    ensureBinary();
    // The leak check in test/preload.ts watches this directory too.
    process.env.CTRNET_NETNS_DIR = dirs.netns;
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    const conflist = (name: string, bridgeType: string, secondType = "portmap") => {
      const conf = bridgeConflist({ name, bridge, subnets: [`${prefix}.0/24`], ipamDataDir: dirs.ipam }) as {
        plugins: { type: string }[];
      };
      conf.plugins[0]!.type = bridgeType;
      conf.plugins[1]!.type = secondType;
      writeFileSync(join(dirs.conf, `${name}.conflist`), JSON.stringify(conf, null, 2));
    };
    // the main network is served by the plugin under test; the slow and the failing one need the chain's hooks
    const main = { name: network, bridge, subnets: [`${prefix}.0/24`], ipamDataDir: dirs.ipam };
    writeFileSync(join(dirs.conf, `${network}.conflist`), JSON.stringify(testBridgeConflist(main), null, 2));
    conflist(slowNetwork, "slowbridge");
    conflist(failingNetwork, "bridge", "refuse");
    // Fails every ADD after bridge has made the veth, so that the undo has something to undo.
    writeFileSync(
      join(dirs.plugins, "refuse"),
      ["#!/bin/sh", `[ "$CNI_COMMAND" = ADD ] || exit 0`, `echo '{"cniVersion":"1.0.0","code":999,"msg":"refused by the test"}'`, "exit 1", ""].join("\n"),
    );
    chmodSync(join(dirs.plugins, "refuse"), 0o755);
    writeFileSync(
      join(dirs.plugins, "slowbridge"),
      [
        "#!/bin/sh",
        `if [ "$CNI_COMMAND" = ADD ]; then`,
        `  touch '${addStarted}'`,
        `  while [ ! -e '${addGo}' ]; do sleep 0.05; done`,
        `  touch '${addResumed}'`,
        "fi",
        'exec /usr/lib/cni/bridge "$@"',
        "",
      ].join("\n"),
    );
    chmodSync(join(dirs.plugins, "slowbridge"), 0o755);
    writeFileSync(join(dirs.www, "index.html"), `served from inside ${id}\n`);
    // Made here, not by the first run, so it belongs to the state every test starts from.
    expect(run(["ip", "link", "add", bridge, "type", "bridge"]).ok).toBe(true);
    prepareTestNetwork({ bridge, subnets: [`${prefix}.0/24`] });
    bindOverEtc("resolv.conf", "nameserver 127.0.0.53\nnameserver 10.9.8.7\nnameserver ::1\nsearch run.example\noptions ndots:3\n");
    bindOverEtc("hosts", "127.0.0.1 localhost\n127.0.1.1 the-host-itself\n");
  });

  afterAll(() => {
    for (const path of boundOverEtc) run(["umount", path]);
    run(["ip", "link", "del", bridge]);
    removeNetworkFirewall({ bridge, subnets: [`${prefix}.0/24`] });
    try {
      libc.umount2(dirs.netns, libc.MNT_DETACH);
    } catch {
      // never made a mount point
    }
    rmSync(tmp, { recursive: true, force: true });
    if (netnsDirBefore === undefined) delete process.env.CTRNET_NETNS_DIR;
    else process.env.CTRNET_NETNS_DIR = netnsDirBefore;
  });

  const runArgs = (args: string[], command: string[]) => ["run", "--network", network, ...args, "--", ...command];

  function start(args: string[], command: string[], networkName = network) {
    return Bun.spawn([BINARY, "run", "--network", networkName, ...args, "--", ...command], {
      env: { ...process.env, ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
  }

  /** Reads a stream on until its text contains needle, and hands back the reader for what follows. */
  async function readUntil(stream: ReadableStream<Uint8Array>, needle: string) {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before "${needle}": ${JSON.stringify(text)}`);
      text += decoder.decode(value, { stream: true });
    }
    const rest = async (): Promise<string> => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
      return text;
    };
    return { rest };
  }

  async function waitFor(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
    // A bound for a broken run, not a timing assertion.
    const deadline = Date.now() + 20_000;
    while (!(await ready())) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await Bun.sleep(50);
    }
  }

  const listDir = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

  /** Everything a run could leave: record, netns, veth, firewall chain, address, cached result, /etc files. */
  function expectNothingLeft(): void {
    const state = openState({ root: dirs.root });
    try {
      expect(state.list()).toEqual([]);
    } finally {
      state.close();
    }
    expect(listDir(dirs.netns)).toEqual([]);
    expect(hostVeths()).toEqual([]);
    expect(perContainerChains()).toEqual([]);
    expect(ipamAllocations(dirs.ipam, network)).toEqual([]);
    expect(ipamAllocations(dirs.ipam, slowNetwork)).toEqual([]);
    expect(ipamAllocations(dirs.ipam, failingNetwork)).toEqual([]);
    expect(listDir(join(dirs.cache, "results"))).toEqual([]);
    expect(listDir(join(dirs.root, "containers"))).toEqual([]);
  }

  test("returns the command's exit status", () => {
    expect(ctrnet(runArgs([], ["sh", "-c", "exit 3"]), env)).toEqual({ code: 3, stdout: "", stderr: "" });
    expect(ctrnet(runArgs([], ["true"]), env).code).toBe(0);
    expectNothingLeft();
  });

  test("the command runs in a namespace of its own with an address on the network", () => {
    const r = ctrnet(runArgs([], ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]), env);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(` inet ${prefix}.`);
    expectNothingLeft();
  });

  test("resolv.conf keeps the host's reachable nameservers, search and options, and no loopback one", () => {
    const r = ctrnet(runArgs([], ["cat", "/etc/resolv.conf"]), env);
    expect(r).toEqual({ code: 0, stdout: "search run.example\nnameserver 10.9.8.7\noptions ndots:3\n", stderr: "" });
    expectNothingLeft();
  });

  test("/etc/hosts names the container at its own address, and the gateway as host.containers.internal and host.docker.internal (podman 5)", () => {
    const name = `web-${id}`;
    const r = ctrnet(runArgs(["--name", name], ["cat", "/etc/hosts"]), env);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("127.0.0.1 localhost");
    expect(lines[1]).toBe(`${prefix}.1\thost.containers.internal host.docker.internal`);
    expect(lines[2]).toMatch(new RegExp(`^${prefix.replaceAll(".", "\\.")}\\.\\d+\\t[0-9a-f]{12} ${name}$`));
    expect(r.stdout).not.toContain("the-host-itself");
    expectNothingLeft();
  });

  test("--network container:ID runs the command in that container's netns, not the host's", () => {
    const target = `share-${id}`;
    expect(ctrnet(["create", "--network", network, target], env).code).toBe(0);
    try {
      const [inspected] = JSON.parse(ctrnet(["inspect", target], env).stdout);
      const r = ctrnet(["run", "--network", `container:${target}`, "--", "ip", "-o", "-4", "addr", "show"], env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(` inet ${inspected.NetworkSettings.IPAddress}/24`);
      expect(r.stdout).not.toContain(bridge);
    } finally {
      expect(ctrnet(["rm", target], env).code).toBe(0);
    }
    expectNothingLeft();
  });

  test("--network none: only loopback inside, no loopback nameserver, no fallback", () => {
    const r = ctrnet(["run", "--network", "none", "--", "sh", "-c", "ip -o link | wc -l; cat /etc/resolv.conf /etc/hosts"], env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    // as podman's: the container's names at 127.0.0.1 (its id and short id here, no --name)
    expect(r.stdout).toMatch(/^1\nsearch run\.example\nnameserver 10\.9\.8\.7\noptions ndots:3\n127\.0\.0\.1 localhost\n127\.0\.0\.1\t[0-9a-f]{12} [0-9a-f]{64}\n$/);
    expectNothingLeft();
  });

  test("the host's /etc is untouched by a run", () => {
    ctrnet(runArgs([], ["true"]), env);
    expect(run(["cat", "/etc/resolv.conf"]).out).toContain("nameserver 127.0.0.53");
  });

  test("a published port answers from inside; SIGTERM to ctrnet ends the command and removes everything", async () => {
    // below the ephemeral range: a client connection of an earlier test may hold a port above it
    const port = 20000 + (Number.parseInt(id, 16) % 10000);
    const child = start(["-p", `127.0.0.1:${port}:80`], ["busybox", "httpd", "-f", "-p", "80", "-h", dirs.www]);
    const url = `http://127.0.0.1:${port}/`;
    let page = "";
    await waitFor(`${url} to answer`, async () => {
      if (child.exitCode !== null) throw new Error(`ctrnet run exited with ${child.exitCode}: ${await new Response(child.stderr).text()}`);
      try {
        page = await (await fetch(url)).text();
        return true;
      } catch {
        return false;
      }
    });
    expect(page).toBe(`served from inside ${id}\n`);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(128 + 15);
    expect(await new Response(child.stderr).text()).toBe("");
    expectNothingLeft();
    await expect(fetch(url)).rejects.toThrow();
  }, ASYNC_TEST_TIMEOUT_MS);

  test("run holds its published host ports while the command runs, as podman's conmon does; they are free after", async () => {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const proc = start(["-p", `127.0.0.1:${port}:80`], ["sh", "-c", "echo started; exec sleep 30"]);
    await readUntil(proc.stdout, "started");
    expect(() => Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } })).toThrow();
    const other = ctrnet(["create", "--network", network, "-p", `${port}:80`, `other-${id}`], env);
    expect(other.code).toBe(2);
    proc.kill("SIGTERM");
    await proc.exited;
    const listener = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    listener.stop(true);
    expectNothingLeft();
  });

  test("SIGINT is passed on to the command, and its own exit status comes back", async () => {
    const child = start([], ["sh", "-c", 'trap "echo got INT; exit 7" INT; echo ready; while :; do sleep 0.05; done']);
    const out = await readUntil(child.stdout, "ready\n");
    child.kill("SIGINT");
    expect(await child.exited).toBe(7);
    expect(await out.rest()).toBe("ready\ngot INT\n");
    expectNothingLeft();
  }, ASYNC_TEST_TIMEOUT_MS);

  test("^C at a terminal reaches the command once: the terminal sends it to the command, and ctrnet does not again", async () => {
    // The command counts its SIGINTs; `script` gives ctrnet a terminal whose foreground group it and the command share.
    const counter = join(tmp, "count-int.js");
    writeFileSync(
      counter,
      'let n = 0; process.on("SIGINT", () => { if (++n === 1) setTimeout(() => { console.log(`count=${n}`); process.exit(0); }, 700); }); console.log("ready"); setInterval(() => {}, 1000);',
    );
    const command = `exec ${BINARY} ${runArgs([], [process.execPath, counter]).join(" ")}`;
    const terminal = Bun.spawn(["script", "-qefc", command, "/dev/null"], { env: { ...process.env, ...env }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const out = await readUntil(terminal.stdout, "ready");
    terminal.stdin.write("\x03"); // what ^C types
    await terminal.stdin.flush();
    expect(await terminal.exited).toBe(0);
    expect((await out.rest()).replaceAll("\r", "")).toBe("ready\n^Ccount=1\n");
    terminal.stdin.end();
    expectNothingLeft();
  }, ASYNC_TEST_TIMEOUT_MS);

  test("^C at a terminal during the CNI ADD: the plugin, in a session of its own, completes it; then ctrnet tears down", async () => {
    for (const f of [addStarted, addGo, addResumed]) rmSync(f, { force: true });
    const command = `exec ${BINARY} ${runArgs([], ["sh", "-c", "echo started"]).join(" ").replace(`--network ${network}`, `--network ${slowNetwork}`)}`;
    const terminal = Bun.spawn(["script", "-qefc", command, "/dev/null"], { env: { ...process.env, ...env }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    await waitFor("the CNI ADD to begin", () => existsSync(addStarted));
    terminal.stdin.write("\x03");
    await terminal.stdin.flush();
    // the terminal signals its foreground group before it echoes ^C: ctrnet has it before the plugin is let go
    const out = await readUntil(terminal.stdout, "^C");
    writeFileSync(addGo, "");
    expect(await terminal.exited).toBe(128 + 2);
    terminal.stdin.end();
    expect(existsSync(addResumed)).toBe(true);
    expect(await out.rest()).not.toContain("started");
    expectNothingLeft();
  }, ASYNC_TEST_TIMEOUT_MS);

  test("SIGTERM before the command starts cancels it and still tears down", async () => {
    rmSync(addStarted, { force: true });
    rmSync(addGo, { force: true });
    const child = start([], ["sh", "-c", "echo started"], slowNetwork);
    await waitFor("the CNI ADD to begin", () => existsSync(addStarted));
    // Delivered at once; the plugin, still waiting for addGo, finishes only after ctrnet has it.
    child.kill("SIGTERM");
    writeFileSync(addGo, "");
    expect(await child.exited).toBe(128 + 15);
    expect(await new Response(child.stdout).text()).toBe("");
    expectNothingLeft();
  }, ASYNC_TEST_TIMEOUT_MS);

  for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
    test(`create: ${signal} during the CNI ADD lets the plugin finish, then undoes everything; exit 128 + its number`, async () => {
      rmSync(addStarted, { force: true });
      rmSync(addGo, { force: true });
      rmSync(addResumed, { force: true });
      const child = Bun.spawn([BINARY, "create", "--network", slowNetwork, "-p", "127.0.0.1:18777:80", `sig-${id}`], {
        env: { ...process.env, ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      await waitFor("the CNI ADD to begin", () => existsSync(addStarted));
      child.kill(signal);
      writeFileSync(addGo, "");
      expect(await child.exited).toBe(128 + constants.signals[signal]);
      expect(existsSync(addResumed)).toBe(true);
      expect(await new Response(child.stdout).text()).toBe("");
      expectNothingLeft();
    }, ASYNC_TEST_TIMEOUT_MS);
  }

  test("a command that does not exist gives 127, one error line, and nothing left", () => {
    expect(ctrnet(runArgs([], ["/nonexistent/cmd", "x"]), env)).toEqual({
      code: 127,
      stdout: "",
      stderr: `ctrnet: error: cannot run "/nonexistent/cmd": command not found\n`,
    });
    expectNothingLeft();
  });

  test("a command that cannot be executed gives 126", () => {
    const r = ctrnet(runArgs([], [join(dirs.www, "index.html")]), env);
    expect(r.code).toBe(126);
    expect(r.stderr).toBe(`ctrnet: error: cannot run "${join(dirs.www, "index.html")}": permission denied\n`);
    expectNothingLeft();
  });

  test("a network that fails to set up gives 125, one error line, and nothing left; the command never runs", () => {
    const r = ctrnet(["run", "--network", failingNetwork, "--", "sh", "-c", "echo started"], env);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ctrnet: error: [^\n]*refused by the test[^\n]*\n$/);
    expectNothingLeft();
  });

  test.each<[string, string[]]>([
    ["no command", ["run", "--network", network]],
    ["nothing after --", ["run", "--network", network, "--"]],
    ["a command without --", ["run", "--network", network, "true"]],
    ["a bad port", ["run", "--network", network, "-p", "notaport", "--", "true"]],
    ["a bad name", ["run", "--network", network, "--name", "bad name", "--", "true"]],
    ["an unknown network", ["run", "--network", `nosuch-${id}`, "--", "true"]],
    ["an unknown option", ["run", "--network", network, "--bogus", "--", "true"]],
  ])("bad input (%s) exits 2 with one error line and leaves nothing", (_, args) => {
    const r = ctrnet(args, env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ctrnet: error: [^\n]+\n$/);
    expectNothingLeft();
  });
});
