// `ctrnet doctor` through the compiled binary, as root in the runner's private net+mount namespace: each
// problem made for real (an overlapping conflist, a route, an nftables forward chain dropping by default,
// a program on a published port, records a crash would leave), found, and given one line of what to do.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newContainerRecord } from "../../src/container/attachments.ts";
import { openState } from "../../src/state/index.ts";
import { bridgeConflist } from "../../src/drivers/cni/index.ts";
import { freePorts } from "../helpers/http.ts";
import { TEST_NETWORK_PLUGIN } from "../helpers/network-plugin.ts";
import { hex, Installation, privileged, run, type TestNetwork } from "./lifecycle-helpers.ts";

interface Finding {
  check: string;
  status: "ok" | "problem" | "info";
  detail: string;
  fix?: string;
}

describe.skipIf(!privileged)("ctrnet doctor", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("doc");
  });
  afterAll(() => inst?.dispose());

  function doctor(): { code: number | null; findings: Finding[]; text: string } {
    const json = inst.cli(["doctor", "--format", "json"]);
    const text = inst.cli(["doctor"]);
    expect({ json: json.code, stderr: json.stderr }).toEqual({ json: text.code, stderr: "" });
    return { code: json.code, findings: JSON.parse(json.stdout) as Finding[], text: text.stdout };
  }
  const problems = (findings: Finding[]) => findings.filter((f) => f.status === "problem");

  test("a machine set up as scripts/setup does: no problem, exit 0; each check reported", () => {
    const id = `doc${hex(4)}`;
    inst.ok(["create", "--network", net.name, "-p", `127.0.0.1:${freePorts(1)}:80`, id]);
    try {
      const r = doctor();
      expect(problems(r.findings)).toEqual([]);
      expect(r.code).toBe(0);
      expect(new Set(r.findings.map((f) => f.check))).toEqual(new Set(["tun", "idmap", "tools", "plugins", "firewall", "subnets", "ports", "state"]));
      expect(r.findings).toContainEqual({ check: "ports", status: "ok", detail: "1 published port: none held by another program" });
      const plugin = TEST_NETWORK_PLUGIN === "cni" ? /^bridge \(\/.*\/bridge\): CNI bridge plugin/ : /^ctrnet \(in-process\): ctrnet's own plugin, used by network lc-/;
      expect(r.findings).toContainEqual(expect.objectContaining({ check: "plugins", status: "ok", detail: expect.stringMatching(plugin) }));
    } finally {
      inst.cli(["rm", "-f", id]);
    }
  });

  test("two networks on one subnet, and a host route into a network through another interface", () => {
    const twin = `doctwin${hex(3)}`;
    const file = join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${twin}.conflist`);
    const other = `dd${hex(3)}`;
    try {
      writeFileSync(file, JSON.stringify(bridgeConflist({ name: twin, bridge: `dt${hex(3)}`, subnets: [net.subnet], ipamDataDir: inst.ipamDir })));
      expect(run(["ip", "link", "add", other, "type", "bridge"]).ok).toBe(true);
      expect(run(["ip", "link", "set", other, "up"]).ok).toBe(true);
      expect(run(["ip", "route", "add", `${net.prefix}.128/25`, "dev", other]).ok).toBe(true);
      const r = doctor();
      expect(r.code).toBe(1);
      const [a, b] = [net.name, twin].sort();
      expect(problems(r.findings)).toContainEqual({
        check: "subnets",
        status: "problem",
        detail: `networks ${a} (${net.subnet}) and ${b} (${net.subnet}) overlap: their containers can be given the same address`,
        fix: `remove one (ctrnet network rm ${b}) and create it again with another --subnet`,
      });
      expect(problems(r.findings)).toContainEqual(
        expect.objectContaining({ check: "routes", detail: expect.stringContaining(`host route ${net.prefix}.128/25 dev ${other} overlaps network ${net.name} (${net.subnet}) on ${net.bridge}`) }),
      );
      // the text form: the problem's line, then its fix on a line of its own
      expect(r.text).toMatch(new RegExp(`\\nproblem  subnets   networks ${a} .*\\n +fix: remove one \\(ctrnet network rm ${b}\\)`));
    } finally {
      run(["ip", "link", "del", other]);
      run(["rm", "-f", file]);
    }
  });

  test("an nftables forward chain that drops by default", () => {
    const table = `doc${hex(3)}`;
    try {
      expect(run(["nft", "add", "table", "inet", table]).ok).toBe(true);
      expect(run(["nft", "add", "chain", "inet", table, "dropper", "{ type filter hook forward priority 0; policy drop; }"]).ok).toBe(true);
      const found = problems(doctor().findings).filter((f) => f.check === "firewall");
      expect(found).toEqual([
        {
          check: "firewall",
          status: "problem",
          detail: `chain inet ${table} dropper drops forwarded packets by default: containers on bridge networks cannot reach beyond the host`,
          fix: `accept the bridges' traffic there (nft insert rule inet ${table} dropper iifname ${net.bridge} accept; nft insert rule inet ${table} dropper oifname ${net.bridge} accept), or set its policy to accept`,
        },
      ]);
    } finally {
      run(["nft", "delete", "table", "inet", table]);
    }
  });

  test("a program listening on a published host port is named, by pid and command (sock_diag)", () => {
    const id = `docp${hex(4)}`;
    const port = freePorts(1);
    inst.ok(["create", "--network", net.name, "--name", `web${id}`, "-p", `127.0.0.1:${port}:80`, id]);
    // the helper supervisor holds the port while it runs, as podman's conmon does: another program gets
    // in only while it is gone (killed), the case doctor is there for
    const supervisors = join(inst.env.CTRNET_ROOT!, "supervisors");
    const pid = JSON.parse(readFileSync(join(supervisors, readdirSync(supervisors).find((f) => f.endsWith(".json"))!), "utf8")).pid as number;
    process.kill(pid, "SIGKILL");
    while (existsSync(`/proc/${pid}/task`) && readdirSync(`/proc/${pid}/task`).length > 1) Bun.sleepSync(10);
    while (existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z")) Bun.sleepSync(10);
    const squatter = Bun.listen({ hostname: "0.0.0.0", port, socket: { data() {} } });
    try {
      const found = problems(doctor().findings);
      const comm = readFileSync(`/proc/${process.pid}/comm`, "utf8").trim();
      expect(found).toEqual([
        {
          check: "ports",
          status: "problem",
          detail: `80/tcp -> 127.0.0.1:${port} of container web${id} (${id.slice(0, 12)}) is also bound by pid ${process.pid} (${comm}) on 0.0.0.0:${port}: connections from this host reach it, not the container`,
          fix: "stop that program, or publish the container on another host port",
        },
      ]);
    } finally {
      squatter.stop(true);
      inst.cli(["rm", "-f", id]);
    }
  });

  test("records a crash leaves: one still creating, one whose netns is gone", () => {
    const creating = `docc${hex(4)}`;
    const gone = `docg${hex(4)}`;
    const state = openState({ root: inst.env.CTRNET_ROOT });
    try {
      state.insert(newContainerRecord({ id: creating, mode: { kind: "bridge" }, networks: [] }));
      state.insert(newContainerRecord({ id: gone, mode: { kind: "bridge" }, networks: [], netns: { path: join(inst.dir, "no-such-netns"), owned: true } }));
      state.update(gone, (rec) => ({ ...rec, state: "ready" }));
      const found = problems(doctor().findings);
      expect(found).toEqual([
        expect.objectContaining({ check: "state", detail: expect.stringMatching(new RegExp(`^container ${creating} is still creating \\(created .*\\): the command making or removing it died$`)), fix: "ctrnet gc" }),
        { check: "state", status: "problem", detail: `container ${gone}: its network namespace ${join(inst.dir, "no-such-netns")} is gone`, fix: `ctrnet gc (or ctrnet rm ${gone})` },
      ]);
    } finally {
      state.remove(creating);
      state.remove(gone);
      state.close();
    }
  });
});
