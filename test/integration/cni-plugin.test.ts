// ctrnet as a CNI plugin (`type: ctrnet`), driven as a runtime drives it: the compiled binary executed with
// CNI_* in its environment and the network configuration on stdin, inside a "host" netns of its own (the
// bridge and the nftables table live there and go with it), for containers in netns of their own. A
// conformance suite of ctrnet's own: every command in every version, the error codes of the spec for bad
// configuration and environment, DEL idempotent and fine without a netns, CHECK failing once something
// was removed behind its back, GC releasing only what the valid list leaves out.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, ensureBinary } from "../helpers/binary.ts";
import { hostInterfaceName } from "../../src/drivers/bridge/attach.ts";
import { hex, privileged } from "./cni-helpers.ts";

const VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
const made: string[] = [];
const dirs: string[] = [];

function sh(cmd: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, out: r.stdout.toString().trim() || r.stderr.toString().trim() };
}

function netns(tag: string): string {
  const name = `cp-${process.pid}-${hex(3)}-${tag}`;
  expect(sh(["ip", "netns", "add", name]).ok).toBe(true);
  made.push(name);
  sh(["ip", "-n", name, "link", "set", "lo", "up"]);
  return name;
}

afterEach(() => {
  for (const n of made.splice(0)) sh(["ip", "netns", "del", n]);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface World {
  host: string;
  root: string;
  dataDir: string;
  config(extra?: Record<string, unknown>): Record<string, unknown>;
  plugin(command: string, config: unknown, env?: Record<string, string>): { code: number | null; out: any; raw: string };
  leases(): string[];
}

function world(): World {
  ensureBinary();
  const host = netns("h");
  const root = mkdtempSync(join(tmpdir(), "ctrnet-plugin-root-"));
  const dataDir = mkdtempSync(join(tmpdir(), "ctrnet-plugin-ipam-"));
  dirs.push(root, dataDir);
  const config = (extra: Record<string, unknown> = {}) => ({
    cniVersion: "1.0.0",
    name: "pnet",
    type: "ctrnet",
    bridge: "ctrnet-p",
    ipam: { type: "host-local", ranges: [[{ subnet: "10.44.0.0/24", gateway: "10.44.0.1" }]], dataDir },
    ...extra,
  });
  const plugin = (command: string, conf: unknown, env: Record<string, string> = {}) => {
    const r = Bun.spawnSync(["ip", "netns", "exec", host, BINARY], {
      env: { PATH: process.env.PATH!, CTRNET_ROOT: root, CNI_COMMAND: command, CNI_PATH: "/usr/lib/cni", ...env },
      stdin: Buffer.from(typeof conf === "string" ? conf : JSON.stringify(conf)),
      stdout: "pipe",
      stderr: "pipe",
    });
    const raw = r.stdout.toString();
    let out: any;
    try {
      out = raw.trim() ? JSON.parse(raw) : undefined;
    } catch {
      out = raw;
    }
    return { code: r.exitCode, out, raw: raw + r.stderr.toString() };
  };
  const leases = () => {
    const d = join(dataDir, "pnet");
    return existsSync(d) ? readdirSync(d).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip") && f !== ".ctrnet-owners" && !f.startsWith(".ctrnet-highest.")).sort() : [];
  };
  return { host, root, dataDir, config, plugin, leases };
}

const attachmentEnv = (containerId: string, ns: string | undefined, extra: Record<string, string> = {}) => ({
  CNI_CONTAINERID: containerId,
  CNI_IFNAME: "eth0",
  ...(ns ? { CNI_NETNS: `/run/netns/${ns}` } : {}),
  ...extra,
});

describe.skipIf(!privileged)("ctrnet as a CNI plugin", () => {
  test("VERSION answers in the version asked for, and lists what it speaks", () => {
    const w = world();
    for (const version of VERSIONS) {
      expect(w.plugin("VERSION", { cniVersion: version })).toMatchObject({ code: 0, out: { cniVersion: version, supportedVersions: VERSIONS } });
    }
  });

  test("ADD in every version gives that version's result; DEL removes everything and can run again", () => {
    const w = world();
    for (const version of VERSIONS) {
      const c = netns("c");
      const id = `c${version.replaceAll(".", "")}`;
      const added = w.plugin("ADD", w.config({ cniVersion: version }), attachmentEnv(id, c));
      expect({ version, code: added.code }).toEqual({ version, code: 0 });
      const r = added.out;
      expect(r.cniVersion).toBe(version);
      expect(r.interfaces).toEqual([
        { name: "ctrnet-p" },
        { name: hostInterfaceName(id, "eth0") },
        { name: "eth0", mac: expect.stringMatching(/^[0-9a-f:]{17}$/), sandbox: `/run/netns/${c}` },
      ]);
      // host-local's round robin: each ADD takes the address after the last one handed out
      const address = `10.44.0.${2 + VERSIONS.indexOf(version)}`;
      expect(r.ips).toEqual([{ ...(version < "1.0.0" ? { version: "4" } : {}), address: `${address}/24`, gateway: "10.44.0.1", interface: 2 }]);
      expect(r.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.44.0.1" }]);
      expect(sh(["ip", "-n", c, "-4", "-o", "addr", "show", "eth0"]).out).toContain(`inet ${address}/24`);
      expect(w.leases()).toEqual([address]);
      for (let i = 0; i < 2; i++) expect(w.plugin("DEL", w.config({ cniVersion: version }), attachmentEnv(id, c))).toMatchObject({ code: 0, raw: "" });
      expect(w.leases()).toEqual([]);
      expect(sh(["ip", "-n", w.host, "link", "show", hostInterfaceName(id, "eth0")]).ok).toBe(false);
      expect(readdirSync(join(w.root, "native"))).toEqual([]);
    }
  });

  test("runtimeConfig: ports as nftables map elements, the requested address and MAC; CNI_ARGS IP and MAC too", () => {
    const w = world();
    const c1 = netns("c1");
    const conf = w.config({
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "" }], ips: ["10.44.0.40/24"], mac: "02:00:00:44:00:40" },
    });
    const added = w.plugin("ADD", conf, attachmentEnv("p1", c1));
    expect(added.code).toBe(0);
    expect(added.out.ips[0].address).toBe("10.44.0.40/24");
    expect(added.out.interfaces[2].mac).toBe("02:00:00:44:00:40");
    expect(sh(["ip", "netns", "exec", w.host, "nft", "list", "map", "inet", "ctrnet", "ports4"]).out).toContain("tcp . 8080 : 10.44.0.40 . 80");
    const c2 = netns("c2");
    const viaArgs = w.plugin("ADD", w.config(), attachmentEnv("p2", c2, { CNI_ARGS: "IgnoreUnknown=1;IP=10.44.0.41;MAC=02:00:00:44:00:41;K8S_POD_NAME=x;CUSTOM=y" }));
    expect(viaArgs.code).toBe(0);
    expect(viaArgs.out.ips[0].address).toBe("10.44.0.41/24");
    expect(viaArgs.out.interfaces[2].mac).toBe("02:00:00:44:00:41");
    expect(w.plugin("DEL", conf, attachmentEnv("p1", c1)).code).toBe(0);
    expect(sh(["ip", "netns", "exec", w.host, "nft", "list", "map", "inet", "ctrnet", "ports4"]).out).not.toContain("8080");
    expect(w.plugin("DEL", w.config(), attachmentEnv("p2", c2)).code).toBe(0);
  });

  test("DEL without a netns (it went first), or of something never added, succeeds and releases what there was", () => {
    const w = world();
    const c = netns("c");
    expect(w.plugin("ADD", w.config(), attachmentEnv("gone", c)).code).toBe(0);
    expect(sh(["ip", "netns", "del", c]).ok).toBe(true);
    made.splice(made.indexOf(c), 1);
    expect(w.plugin("DEL", w.config(), attachmentEnv("gone", undefined))).toMatchObject({ code: 0, raw: "" });
    expect(w.leases()).toEqual([]);
    // the veth pair went with the netns: nothing but the bridge and lo in the host
    expect(sh(["ip", "-n", w.host, "-o", "link", "show", "type", "veth"]).out).toBe("");
    expect(w.plugin("DEL", w.config(), attachmentEnv("never", undefined))).toMatchObject({ code: 0, raw: "" });
  });

  test("CHECK passes on a healthy attachment and fails once its address, route or lease is removed behind its back", () => {
    const w = world();
    const c = netns("c");
    const conf = w.config({ cniVersion: "1.0.0" });
    expect(w.plugin("ADD", conf, attachmentEnv("chk", c)).code).toBe(0);
    expect(w.plugin("CHECK", conf, attachmentEnv("chk", c))).toMatchObject({ code: 0, raw: "" });
    expect(sh(["ip", "-n", c, "addr", "del", "10.44.0.2/24", "dev", "eth0"]).ok).toBe(true);
    const broken = w.plugin("CHECK", conf, attachmentEnv("chk", c));
    expect(broken).toMatchObject({ code: 1, out: { code: 101, msg: "CHECK: address 10.44.0.2/24 is missing on eth0" } });
    expect(w.plugin("CHECK", w.config({ cniVersion: "0.3.1" }), attachmentEnv("chk", c))).toMatchObject({ code: 1, out: { code: 1 } });
    expect(w.plugin("CHECK", conf, attachmentEnv("other", c))).toMatchObject({ code: 1, out: { code: 3 } });
    expect(w.plugin("DEL", conf, attachmentEnv("chk", c)).code).toBe(0);
  });

  test("GC (1.1.0) takes down only the attachments missing from the valid list; STATUS answers", () => {
    const w = world();
    const conf = w.config({ cniVersion: "1.1.0" });
    const [a, b] = [netns("a"), netns("b")];
    expect(w.plugin("ADD", conf, attachmentEnv("keep", a)).code).toBe(0);
    expect(w.plugin("ADD", conf, attachmentEnv("stale", b)).code).toBe(0);
    // ctrnet's own container on the same network, through its in-process runtime: never the runtime's to collect
    const c = netns("c");
    expect(w.plugin("ADD", conf, attachmentEnv("mine", c, { CTRNET_PLUGIN_OWNER: "ctrnet:/run/ctrnet" })).code).toBe(0);
    expect(w.leases()).toEqual(["10.44.0.2", "10.44.0.3", "10.44.0.4"]);
    const gc = w.plugin("GC", { ...conf, "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] });
    expect(gc).toMatchObject({ code: 0, raw: "" });
    expect(w.leases()).toEqual(["10.44.0.2", "10.44.0.4"]);
    expect(sh(["ip", "-n", c, "link", "show", "eth0"]).ok).toBe(true);
    expect(sh(["ip", "-n", w.host, "link", "show", hostInterfaceName("stale", "eth0")]).ok).toBe(false);
    expect(sh(["ip", "-n", b, "link", "show", "eth0"]).ok).toBe(false);
    expect(w.plugin("CHECK", conf, attachmentEnv("keep", a)).code).toBe(0);
    expect(w.plugin("STATUS", conf)).toMatchObject({ code: 0, raw: "" });
    expect(w.plugin("STATUS", w.config())).toMatchObject({ code: 1, out: { code: 1 } });
    expect(w.plugin("GC", w.config())).toMatchObject({ code: 1, out: { code: 1 } });
    expect(w.plugin("DEL", conf, attachmentEnv("keep", a)).code).toBe(0);
    expect(w.plugin("DEL", conf, attachmentEnv("mine", c)).code).toBe(0);
    expect(w.leases()).toEqual([]);
  });

  test("bad configuration and environment: the spec's codes, one JSON object on stdout, nothing made", () => {
    const w = world();
    const c = netns("c");
    const env = attachmentEnv("bad", c);
    const cases: [string, unknown, Record<string, string>, number, string][] = [
      ["malformed JSON", "{nope", env, 6, "not JSON"],
      ["unknown cniVersion", w.config({ cniVersion: "2.0.0" }), env, 1, "CNI version 2.0.0 is not supported"],
      ["missing bridge", { ...w.config(), bridge: undefined }, env, 7, "bridge"],
      ["wrong type", w.config({ mtu: "big" }), env, 7, "mtu"],
      ["a bad ipam section", w.config({ ipam: { type: "host-local", ranges: "x" } }), env, 7, "ipam"],
      ["no CNI_NETNS for ADD", w.config(), { CNI_CONTAINERID: "bad", CNI_IFNAME: "eth0" }, 4, "CNI_NETNS is required for ADD"],
      ["a relative CNI_NETNS", w.config(), { ...env, CNI_NETNS: "run/netns/x" }, 4, "CNI_NETNS must be an absolute path"],
      ["an unknown CNI_ARGS key", w.config(), { ...env, CNI_ARGS: "FOO=bar" }, 4, "unknown argument FOO"],
      ["a netns that does not exist", w.config(), { ...env, CNI_NETNS: "/run/netns/nope" }, 3, "nope"],
      ["a bad container id", w.config(), { ...env, CNI_CONTAINERID: "../x" }, 4, "container id"],
    ];
    for (const [what, conf, e, code, words] of cases) {
      const r = w.plugin("ADD", conf, e);
      expect({ what, exit: r.code, code: r.out?.code }).toEqual({ what, exit: 1, code });
      expect({ what, msg: r.out.msg }).toEqual({ what, msg: expect.stringContaining(words) });
      expect(r.raw.trim().split("\n")).toHaveLength(1);
    }
    expect(w.plugin("BOGUS", w.config(), env)).toMatchObject({ code: 1, out: { code: 4 } });
    expect(w.leases()).toEqual([]);
    expect(sh(["ip", "-n", c, "link", "show", "eth0"]).ok).toBe(false);
  });

  test("in a chain, the result appends to prevResult with its interface indices moved on", () => {
    const w = world();
    const c = netns("c");
    const prevResult = { cniVersion: "1.0.0", interfaces: [{ name: "tap0" }], ips: [{ address: "192.0.2.5/24", interface: 0 }], dns: { nameservers: ["192.0.2.53"] } };
    const r = w.plugin("ADD", w.config({ prevResult }), attachmentEnv("chain", c));
    expect(r.code).toBe(0);
    expect(r.out.interfaces.map((i: { name: string }) => i.name)).toEqual(["tap0", "ctrnet-p", hostInterfaceName("chain", "eth0"), "eth0"]);
    expect(r.out.ips).toEqual([
      { address: "192.0.2.5/24", interface: 0 },
      { address: "10.44.0.2/24", gateway: "10.44.0.1", interface: 3 },
    ]);
    expect(r.out.dns).toEqual({ nameservers: ["192.0.2.53"] });
    expect(w.plugin("DEL", w.config({ prevResult }), attachmentEnv("chain", c)).code).toBe(0);
  });
});
