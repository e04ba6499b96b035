// --format, inspect of several and network ls's options side by side with podman 4 (CNI backend): both tools
// read the same conflists (podman's network_config_dir is the test's config dir), so for the same template
// both must print the same bytes. podman keeps its state in the test's directories.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { busyboxRootfs, hideHybridCgroup2 } from "./hook-helpers.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";
import { freePorts } from "../helpers/http.ts";

const runnable = privileged && Bun.which("podman") !== null;

describe.skipIf(!runnable)("--format and listings beside podman", () => {
  let inst: Installation;
  let podmanEnv: Record<string, string>;
  let podmanArgs: string[];
  const tag = hex(3);
  const names = { plain: `fmt${tag}-a`, labelled: `fmt${tag}-b`, internal: `fmt${tag}-c` };

  function podman(args: string[]) {
    const r = Bun.spawnSync(["podman", ...podmanArgs, ...args], { env: podmanEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  /** The same arguments to both tools: podman's output, then ctrnet's. */
  function both(args: string[]) {
    return { podman: podman(args), ctrnet: inst.cli(args) };
  }

  function same(args: string[]): string {
    const r = both(args);
    expect({ args, code: r.ctrnet.code, stdout: r.ctrnet.stdout }).toEqual({ args, code: 0, stdout: r.podman.stdout });
    expect({ args, podman: r.podman.code }).toEqual({ args, podman: 0 });
    return r.ctrnet.stdout;
  }

  beforeAll(() => {
    inst = new Installation();
    const conf = join(inst.dir, "containers.conf");
    writeFileSync(conf, `[network]\nnetwork_backend = "cni"\nnetwork_config_dir = "${inst.env.CTRNET_CNI_CONFIG_DIR}"\n`);
    podmanEnv = { ...process.env, CONTAINERS_CONF: conf } as Record<string, string>;
    podmanArgs = [
      "--root", join(inst.dir, "podman-root"),
      "--runroot", join(inst.dir, "podman-runroot"),
      "--tmpdir", join(inst.dir, "podman-tmp"),
      "--cgroup-manager", "cgroupfs",
      "--events-backend", "file",
    ];
    // podman writes the conflists; ctrnet reads them as any CNI runtime's
    expect(podman(["network", "create", "--subnet", "10.231.1.0/24", "--label", "team=a", names.plain]).code).toBe(0);
    expect(podman(["network", "create", "--subnet", "10.231.2.0/24", "--label", "team=a", "--label", "env=prod", names.labelled]).code).toBe(0);
    expect(podman(["network", "create", "--subnet", "10.231.3.0/24", "--internal", "--label", "team=b", names.internal]).code).toBe(0);
  });

  afterAll(() => {
    if (inst) for (const name of Object.values(names)) podman(["network", "rm", "-f", name]);
    inst?.dispose();
  });

  const ours = ["--filter", `name=^fmt${tag}-`];

  test("network ls: the default table, and templates podman's docs use, print the same bytes", () => {
    const table = same(["network", "ls", ...ours]);
    expect(table.split("\n")[0]).toMatch(/^NETWORK ID {4}NAME +DRIVER$/);
    for (const format of [
      "{{.Name}} {{.ID}} {{.Driver}}",
      "table {{.ID}} {{.Name}}",
      "table {{.Name}}\\t{{.NetworkInterface}}\\t{{.Internal}}\\t{{.DNSEnabled}}\\t{{.IPAMOptions}}",
      "{{.Name}}{{range .Subnets}} {{.Subnet}} via {{.Gateway}}{{end}}",
      "{{if .Internal}}{{upper .Name}}{{else}}{{lower .Name}}{{end}}:{{len .Subnets}}",
      '{{printf "%-20s|" .Name}}{{.Driver | upper}}',
      "{{- .Name -}}   {{/* a comment */}}\\t{{ .Internal }}",
      "{{json .Name}} {{json .Internal}}",
    ]) {
      same(["network", "ls", ...ours, "--format", format]);
    }
    same(["network", "ls", ...ours, "--noheading", "--format", "table {{.Name}} {{.Driver}}"]);
    same(["network", "ls", ...ours, "--no-trunc"]);
    same(["network", "ls", ...ours, "--no-trunc", "--format", "{{.ID}} {{.Network.ID}}"]);
  });

  test("network ls --filter: labels AND, names and drivers OR, as podman's", () => {
    for (const filters of [
      ["label=team=a"],
      ["label=team=a", "label=env"],
      ["label=team", "label=env=prod"],
      ["label=team=b", "label=env"],
      [`name=${names.plain}`, `name=${names.internal}`],
      ["driver=bridge", "label=team=b"],
    ]) {
      same(["network", "ls", "-q", ...ours, ...filters.flatMap((f) => ["--filter", f])]);
    }
  });

  test("network inspect --format: fields, maps, nested ranges", () => {
    for (const format of [
      "{{.Name}} {{.ID}} {{.Driver}} {{.NetworkInterface}} {{.Internal}}",
      "{{.Labels}} {{json .Labels}} {{index .Labels \"team\"}}",
      "{{range .Subnets}}{{.Subnet}}/{{.Gateway}} {{end}}",
      "{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}",
    ]) {
      same(["network", "inspect", "--format", format, names.labelled, names.internal]);
    }
  });

  test("network inspect A MISSING B: both print A and B, then fail", () => {
    const r = both(["network", "inspect", names.plain, "nope", names.internal]);
    const shown = (stdout: string) => (JSON.parse(stdout) as { name: string }[]).map((n) => n.name);
    expect(shown(r.ctrnet.stdout)).toEqual(shown(r.podman.stdout));
    expect(shown(r.ctrnet.stdout)).toEqual([names.plain, names.internal]);
    expect(r.podman.code).not.toBe(0);
    expect(r.ctrnet.code).toBe(1);
    expect(r.ctrnet.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("a bad template: podman fails, ctrnet exits 2 with one line naming the problem and where", () => {
    for (const [format, message] of [
      ["{{.Nope}}", '1:3: can\'t evaluate field Nope'],
      ["{{.Name", "unclosed action"],
      ["{{range .Subnets}}", "has no {{end}}"],
      ["{{nosuch .Name}}", 'function "nosuch" not defined'],
    ] as const) {
      const r = both(["network", "ls", ...ours, "--format", format]);
      expect(r.podman.code).not.toBe(0);
      expect({ format, code: r.ctrnet.code, stdout: r.ctrnet.stdout }).toEqual({ format, code: 2, stdout: "" });
      expect(r.ctrnet.stderr).toStartWith(`ctrnet: error: invalid --format ${JSON.stringify(format)}: `);
      expect(r.ctrnet.stderr).toContain(message);
      expect(r.ctrnet.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
  });

  test("network rm -f of a missing network: exit 0, silent, as podman's", () => {
    const r = both(["network", "rm", "-f", `gone${tag}`]);
    expect(r.ctrnet).toEqual({ code: 0, stdout: "", stderr: "" });
    expect({ code: r.podman.code, stdout: r.podman.stdout }).toEqual({ code: 0, stdout: "" });
  });

  test("container inspect --format: the same template shows the same fields of a podman and a ctrnet container on one network", () => {
    const restoreCgroups = hideHybridCgroup2();
    const podName = `fmtpod${tag}`;
    const ourId = `fmtctr${tag}`;
    const podPort = freePorts(2);
    const ourPort = podPort + 1;
    try {
      const dir = join(inst.dir, podName);
      mkdirSync(dir);
      const run = podman([
        "run", "-d", "--name", podName, "--network", names.plain, "--ip", "10.231.1.5", "-p", `127.0.0.1:${podPort}:80`,
        // this machine's hard limits are below podman's defaults, which the runtime would fail to set
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
        "--rootfs", busyboxRootfs(dir, "x"), "/bin/sleep", "600",
      ]);
      expect(run).toMatchObject({ code: 0 });
      const podId = run.stdout.trim();
      inst.ok(["create", "--network", names.plain, "--ip", "10.231.1.6", "-p", `127.0.0.1:${ourPort}:80`, "--name", `n${ourId}`, ourId]);
      // each tool's own values become the same placeholders
      const neutral = (text: string, id: string, name: string, ip: string, port: number) =>
        text.replaceAll(name, "NAME").replaceAll(id, "ID").replaceAll(ip, "IP").replaceAll(String(port), "PORT");
      for (const format of [
        `{{with index .NetworkSettings.Networks "${names.plain}"}}{{.IPAddress}} {{.IPPrefixLen}} {{.Gateway}}{{end}}`,
        "{{.Id}} {{.ID}} {{.Name}}",
        "{{range $net, $conf := .NetworkSettings.Networks}}{{$net}}: {{$conf.IPAddress}}/{{$conf.IPPrefixLen}} via {{$conf.Gateway}}{{end}}",
        '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}} {{(index (index .NetworkSettings.Ports "80/tcp") 0).HostIP}}',
        "{{json .NetworkSettings.Ports}}",
        "{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{range $conf}}{{.HostIP}}:{{.HostPort}}{{end}}{{end}}",
        "{{len .NetworkSettings.Networks}}\t{{with .NetworkSettings}}{{.SandboxKey | len | lt 0}}{{end}}",
      ]) {
        const theirs = podman(["container", "inspect", "--format", format, podName]);
        const mine = inst.cli(["inspect", "--format", format, `n${ourId}`]);
        expect({ format, code: theirs.code }).toEqual({ format, code: 0 });
        expect({ format, code: mine.code, stderr: mine.stderr }).toEqual({ format, code: 0, stderr: "" });
        expect({ format, out: neutral(mine.stdout, ourId, `n${ourId}`, "10.231.1.6", ourPort) }).toEqual({
          format,
          out: neutral(theirs.stdout, podId, podName, "10.231.1.5", podPort),
        });
      }

      // several: those found, in order, then a failure naming the missing one
      const mine = inst.cli(["inspect", ourId, "nope", `n${ourId}`]);
      const theirs = podman(["container", "inspect", podName, "nope", podName]);
      const ids = (stdout: string) => (JSON.parse(stdout) as { Id: string }[]).map((c) => c.Id);
      expect(ids(mine.stdout)).toEqual([ourId, ourId]);
      expect(ids(theirs.stdout)).toEqual([podId, podId]);
      expect(theirs.code).not.toBe(0);
      expect(mine.code).toBe(1);
      expect(theirs.stderr).toContain("no such container");
      expect(mine.stderr).toContain("no such container");
      expect(mine.stderr.trimEnd().split("\n")).toHaveLength(1);
    } finally {
      podman(["rm", "-f", "-t", "0", podName]);
      // podman's bridge plugin leaves the network's bridge behind
      const bridge = podman(["network", "inspect", "--format", "{{.NetworkInterface}}", names.plain]).stdout.trim();
      if (bridge) Bun.spawnSync(["ip", "link", "del", bridge]);
      inst.cli(["rm", "-f", ourId]);
      restoreCgroups();
    }
  }, 60_000);
});

// ls and port have no podman twin with the same fields (podman port has no --format): checked on their own.
describe.skipIf(!privileged)("ls and port --format", () => {
  let inst: Installation;
  let net: TestNetwork;
  beforeAll(() => {
    inst = new Installation();
    net = inst.network("fmt");
  });
  afterAll(() => inst?.dispose());

  test("ls and port: templates, table headers, json, --quiet, --noheading", () => {
    const id = `fmtls${hex(4)}`;
    const port = freePorts(3);
    inst.ok(["create", "--network", net.name, "--name", `n${id}`, "-p", `127.0.0.1:${port}-${port + 1}:80-81`, "-p", `${port + 2}:53/udp`, id]);
    try {
      expect(inst.ok(["ls", "--format", "{{.ID}} {{.Name}} {{.State}} {{.Mode}} {{.Networks}} {{.Interfaces}}"])).toBe(
        `${id.slice(0, 12)} n${id} ready bridge ${net.name} [eth0]\n`,
      );
      expect(inst.ok(["ls", "--format", "table {{.ID}} {{.Name}}"])).toBe(
        `CONTAINER ID  NAME\n${id.slice(0, 12).padEnd(14)}n${id}\n`,
      );
      expect(inst.ok(["ls", "-n", "--format", "table {{.Name}}"])).toBe(`n${id}\n`);
      expect(inst.ok(["ls", "-q"])).toBe(`${id.slice(0, 12)}\n`);
      expect(inst.ok(["ls", "--noheading"]).split("\n")[0]).toStartWith(id.slice(0, 12));
      expect(JSON.parse(inst.ok(["ls", "--format", "{{json .}}"]))).toEqual(JSON.parse(inst.ok(["ls", "--format", "json"])));

      expect(inst.ok(["port", "--format", "{{.HostIP}}:{{.HostPort}}->{{.ContainerPort}}/{{.Protocol}} x{{.Range}}", id])).toBe(
        `127.0.0.1:${port}->80/tcp x2\n:${port + 2}->53/udp x1\n`,
      );
      expect(inst.ok(["port", "--format", "table {{.ContainerPort}} {{.Protocol}}", id, "53/udp"])).toBe("CONTAINER PORT  PROTOCOL\n53              udp\n");
      expect(JSON.parse(inst.ok(["port", "--format", "json", id, "81"]))).toEqual([
        { host_ip: "127.0.0.1", container_port: 80, host_port: port, range: 2, protocol: "tcp" },
      ]);
      const missing = inst.cli(["port", "--format", "{{.HostPort}}", id, "82"]);
      expect({ code: missing.code, stdout: missing.stdout }).toEqual({ code: 1, stdout: "" });
      expect(missing.stderr).toContain('failed to find published port "82/tcp"');
    } finally {
      inst.cli(["rm", "-f", id]);
    }
  });
});
