// `ctrnet hook` as a runtime calls it, without a runtime: stand-in containers are processes in a netns of
// their own and bundles with just a config.json. Bad input exits 2 with one line and makes nothing;
// repeated and concurrent calls are safe; poststop works after the process is gone and for unknown ids;
// a container joining another's netns gets nothing of its own; /etc files go into the root filesystem
// only when asked, and come back out at poststop.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { bareBundle, hook, hookAsync, inOwnNetns, ociState, sleeper } from "./hook-helpers.ts";
import { hex, Installation, privileged, run, stopProcess, type TestNetwork } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("ctrnet hook", () => {
  let inst: Installation;
  let net: TestNetwork;
  let dnsNet: TestNetwork;
  const procs: Subprocess[] = [];

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("hook");
    dnsNet = inst.network("hookdns");
    // as `network create` writes it: ctrnet's DNS server answers on this network
    const file = join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${dnsNet.name}.conflist`);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), args: { ctrnet_dns: true } }));
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) await stopProcess(p);
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  async function container(): Promise<Subprocess> {
    const p = sleeper();
    procs.push(p);
    await inOwnNetns(p);
    return p;
  }

  const annotations = (extra: Record<string, string> = {}) => ({ "io.ctrnet.network": net.name, ...extra });
  const ids = () => (JSON.parse(inst.ok(["ls", "--format", "json"])) as { id: string }[]).map((c) => c.id).sort();
  const addressOf = (id: string): string => inst.inspect(id).NetworkSettings.IPAddress;

  test("bad state JSON or bad annotations: exit 2, one line on stderr, nothing created", async () => {
    const p = await container();
    const bundle = bareBundle(inst.dir);
    const good = { id: `bad-${hex(3)}`, pid: p.pid, bundle };
    const cases: [string, string][] = [
      ["{", "invalid OCI state on stdin: not JSON"],
      ["", "invalid OCI state on stdin: not JSON"],
      [JSON.stringify({ ociVersion: "1.0.2", id: "x", status: "creating", pid: "1", bundle }), "invalid OCI state on stdin: pid: expected number"],
      [JSON.stringify({ ociVersion: "1.0.2", status: "creating", pid: 1, bundle }), "invalid OCI state on stdin: id: missing"],
      [JSON.stringify({ ociVersion: "1.0.2", id: "x", status: "running", pid: 1, bundle: "rel" }), "invalid OCI state on stdin: bundle: expected an absolute path"],
      [JSON.stringify({ ociVersion: "1.0.2", id: "x", status: "creating", pid: 1, bundle, annotations: { a: 1 } }), 'invalid OCI state on stdin: annotations.a: expected string'],
      [ociState({ ...good, annotations: annotations({ "io.ctrnet.publish": "99999:80" }) }), "annotation io.ctrnet.publish: invalid port spec"],
      [ociState({ ...good, annotations: annotations({ "io.ctrnet.ip": "10.0.0.300" }) }), "annotation io.ctrnet.ip:"],
      [ociState({ ...good, annotations: annotations({ "io.ctrnet.mac": "zz" }) }), "annotation io.ctrnet.mac:"],
      [ociState({ ...good, annotations: annotations({ "io.ctrnet.aliases": "ok,-bad" }) }), "annotation io.ctrnet.aliases:"],
      [ociState({ ...good, annotations: annotations({ "io.ctrnet.write-etc": "yes" }) }), "annotation io.ctrnet.write-etc: expected true or false"],
      [ociState({ ...good, annotations: annotations({ "io.ctrnet.publsh": "80" }) }), "unknown annotation io.ctrnet.publsh"],
      [ociState({ ...good, annotations: { "io.ctrnet.network": "no-such-net" } }), 'unable to find network with name or ID no-such-net: network not found'],
      [ociState({ ...good, id: "bad/id", annotations: annotations() }), 'invalid container id "bad/id"'],
      [ociState({ ...good, pid: 0, annotations: annotations() }), "pid: missing"],
      [ociState({ ...good, pid: process.pid, annotations: annotations() }), "runtime's own network namespace"],
      [ociState({ ...good, bundle: bareBundle(inst.dir, { linux: { namespaces: [{ type: "mount" }] } }), annotations: annotations() }), "has no network namespace of its own"],
      [ociState({ ...good, bundle: join(inst.dir, "nowhere"), annotations: annotations() }), "cannot read the bundle's"],
    ];
    for (const [state, message] of cases) {
      const r = hook(inst, "createRuntime", state);
      expect({ state, code: r.code, lines: r.stderr.split("\n").filter(Boolean).length }).toEqual({ state, code: 2, lines: 1 });
      expect(r.stderr).toStartWith("ctrnet: error: ");
      expect(r.stderr).toContain(message);
    }
    expect(ids()).toEqual([]);
  }, 30_000);

  test("the runtime's name for the container (nerdctl, containerd's CRI, CRI-O annotations) is its name in ls; a name taken already is left out", async () => {
    const bundle = bareBundle(inst.dir);
    const made: [string, Record<string, string>, string | null][] = [
      [`nerd-${hex(3)}`, { "nerdctl/name": "web" }, "web"],
      [`cri-${hex(3)}`, { "io.kubernetes.cri.container-name": "api" }, "api"],
      [`crio-${hex(3)}`, { "io.kubernetes.cri-o.ContainerName": "k8s_db_pod_ns_0" }, "k8s_db_pod_ns_0"],
      [`again-${hex(3)}`, { "nerdctl/name": "web" }, null],
      [`odd-${hex(3)}`, { "nerdctl/name": "not a name" }, null],
    ];
    for (const [id, extra] of made) {
      const p = await container();
      expect(hook(inst, "createRuntime", ociState({ id, pid: p.pid, bundle, annotations: annotations(extra) })).code).toBe(0);
    }
    const listed = JSON.parse(inst.ok(["ls", "--format", "json"])) as { id: string; name: string | null }[];
    for (const [id, , name] of made) expect({ id, name: listed.find((c) => c.id === id)?.name ?? null }).toEqual({ id, name });
    for (const [id] of made) expect(hook(inst, "poststop", ociState({ id, pid: 0, bundle, status: "stopped" })).code).toBe(0);
  });

  test("many containers at once all get networks; a repeated call changes nothing; poststop after the processes are gone", async () => {
    const bundle = bareBundle(inst.dir);
    const stand = await Promise.all(Array.from({ length: 5 }, () => container()));
    const names = stand.map(() => `many-${hex(4)}`);
    const results = await Promise.all(
      stand.map((p, i) => hookAsync(inst, "createRuntime", ociState({ id: names[i]!, pid: p.pid, bundle, annotations: annotations({ "io.ctrnet.publish": "80" }) }))),
    );
    expect(results.map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual(names.map(() => ({ code: 0, stderr: "" })));
    expect(ids()).toEqual([...names].sort());
    const addresses = names.map(addressOf);
    expect(new Set(addresses).size).toBe(5);
    for (const a of addresses) expect(a).toStartWith(`${net.prefix}.`);

    const before = inst.inspect(names[0]!);
    const again = ociState({ id: names[0]!, pid: stand[0]!.pid, bundle, status: "created", annotations: annotations({ "io.ctrnet.publish": "80" }) });
    expect(hook(inst, "createRuntime", again)).toMatchObject({ code: 0, stderr: "" });
    expect(hook(inst, "prestart", again)).toMatchObject({ code: 0, stderr: "" });
    expect(inst.inspect(names[0]!)).toEqual(before);

    for (const p of procs.splice(0)) await stopProcess(p);
    const stops = await Promise.all(names.map((id) => hookAsync(inst, "poststop", ociState({ id, bundle, status: "stopped" }))));
    expect(stops.map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual(names.map(() => ({ code: 0, stderr: "" })));
    expect(ids()).toEqual([]);
  }, 30_000);

  test("two calls racing for one id make one network", async () => {
    const p = await container();
    const id = `race-${hex(4)}`;
    const state = ociState({ id, pid: p.pid, bundle: bareBundle(inst.dir), annotations: annotations() });
    const [a, b] = await Promise.all([hookAsync(inst, "createRuntime", state), hookAsync(inst, "prestart", state)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(ids()).toEqual([id]);
    const inside = run(["nsenter", `--net=/proc/${p.pid}/ns/net`, "ip", "-o", "-4", "addr", "show", "scope", "global"]).out.trim().split("\n");
    expect(inside).toHaveLength(1);
    expect(hook(inst, "poststop", ociState({ id, pid: p.pid, bundle: "/", status: "stopped" })).code).toBe(0);
  });

  test("poststop for an unknown id and the no-op stages exit 0 quietly", () => {
    for (const stage of ["poststop", "createContainer", "startContainer", "poststart"]) {
      expect(hook(inst, stage, ociState({ id: `unknown-${hex(3)}`, bundle: "/nonexistent", status: "stopped" }))).toEqual({ code: 0, stdout: "", stderr: "" });
    }
    expect(hook(inst, "poststop", ociState({ id: "not:an:id", bundle: "/", status: "stopped" }))).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(ids()).toEqual([]);
  });

  test("a record an earlier container of the same id left is replaced", async () => {
    const id = `reused-${hex(4)}`;
    const bundle = bareBundle(inst.dir);
    const first = await container();
    expect(hook(inst, "createRuntime", ociState({ id, pid: first.pid, bundle, annotations: annotations() })).code).toBe(0);
    const second = await container();
    const r = hook(inst, "createRuntime", ociState({ id, pid: second.pid, bundle, annotations: annotations() }));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("removing the network an earlier container of this id left behind");
    expect(ids()).toEqual([id]);
    const inside = run(["nsenter", `--net=/proc/${second.pid}/ns/net`, "ip", "-o", "-4", "addr", "show", "scope", "global"]).out;
    expect(inside).toContain(addressOf(id));
    expect(hook(inst, "poststop", ociState({ id, bundle, status: "stopped" })).code).toBe(0);
  });

  test("joining a ctrnet container's netns configures nothing; joining another netns configures it and leaves the netns", async () => {
    const owner = await container();
    const ownerId = `owner-${hex(4)}`;
    expect(hook(inst, "createRuntime", ociState({ id: ownerId, pid: owner.pid, bundle: bareBundle(inst.dir), annotations: annotations() })).code).toBe(0);
    const joiner = `joiner-${hex(4)}`;
    const sharing = bareBundle(inst.dir, { linux: { namespaces: [{ type: "network", path: `/proc/${owner.pid}/ns/net` }] } });
    expect(hook(inst, "createRuntime", ociState({ id: joiner, pid: owner.pid, bundle: sharing, annotations: annotations() }))).toMatchObject({ code: 0, stderr: "" });
    expect(ids()).toEqual([ownerId]);
    expect(hook(inst, "poststop", ociState({ id: joiner, bundle: sharing, status: "stopped" })).code).toBe(0);
    expect(ids()).toEqual([ownerId]);

    const other = await container();
    const path = `/proc/${other.pid}/ns/net`;
    const joined = `joined-${hex(4)}`;
    const joining = bareBundle(inst.dir, { linux: { namespaces: [{ type: "network", path }] } });
    expect(hook(inst, "createRuntime", ociState({ id: joined, pid: other.pid, bundle: joining, annotations: annotations() })).code).toBe(0);
    expect(inst.inspect(joined).NetworkSettings.SandboxKey).toBe(path);
    expect(hook(inst, "poststop", ociState({ id: joined, bundle: joining, status: "stopped" })).code).toBe(0);
    expect(run(["nsenter", `--net=${path}`, "ip", "-o", "link", "show", "eth0"]).ok).toBe(false);
    expect(ids()).toEqual([ownerId]);
  });

  test("io.ctrnet.ip6, io.ctrnet.expose and io.ctrnet.publish-all (or --ip6, --expose, -P) as create's --ip6, --expose, -P", async () => {
    const name = `hk-ds-${hex(3)}`;
    const octet = 100 + (Number.parseInt(hex(1), 16) % 100);
    const v6 = `fd42:b${hex(1)}:c${hex(1)}::`;
    inst.ok(["network", "create", "--subnet", `10.${octet}.78.0/24`, "--subnet", `${v6}/64`, name]);
    try {
      const bundle = bareBundle(inst.dir);
      const viaAnnotations = `hk-an-${hex(3)}`;
      const a = await container();
      const made = hook(inst, "createRuntime", ociState({
        id: viaAnnotations,
        pid: a.pid,
        bundle,
        annotations: { "io.ctrnet.network": name, "io.ctrnet.ip": `10.${octet}.78.20`, "io.ctrnet.ip6": `${v6}20`, "io.ctrnet.expose": "80 90/udp", "io.ctrnet.publish-all": "true" },
      }));
      expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: "" });
      const settings = inst.inspect(viaAnnotations).NetworkSettings;
      expect(settings.Networks[name].IPAddress).toBe(`10.${octet}.78.20`);
      expect(settings.Networks[name].GlobalIPv6Address).toBe(`${v6}20`);
      expect(Object.keys(settings.Ports).sort()).toEqual(["80/tcp", "90/udp"]);
      expect(Number(settings.Ports["80/tcp"][0].HostPort)).toBeGreaterThan(1023);
      // the same as hook arguments; --ip6 alone is the one static address
      const viaArgs = `hk-ar-${hex(3)}`;
      const b = await container();
      const byArgs = hook(inst, "createRuntime", ociState({ id: viaArgs, pid: b.pid, bundle, annotations: { "io.ctrnet.network": name } }), ["--ip6", `${v6}21`, "--expose", "81,82", "-P"]);
      expect({ code: byArgs.code, stderr: byArgs.stderr }).toEqual({ code: 0, stderr: "" });
      expect(inst.inspect(viaArgs).NetworkSettings.Networks[name].GlobalIPv6Address).toBe(`${v6}21`);
      expect(Object.keys(inst.inspect(viaArgs).NetworkSettings.Ports).sort()).toEqual(["81/tcp", "82/tcp"]);
      // without publish-all the exposed ports are only shown (null in NetworkSettings.Ports, Config.ExposedPorts), as create's
      const shown = `hk-ex-${hex(3)}`;
      const c = await container();
      expect(hook(inst, "createRuntime", ociState({ id: shown, pid: c.pid, bundle, annotations: { "io.ctrnet.network": name, "io.ctrnet.expose": "83" } })).code).toBe(0);
      expect(inst.inspect(shown).NetworkSettings.Ports).toEqual({ "83/tcp": null });
      expect(inst.inspect(shown).Config.ExposedPorts).toEqual({ "83/tcp": {} });
      for (const [id, pid] of [[viaAnnotations, a.pid], [viaArgs, b.pid], [shown, c.pid]] as const) {
        expect(hook(inst, "poststop", ociState({ id, pid, bundle, status: "stopped" })).code).toBe(0);
      }
      // bad values: exit 2, one line, nothing made
      const d = await container();
      for (const [extra, words] of [
        [{ "io.ctrnet.ip6": "10.0.0.5" }, 'annotation io.ctrnet.ip6: invalid IPv6 address "10.0.0.5"'],
        [{ "io.ctrnet.expose": "90/foo" }, "annotation io.ctrnet.expose: validating protocols for exposed port 90"],
        [{ "io.ctrnet.publish-all": "yes" }, 'annotation io.ctrnet.publish-all: expected true or false, got "yes"'],
      ] as const) {
        const bad = hook(inst, "createRuntime", ociState({ id: `hk-bad-${hex(3)}`, pid: d.pid, bundle, annotations: { "io.ctrnet.network": name, ...extra } }));
        expect(bad.code).toBe(2);
        expect(bad.stderr.trim().split("\n")).toEqual([expect.stringContaining(words)]);
      }
      expect(ids()).toEqual([]);
    } finally {
      inst.removeAll();
      inst.cli(["network", "rm", "-f", name]);
    }
  });

  test("a container that joins a netns and dies without poststop (its runtime failed after createRuntime) is collected by gc; the netns stays", async () => {
    const name = `keep-${hex(4)}`;
    const path = `/run/netns/${name}`;
    expect(run(["ip", "netns", "add", name]).ok).toBe(true);
    try {
      const member = Bun.spawn(["ip", "netns", "exec", name, "sleep", "600"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      procs.push(member);
      for (let i = 0; i < 200 && run(["readlink", `/proc/${member.pid}/ns/net`]).out.trim() !== run(["ip", "netns", "exec", name, "readlink", "/proc/self/ns/net"]).out.trim(); i++) await Bun.sleep(5);
      const id = `joins-${hex(4)}`;
      const bundle = bareBundle(inst.dir, { linux: { namespaces: [{ type: "network", path }] } });
      expect(hook(inst, "createRuntime", ociState({ id, pid: member.pid, bundle, annotations: annotations({ "io.ctrnet.publish": "80" }) })).code).toBe(0);
      inst.ok(["gc"]);
      expect(ids()).toEqual([id]);
      await stopProcess(member);
      expect(inst.ok(["gc"])).toBe(`removed container ${id}\n`);
      expect(ids()).toEqual([]);
      expect(run(["ip", "netns", "exec", name, "true"]).ok).toBe(true);
    } finally {
      run(["ip", "netns", "del", name]);
    }
  });

  test("io.ctrnet.write-etc writes resolv.conf and hosts into the rootfs and poststop puts the originals back; without it the rootfs is untouched", async () => {
    const bundle = bareBundle(inst.dir, { hostname: "from-config" });
    const etc = join(bundle, "rootfs/etc");
    mkdirSync(etc);
    writeFileSync(join(etc, "hosts"), "127.0.0.1 image-localhost\n", { mode: 0o600 });
    symlinkSync("../run/resolvconf/resolv.conf", join(etc, "resolv.conf"));
    const listing = () => readdirSync(etc).sort().map((f) => [f, lstatSync(join(etc, f)).mode, lstatSync(join(etc, f)).isSymbolicLink() ? readlinkSync(join(etc, f)) : readFileSync(join(etc, f), "utf8")]);
    const original = listing();

    const plain = await container();
    const plainId = `plain-${hex(4)}`;
    expect(hook(inst, "createRuntime", ociState({ id: plainId, pid: plain.pid, bundle, annotations: annotations() })).code).toBe(0);
    expect(listing()).toEqual(original);
    expect(hook(inst, "poststop", ociState({ id: plainId, bundle, status: "stopped" })).code).toBe(0);

    const p = await container();
    const id = `etc-${hex(4)}`;
    const r = hook(inst, "createRuntime", ociState({ id, pid: p.pid, bundle, annotations: annotations({ "io.ctrnet.write-etc": "true", "io.ctrnet.hostname": "web.example" }) }));
    expect(r).toMatchObject({ code: 0 });
    const address = addressOf(id);
    expect(lstatSync(join(etc, "resolv.conf")).isFile()).toBe(true);
    expect(readFileSync(join(etc, "resolv.conf"), "utf8")).toContain("nameserver ");
    const hosts = readFileSync(join(etc, "hosts"), "utf8");
    expect(hosts).toContain(`${address}\tweb.example ${id.slice(0, 12)}`);
    expect(hosts).toContain(`${net.prefix}.1\thost.containers.internal`);
    expect(readdirSync(etc).sort()).toEqual(["hosts", "resolv.conf"]);

    expect(hook(inst, "poststop", ociState({ id, bundle, status: "stopped" })).code).toBe(0);
    expect(listing()).toEqual(original);

    // --no-hosts (argument or annotation) and io.ctrnet.dns=none (podman's --dns none): the rootfs keeps
    // that file; the other is written and put back
    for (const [args, extra, kept] of [
      [["--no-hosts"], {}, "hosts"],
      [[], { "io.ctrnet.no-hosts": "true" }, "hosts"],
      [[], { "io.ctrnet.dns": "none" }, "resolv.conf"],
      [["--dns", "none"], {}, "resolv.conf"],
    ] as const) {
      const q = await container();
      const qid = `keep-${hex(4)}`;
      expect(hook(inst, "createRuntime", ociState({ id: qid, pid: q.pid, bundle, annotations: annotations({ "io.ctrnet.write-etc": "true", ...extra }) }), [...args])).toMatchObject({ code: 0 });
      const written = kept === "hosts" ? "resolv.conf" : "hosts";
      expect(listing().find(([f]) => f === kept)).toEqual(original.find(([f]) => f === kept));
      expect(lstatSync(join(etc, written)).isFile()).toBe(true);
      expect(hook(inst, "poststop", ociState({ id: qid, bundle, status: "stopped" })).code).toBe(0);
      expect(listing()).toEqual(original);
    }
    const bad = hook(inst, "createRuntime", ociState({ id: `bad-${hex(4)}`, pid: p.pid, bundle, annotations: annotations({ "io.ctrnet.dns": "none", "io.ctrnet.dns-search": "example.org" }) }));
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({
      code: 2,
      stderr: "ctrnet: error: --dns none (keep the container's resolv.conf) cannot be given with --dns-search or --dns-option\n",
    });
  });

  test("on a DNS network: the written resolv.conf names ctrnet's server at the gateway; the /etc annotations apply; poststop of the last stops the server", async () => {
    const bundle = bareBundle(inst.dir);
    mkdirSync(join(bundle, "rootfs/etc"));
    const p = await container();
    const id = `dns-${hex(4)}`;
    const extra = { "io.ctrnet.network": dnsNet.name, "io.ctrnet.write-etc": "true", "io.ctrnet.dns-option": "ndots:3", "io.ctrnet.add-host": "db.local:192.0.2.9" };
    expect(hook(inst, "createRuntime", ociState({ id, pid: p.pid, bundle, annotations: extra }))).toMatchObject({ code: 0, stderr: "" });
    const resolv = readFileSync(join(bundle, "rootfs/etc/resolv.conf"), "utf8");
    expect(resolv).toStartWith(`search dns.ctrnet`);
    expect(resolv).toContain(`\nnameserver ${dnsNet.prefix}.1\n`);
    expect(resolv).toContain("ndots:3");
    expect(readFileSync(join(bundle, "rootfs/etc/hosts"), "utf8")).toContain("192.0.2.9\tdb.local\n");
    const helper = join(inst.env.CTRNET_ROOT!, "dns", "helper.json");
    const pid = JSON.parse(readFileSync(helper, "utf8")).pid as number;
    expect(run(["nsenter", `--net=/proc/${p.pid}/ns/net`, "dig", "+short", "+time=5", "+tries=1", `@${dnsNet.prefix}.1`, id]).out.trim()).toBe(addressOf(id));
    expect(hook(inst, "poststop", ociState({ id, bundle, status: "stopped" })).code).toBe(0);
    expect(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ")).toBe(false);
    expect(existsSync(helper)).toBe(false);
  });
});
