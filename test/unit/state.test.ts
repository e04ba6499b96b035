import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SysError } from "../../ffi/errno.ts";
import { CtrnetError, UsageError } from "../../src/errors.ts";
import { parsePortSpecs } from "../../src/schema/ports.ts";
import { type ContainerState, DamagedRecordError, openState } from "../../src/state/containers.ts";
import { runtimeDir } from "../../src/state/db.ts";
import { withLock } from "../../src/state/lock.ts";
import { MIGRATIONS } from "../../src/state/migrations.ts";
import { connectNetwork, disconnectNetwork, firstFreeIfname, newContainerRecord, withStatus } from "../../src/container/attachments.ts";
import type { ContainerRecord } from "../../src/state/record.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/state");

let dir: string;
let state: ContainerState;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-state-"));
  state = openState({ root: join(dir, "run") });
});

afterEach(() => {
  state.close();
  rmSync(dir, { recursive: true, force: true });
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

function usageError(fn: () => unknown): string {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(UsageError);
  return err.message;
}

function bridge(id: string, extra: Partial<Parameters<typeof newContainerRecord>[0]> = {}): ContainerRecord {
  return newContainerRecord({ id, mode: { kind: "bridge" }, networks: [{ network: "podman" }], ...extra });
}

/** A second connection to the database file, to look at or damage what the store wrote. */
function raw<T>(fn: (db: Database) => T): T {
  const db = new Database(state.path, { strict: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe("runtimeDir", () => {
  test.each<[string, Parameters<typeof runtimeDir>[0], string]>([
    ["the root option first", { root: "/x", env: { CTRNET_ROOT: "/y" }, uid: 0 }, "/x"],
    ["then CTRNET_ROOT", { env: { CTRNET_ROOT: "/y", XDG_RUNTIME_DIR: "/run/user/1000" }, uid: 1000 }, "/y"],
    ["root: /run/ctrnet", { env: { XDG_RUNTIME_DIR: "/run/user/0" }, uid: 0 }, "/run/ctrnet"],
    ["rootless: under XDG_RUNTIME_DIR", { env: { XDG_RUNTIME_DIR: "/tmp/xdg" }, uid: 1000 }, "/tmp/xdg/ctrnet"],
    ["rootless without XDG_RUNTIME_DIR: /run/user/UID", { env: {}, uid: 1000 }, "/run/user/1000/ctrnet"],
    ["an empty CTRNET_ROOT is unset", { env: { CTRNET_ROOT: "" }, uid: 0 }, "/run/ctrnet"],
  ])("%s", (_, location, expected) => {
    expect(runtimeDir(location)).toBe(expected);
  });
});

describe("the database file", () => {
  test("lives in a 0700 directory as a 0600 file, in WAL mode, at the latest schema version", () => {
    expect(state.path).toBe(join(dir, "run", "state.db"));
    expect(statSync(join(dir, "run")).mode & 0o777).toBe(0o700);
    expect(statSync(state.path).mode & 0o777).toBe(0o600);
    state.insert(bridge("c1"));
    expect(statSync(`${state.path}-wal`).mode & 0o777).toBe(0o600);
    raw((db) => {
      expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
      expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: MIGRATIONS.length });
    });
  });

  test("CTRNET_ROOT chooses the directory", () => {
    const saved = process.env.CTRNET_ROOT;
    process.env.CTRNET_ROOT = join(dir, "env-root");
    try {
      using other = openState();
      expect(other.path).toBe(join(dir, "env-root", "state.db"));
    } finally {
      if (saved === undefined) delete process.env.CTRNET_ROOT;
      else process.env.CTRNET_ROOT = saved;
    }
  });

  test("reopening keeps the records and migrates nothing twice", () => {
    state.insert(bridge("c1"));
    state.close();
    state = openState({ root: join(dir, "run") });
    expect(state.get("c1").id).toBe("c1");
  });

  test("a database from a newer ctrnet is refused", () => {
    raw((db) => db.run(`PRAGMA user_version = ${MIGRATIONS.length + 1}`));
    const err = thrown(() => openState({ root: join(dir, "run") }));
    expect(err).toBeInstanceOf(CtrnetError);
    expect(err.message).toBe(
      `state database ${state.path} has schema version ${MIGRATIONS.length + 1}, newer than this ctrnet knows (${MIGRATIONS.length}); use a newer ctrnet`,
    );
  });
});

describe("records", () => {
  test("round-trip every field", () => {
    const rec: ContainerRecord = {
      ...newContainerRecord({
        id: "0123456789abcdef",
        name: "web",
        mode: { kind: "bridge" },
        netns: { path: "/run/netns/cni-1234", owned: true },
        networks: [{ network: "podman", aliases: ["web", "www.example"] }, { network: "backend" }],
        staticIP: "10.88.0.5",
        staticIP6: "fd00::5",
        staticMAC: "02:42:ac:11:00:02",
        ports: parsePortSpecs(["127.0.0.1:8080:80", "[::1]::53/udp,tcp", "9000-9002:9000-9002"]),
        exposed: [{ containerPort: 90, protocol: "udp", range: 2 }],
      }),
      helpers: { slirp4netns: 1234, portForwarder: 5678, pasta: null },
      createdAt: 1_700_000_000_000,
    };
    rec.networks[0]!.status = {
      interfaces: [{ name: "eth0", mac: "02:42:ac:11:00:02", addresses: [{ address: "10.88.0.5/16", gateway: "10.88.0.1" }] }],
      routes: [{ destination: "0.0.0.0/0", gateway: "10.88.0.1" }],
      dns: { nameservers: ["10.88.0.1"], domain: "dns.podman", search: [], options: [] },
    };
    expect(state.insert(rec)).toEqual(rec);
    expect(state.get("0123456789abcdef")).toEqual(rec);
  });

  test.each<[string, ContainerRecord["mode"]]>([
    ["none", { kind: "none" }],
    ["host", { kind: "host" }],
    ["ns", { kind: "ns", path: "/proc/1234/ns/net" }],
    ["container", { kind: "container", id: "other" }],
    ["slirp4netns", { kind: "slirp4netns", options: ["cidr=10.0.2.0/24", "port_handler=slirp4netns"] }],
  ])("mode %s round-trips", (_, mode) => {
    state.insert(newContainerRecord({ id: "c1", mode }));
    expect(state.get("c1").mode).toEqual(mode);
  });

  test("new records are `creating`, with eth0, eth1, … in the order given", () => {
    const rec = newContainerRecord({
      id: "c1",
      mode: { kind: "bridge" },
      networks: [{ network: "b" }, { network: "a" }, { network: "c" }],
    });
    expect(rec.state).toBe("creating");
    expect(rec.networks.map((n) => `${n.network}=${n.ifname}`)).toEqual(["b=eth0", "a=eth1", "c=eth2"]);
    expect(rec.ifnames).toEqual({ b: "eth0", a: "eth1", c: "eth2" });
  });

  test.each<[string, Parameters<typeof newContainerRecord>[0], string]>([
    ["a bad id", { id: "../x", mode: { kind: "none" } }, 'invalid container id "../x": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
    ["an empty id", { id: "", mode: { kind: "none" } }, "container id must not be empty"],
    ["a bad name", { id: "c1", name: "a b", mode: { kind: "none" } }, 'invalid container name "a b": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
    [
      "a bad network",
      { id: "c1", mode: { kind: "bridge" }, networks: [{ network: "a/b" }] },
      'Invalid characters in network name "a/b": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*',
    ],
    [
      "a bad alias",
      { id: "c1", mode: { kind: "bridge" }, networks: [{ network: "a", aliases: ["-x"] }] },
      'invalid network alias "-x": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*',
    ],
    [
      "a network twice",
      { id: "c1", mode: { kind: "bridge" }, networks: [{ network: "a" }, { network: "a" }] },
      'network "a" is given twice',
    ],
  ])("newContainerRecord rejects %s", (_, init, message) => {
    expect(usageError(() => newContainerRecord(init))).toBe(message);
  });
});

describe("insert", () => {
  test.each<[string, (s: ContainerState) => void, ContainerRecord, string]>([
    ["a duplicate id", (s) => s.insert(bridge("c1")), bridge("c1"), 'container "c1" already exists'],
    [
      "a name in use",
      (s) => s.insert(bridge("c1", { name: "web" })),
      bridge("c2", { name: "web" }),
      'container name "web" is already in use by container "c1"',
    ],
    ["a name that is another container's id", (s) => s.insert(bridge("c1")), bridge("c2", { name: "c1" }), 'container name "c1" is already in use by container "c1"'],
    [
      "an id that is another container's name",
      (s) => s.insert(bridge("c1", { name: "web" })),
      bridge("web"),
      'container id "web" is already the name of container "c1"',
    ],
    ["an invalid id", () => {}, { ...bridge("c1"), id: "a/b" }, 'invalid container id "a/b": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
    ["an invalid name", () => {}, { ...bridge("c1"), name: "" }, "container name must not be empty"],
  ])("rejects %s", (_, setup, rec, message) => {
    setup(state);
    expect(usageError(() => state.insert(rec))).toBe(message);
  });

  test("a container may be named after its own id", () => {
    expect(state.insert(bridge("c1", { name: "c1" })).name).toBe("c1");
  });

  test.each<[string, (r: ContainerRecord) => ContainerRecord, string]>([
    ["a non-canonical static IP", (r) => ({ ...r, staticIP: "FD00::1" }), "staticIP: expected an IP address in canonical form"],
    ["an uppercase MAC", (r) => ({ ...r, staticMAC: "02:42:AC:11:00:02" }), "staticMAC: expected a lowercase MAC address"],
    ["a relative netns path", (r) => ({ ...r, netns: { path: "netns/x", owned: true } }), "netns.path: expected an absolute path"],
    ["a pid of 0", (r) => ({ ...r, helpers: { slirp4netns: 0, portForwarder: null, pasta: null } }), "helpers.slirp4netns: Invalid value: Expected >=1 but received 0"],
    [
      "an interface name that is not the reserved one",
      (r) => ({ ...r, networks: [{ ...r.networks[0]!, ifname: "eth7" }] }),
      "a connected network's ifname differs from the one reserved for it in ifnames",
    ],
    [
      "two networks with one interface name",
      (r) => ({ ...r, ifnames: { podman: "eth0", other: "eth0" } }),
      "two networks share an interface name",
    ],
    [
      "a network listed twice",
      (r) => ({ ...r, networks: [r.networks[0]!, r.networks[0]!] }),
      "a network is listed twice in networks",
    ],
    [
      "an interface name too long for Linux",
      (r) => ({ ...r, networks: [], ifnames: { podman: "a-very-long-ifname" } }),
      'ifnames.podman: expected an interface name of 1-15 characters without /, : or spaces',
    ],
  ])("refuses to store %s", (_, change, problem) => {
    const err = thrown(() => state.insert(change(bridge("c1"))));
    expect(err).toBeInstanceOf(CtrnetError);
    expect(err.message).toBe(`invalid record for container "c1": ${problem}`);
    expect(state.list()).toEqual([]);
  });
});

describe("lookup", () => {
  beforeEach(() => {
    state.insert(bridge("abc123", { name: "web" }));
    state.insert(bridge("abd456"));
    state.insert(bridge("fff000", { name: "abc" }));
  });

  test.each([
    ["abc123", "abc123"],
    ["web", "abc123"],
    ["abd", "abd456"],
    ["abd456", "abd456"],
    ["abc", "fff000"],
    ["ff", "fff000"],
  ])("%p finds %p", (query, id) => {
    expect(state.get(query).id).toBe(id);
    expect(state.find(query)?.id).toBe(id);
  });

  test.each([
    ["ab", 'container id prefix "ab" is ambiguous: it matches abc123, abd456'],
    ["nope", 'no container with name or ID "nope" found: no such container'],
    ["abc1234", 'no container with name or ID "abc1234" found: no such container'],
    ["", "container id or name must not be empty"],
    ["a*", 'invalid container id or name "a*": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
  ])("get(%p) fails", (query, message) => {
    expect(usageError(() => state.get(query))).toBe(message);
  });

  test("find returns undefined for a missing container", () => {
    expect(state.find("nope")).toBeUndefined();
  });

  test("an ambiguous prefix lists at most five matches", () => {
    for (let i = 0; i < 6; i++) state.insert(bridge(`dup${i}`));
    expect(usageError(() => state.get("dup"))).toBe('container id prefix "dup" is ambiguous: it matches dup0, dup1, dup2, dup3, dup4, …');
  });

  test("list is oldest first, and filters by state", () => {
    state.insert({ ...bridge("old"), createdAt: 1 });
    state.update("abd456", (r) => ({ ...r, state: "ready" }));
    expect(state.list().map((r) => r.id)).toEqual(["old", "abc123", "abd456", "fff000"]);
    expect(state.list({ state: "ready" }).map((r) => r.id)).toEqual(["abd456"]);
    expect(state.list({ state: "removing" })).toEqual([]);
  });
});

describe("a record read again", () => {
  test("is read as its row now says, after this store or another connection changed it", () => {
    state.insert(bridge("c1", { name: "web" }));
    expect(state.get("c1").state).toBe("creating");
    state.setState("c1", "ready");
    expect(state.get("c1").state).toBe("ready");
    raw((db) => db.run("UPDATE containers SET name = 'api' WHERE id = 'c1'"));
    expect(state.get("c1").name).toBe("api");
    raw((db) => db.run("UPDATE containers SET name = 'web' WHERE id = 'c1'"));
    expect(state.get("c1").name).toBe("web");
  });

  test("is the caller's own: changing one read changes no other", () => {
    state.insert(bridge("c1", { ports: parsePortSpecs(["8080:80"]) }));
    const first = state.get("c1");
    first.ports.push(...parsePortSpecs(["9090:90"]));
    first.networks[0]!.aliases.push("x");
    const again = state.get("c1");
    expect(again.ports).toHaveLength(1);
    expect(again.networks[0]!.aliases).toEqual([]);
    expect(again).not.toBe(state.get("c1"));
  });

  test("a damaged row is reported at every read, not remembered", () => {
    state.insert(bridge("c1"));
    state.get("c1");
    raw((db) => db.run("UPDATE containers SET ports = 'nope' WHERE id = 'c1'"));
    expect(() => state.get("c1")).toThrow(DamagedRecordError);
    expect(() => state.get("c1")).toThrow(DamagedRecordError);
  });
});

describe("sharingNetnsOf", () => {
  test("the records in a container's netns (container:ID), in creation order, not one of another's; a damaged mode is left out", () => {
    state.insert(bridge("owner"));
    state.insert(bridge("other"));
    state.insert(newContainerRecord({ id: "guest1", mode: { kind: "container", id: "owner" }, networks: [] }));
    state.insert(newContainerRecord({ id: "guest2", mode: { kind: "container", id: "other" }, networks: [] }));
    state.insert(newContainerRecord({ id: "guest3", mode: { kind: "container", id: "owner" }, networks: [] }));
    expect(state.sharingNetnsOf("owner").map((r) => r.id)).toEqual(["guest1", "guest3"]);
    expect(state.sharingNetnsOf("guest1")).toEqual([]);
    raw((db) => db.run("UPDATE containers SET mode = 'not json' WHERE id = 'guest3'"));
    expect(state.sharingNetnsOf("owner").map((r) => r.id)).toEqual(["guest1"]);
  });
});

describe("setState", () => {
  beforeEach(() => {
    state.insert(bridge("c1", { name: "web" }));
  });

  test("changes the state alone and returns the record as stored", () => {
    const before = state.get("c1");
    const next = state.setState("c1", "ready");
    expect(next).toEqual({ ...before, state: "ready" });
    expect(state.get("c1")).toEqual(next);
  });

  test("by exact id only; a missing record is an error", () => {
    expect(usageError(() => state.setState("web", "ready"))).toBe('no container with name or ID "web" found: no such container');
    expect(usageError(() => state.setState("c9", "ready"))).toBe('no container with name or ID "c9" found: no such container');
  });
});

describe("findExact", () => {
  beforeEach(() => {
    state.insert(bridge("abc123", { name: "web" }));
    state.insert(bridge("abd456"));
  });

  test("by exact id, then exact name; a prefix finds nothing, even an ambiguous one", () => {
    expect(state.findExact("abc123")).toEqual(state.get("abc123"));
    expect(state.findExact("web")).toEqual(state.get("abc123"));
    expect(state.findExact("abc")).toBeUndefined();
    expect(state.findExact("ab")).toBeUndefined();
    expect(state.findExact("xyz")).toBeUndefined();
    expect(usageError(() => state.findExact("bad/id"))).toContain("container id or name");
  });
});

describe("setStatus", () => {
  const status = {
    interfaces: [{ name: "eth0", mac: "02:42:ac:11:00:02", addresses: [{ address: "10.88.0.5/16", gateway: "10.88.0.1" }] }],
    routes: [{ destination: "0.0.0.0/0", gateway: "10.88.0.1" }],
    dns: { nameservers: ["10.88.0.1"], search: [], options: [] },
  };

  beforeEach(() => {
    state.insert(bridge("c1", { name: "web", networks: [{ network: "podman" }, { network: "n2" }] }));
  });

  test("stores one network's status and returns the record as stored, as update with withStatus would", () => {
    const expected = withStatus(state.get("c1"), "n2", status);
    const next = state.setStatus("c1", "n2", status);
    expect(next).toEqual(expected);
    expect(state.get("c1")).toEqual(expected);
    expect(next.networks.map((n) => n.status)).toEqual([null, status]);
    // and back to none
    expect(state.setStatus("c1", "n2", null)).toEqual(withStatus(expected, "n2", null));
  });

  test("returns what else was stored meanwhile (a helper a driver started)", () => {
    state.update("c1", (r) => ({ ...r, helpers: { ...r.helpers, slirp4netns: 42 } }));
    expect(state.setStatus("c1", "podman", status).helpers.slirp4netns).toBe(42);
  });

  test("a network the record is not connected to changes nothing", () => {
    state.update("c1", (r) => disconnectNetwork(r, "n2"));
    const before = state.get("c1");
    expect(state.setStatus("c1", "n2", status)).toEqual(before);
    expect(state.setStatus("c1", "n3", status)).toEqual(before);
    expect(state.get("c1")).toEqual(before);
  });

  test("an invalid status is refused and nothing changes; a missing record is an error", () => {
    const before = state.get("c1");
    const bad = { ...status, interfaces: [{ name: "eth0", addresses: [{ address: "10.88.0.5" }] }] };
    const err = thrown(() => state.setStatus("c1", "podman", bad));
    expect(err).toBeInstanceOf(CtrnetError);
    expect(err.message).toBe(
      'invalid record for container "c1": status of network podman: interfaces[0].addresses[0].address: expected an address with prefix length, like 10.88.0.2/16',
    );
    expect(state.get("c1")).toEqual(before);
    expect(usageError(() => state.setStatus("web", "podman", status))).toBe('no container with name or ID "web" found: no such container');
    expect(usageError(() => state.setStatus("c9", "podman", status))).toBe('no container with name or ID "c9" found: no such container');
  });
});

describe("records this process wrote", () => {
  const status = {
    interfaces: [{ name: "eth0", mac: "02:42:ac:11:00:02", addresses: [{ address: "10.88.0.5/16", gateway: "10.88.0.1" }] }],
    routes: [{ destination: "0.0.0.0/0", gateway: "10.88.0.1" }],
    dns: { nameservers: ["10.88.0.1"], search: [], options: [] },
  };

  /** The record as a process that wrote nothing reads it. */
  function fresh(id: string): ContainerRecord | undefined {
    const other = openState({ root: join(dir, "run") });
    try {
      return other.find(id);
    } finally {
      other.close();
    }
  }

  test("read back after insert, setStatus, update and setState, are what another process reads", () => {
    state.insert(bridge("c1", { name: "web", networks: [{ network: "podman" }, { network: "n2", staticIPs: ["10.89.0.5"] }], ports: parsePortSpecs(["8080:80"]) }));
    expect(state.find("c1")).toEqual(fresh("c1")!);
    state.setStatus("c1", "n2", status);
    expect(state.find("c1")).toEqual(fresh("c1")!);
    state.update("c1", (r) => disconnectNetwork(r, "podman"));
    expect(state.find("c1")).toEqual(fresh("c1")!);
    state.setState("c1", "ready");
    expect(state.find("web")).toEqual(fresh("c1")!);
  });

  test("a change another process made since is read, not the record written here", () => {
    state.insert(bridge("c1"));
    raw((db) => db.run("UPDATE containers SET slirp4netns_pid = 42 WHERE id = 'c1'"));
    expect(state.find("c1")!.helpers.slirp4netns).toBe(42);
    state.setStatus("c1", "podman", status);
    raw((db) => db.run("UPDATE interfaces SET aliases = '[\"db\"]' WHERE container_id = 'c1'"));
    expect(state.find("c1")!.networks[0]!.aliases).toEqual(["db"]);
    expect(state.find("c1")!.networks[0]!.status).toEqual(status);
    // every column counts, the ones added last too
    raw((db) => db.run("UPDATE containers SET publish_all = 1 WHERE id = 'c1'"));
    expect(state.find("c1")!.publishAll).toBe(true);
  });

  test("what a caller does to a record it was given never reaches the next reader", () => {
    const rec = state.insert(bridge("c1"));
    rec.networks[0]!.aliases.push("changed");
    state.setStatus("c1", "podman", status).networks[0]!.aliases.push("changed");
    expect(state.find("c1")!.networks[0]!.aliases).toEqual([]);
  });
});

describe("update", () => {
  beforeEach(() => {
    state.insert(bridge("c1", { name: "web" }));
    state.insert(bridge("c2", { name: "db" }));
  });

  test("stores what fn returns and returns it", () => {
    const next = state.update("c1", (r) => ({ ...r, state: "ready", name: "frontend", helpers: { slirp4netns: 42, portForwarder: null, pasta: null } }));
    expect(next.state).toBe("ready");
    expect(state.get("frontend")).toEqual(next);
    expect(state.find("web")).toBeUndefined();
  });

  test("a record may keep or drop its name", () => {
    expect(state.update("c1", (r) => r).name).toBe("web");
    expect(state.update("c1", (r) => ({ ...r, name: null })).name).toBeNull();
  });

  test.each<[string, string, (r: ContainerRecord) => ContainerRecord, string]>([
    ["a missing record", "c9", (r) => r, 'no container with name or ID "c9" found: no such container'],
    ["a name in use", "c1", (r) => ({ ...r, name: "db" }), 'container name "db" is already in use by container "c2"'],
    ["a name that is another id", "c1", (r) => ({ ...r, name: "c2" }), 'container name "c2" is already in use by container "c2"'],
  ])("rejects %s", (_, id, fn, message) => {
    expect(usageError(() => state.update(id, fn))).toBe(message);
  });

  test("by exact id only", () => {
    expect(usageError(() => state.update("web", (r) => r))).toBe('no container with name or ID "web" found: no such container');
  });

  test("the id cannot change", () => {
    const err = thrown(() => state.update("c1", (r) => ({ ...r, id: "c3" })));
    expect(err).toBeInstanceOf(CtrnetError);
    expect(err.message).toBe("a container's id cannot change (c1 -> c3)");
  });

  test("a throwing fn leaves the record as it was", () => {
    const before = state.get("c1");
    expect(() =>
      state.update("c1", (r) => {
        r.state = "removing";
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(state.get("c1")).toEqual(before);
  });
});

describe("remove", () => {
  test("deletes the record and its interfaces; a second remove reports false", () => {
    state.insert(bridge("c1"));
    state.update("c1", (r) => disconnectNetwork(connectNetwork(r, "extra"), "podman"));
    expect(state.remove("c1")).toBe(true);
    expect(state.find("c1")).toBeUndefined();
    expect(raw((db) => db.query("SELECT count(*) AS n FROM interfaces").get())).toEqual({ n: 0 });
    expect(state.remove("c1")).toBe(false);
  });
});

describe("transaction", () => {
  test("commits everything or nothing", () => {
    expect(() =>
      state.transaction(() => {
        state.insert(bridge("c1"));
        state.insert(bridge("c2"));
        state.insert(bridge("c1"));
      }),
    ).toThrow('container "c1" already exists');
    expect(state.list()).toEqual([]);
    expect(state.transaction(() => state.insert(bridge("c1")).id)).toBe("c1");
    expect(state.list().map((r) => r.id)).toEqual(["c1"]);
  });

  test("an inner failure that is caught undoes only the inner part", () => {
    state.transaction(() => {
      state.insert(bridge("c1"));
      expect(() => state.insert(bridge("c1"))).toThrow();
      state.insert(bridge("c2"));
    });
    expect(state.list().map((r) => r.id).sort()).toEqual(["c1", "c2"]);
  });

  test("refuses an async fn and rolls back what it did before its first await", async () => {
    let pending: Promise<void> | undefined;
    const err = thrown(() =>
      state.transaction(() => {
        state.insert(bridge("c1"));
        pending = Bun.sleep(0);
        return pending;
      }),
    );
    await pending;
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("a state transaction must be synchronous");
    expect(state.list()).toEqual([]);
  });
});

describe("schema version 1 (CNI results in records)", () => {
  function versionOne(root: string, result: string): string {
    const path = join(root, "state.db");
    const db = new Database(path, { create: true, strict: true });
    try {
      db.run(MIGRATIONS[0] as string);
      db.run("PRAGMA user_version = 1");
      db.run(`INSERT INTO containers (id, name, state, mode, netns_path, owns_netns, static_ip, static_mac, ports, slirp4netns_pid, port_forwarder_pid, created_at)
              VALUES ('old', NULL, 'ready', '{"kind":"bridge"}', '/run/netns/cni-old', 1, NULL, NULL, '[]', NULL, NULL, 1)`);
      db.query("INSERT INTO interfaces (container_id, network, ifname, position, aliases, result) VALUES ('old', 'podman', 'eth1', 0, '[]', ?)").run(result);
    } finally {
      db.close();
    }
    return path;
  }

  test("a stored CNI result becomes the container side of it as a NetworkStatus", () => {
    const root = join(dir, "v1");
    mkdirSync(root, { recursive: true });
    const result = {
      cniVersion: "1.0.0",
      interfaces: [{ name: "cni0", mac: "aa:aa:aa:aa:aa:aa" }, { name: "vethx" }, { name: "eth1", mac: "02:00:00:00:00:05", sandbox: "/run/netns/cni-old" }],
      ips: [{ address: "10.88.0.5/16", gateway: "10.88.0.1", interface: 2 }, { address: "10.88.0.1/16", interface: 0 }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.88.0.1" }],
      dns: { nameservers: ["10.88.0.1"], search: ["dns.podman"] },
    };
    versionOne(root, JSON.stringify(result));
    const old = openState({ root });
    try {
      expect(old.get("old").networks[0]!.status).toEqual({
        interfaces: [{ name: "eth1", mac: "02:00:00:00:00:05", addresses: [{ address: "10.88.0.5/16", gateway: "10.88.0.1" }] }],
        routes: [{ destination: "0.0.0.0/0", gateway: "10.88.0.1" }],
        dns: { nameservers: ["10.88.0.1"], search: ["dns.podman"], options: [] },
      });
    } finally {
      old.close();
    }
  });

  test("a result that was already damaged stays so, and is reported as before", () => {
    const root = join(dir, "v1bad");
    mkdirSync(root, { recursive: true });
    versionOne(root, "{");
    const old = openState({ root });
    try {
      expect(old.list()).toEqual([]);
      expect(old.damaged()).toEqual(["old"]);
      expect(thrown(() => old.get("old")).message).toBe(
        `state database ${join(root, "state.db")}: the record of container "old" is damaged: status of network podman is not valid JSON; ctrnet rm -f old or ctrnet gc replaces it`,
      );
    } finally {
      old.close();
    }
  });
});

describe("damaged records read back", () => {
  beforeEach(() => {
    state.insert(bridge("c1"));
  });

  test.each<[string, string, string]>([
    ["ports is not JSON", "UPDATE containers SET ports = '[' WHERE id = 'c1'", "ports is not valid JSON"],
    ["a mode of unknown kind", `UPDATE containers SET mode = '{"kind":"bogus"}' WHERE id = 'c1'`, 'mode.kind: expected ("bridge" | "none" | "host" | "ns" | "container" | "slirp4netns" | "pasta"), got "bogus"'],
    ["a bad port mapping", `UPDATE containers SET ports = '[{"hostIP":"","hostPort":0,"containerPort":0,"protocol":"tcp","range":1}]' WHERE id = 'c1'`, "ports[0].containerPort: Invalid value: Expected >=1 but received 0"],
    ["a bad static IP", "UPDATE containers SET static_ip = 'nope' WHERE id = 'c1'", "staticIP: expected an IP address in canonical form"],
    ["an id that is not a name", "UPDATE containers SET id = 'a b' WHERE id = 'c1'", "id: expected a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]*"],
    ["aliases that are not JSON", "UPDATE interfaces SET aliases = 'x'", "aliases of network podman is not valid JSON"],
    ["a status that is not JSON", "UPDATE interfaces SET status = '{'", "status of network podman is not valid JSON"],
    ["a status with a bad address", `UPDATE interfaces SET status = '{"interfaces":[{"name":"eth0","addresses":[{"address":"10.88.0.5"}]}],"routes":[],"dns":{"nameservers":[],"search":[],"options":[]}}'`, "networks[0].status.interfaces[0].addresses[0].address: expected an address with prefix length, like 10.88.0.2/16"],
  ])("%s", (_, sql, problem) => {
    raw((db) => {
      db.run("PRAGMA foreign_keys = OFF");
      db.run(sql);
    });
    const id = sql.includes("SET id") ? "a b" : "c1";
    // left out of lists (one bad row must not stop every command), named by damaged(), refused by id
    expect(state.list()).toEqual([]);
    expect(state.damaged()).toEqual([id]);
    if (id !== "c1") return;
    const err = thrown(() => state.find("c1")) as DamagedRecordError;
    expect(err).toBeInstanceOf(DamagedRecordError);
    expect(err.id).toBe("c1");
    expect(err.message).toBe(`state database ${state.path}: the record of container "c1" is damaged: ${problem}; ctrnet rm -f c1 or ctrnet gc replaces it`);
  });
});

describe("publishedPorts", () => {
  const port = (hostPort: number) => ({ hostIP: "127.0.0.1", hostPort, containerPort: 80, protocol: "tcp" as const, range: 1 });

  test("near mappings: the records with a port of that protocol in one of the ranges, whole, oldest first", () => {
    const udp = { ...port(8090), protocol: "udp" as const };
    const range = { ...port(9000), range: 10 };
    state.insert(bridge("a", { ports: [port(8080), port(8070)] }));
    state.insert(bridge("b", { ports: [udp] }));
    state.insert(bridge("c", { ports: [range] }));
    state.insert(bridge("d"));
    const ids = (near: Parameters<ContainerState["publishedPorts"]>[0]) => state.publishedPorts(near).map((r) => r.id);
    expect(state.publishedPorts([port(8080)])).toEqual([{ id: "a", ports: [port(8080), port(8070)] }]);
    expect(ids([port(8090)])).toEqual([]);
    expect(ids([{ ...udp, hostPort: 8085, range: 6 }])).toEqual(["b"]);
    expect(ids([{ ...udp, hostPort: 8091, range: 6 }])).toEqual([]);
    // inside a stored range, at either end, and overlapping it
    expect(ids([port(9000)])).toEqual(["c"]);
    expect(ids([port(9009)])).toEqual(["c"]);
    expect(ids([port(9010)])).toEqual([]);
    expect(ids([{ ...port(8995), range: 6 }])).toEqual(["c"]);
    expect(ids([{ ...port(8995), range: 5 }])).toEqual([]);
    expect(ids([port(9010), { ...port(8075), range: 6 }])).toEqual(["a"]);
    expect(ids([port(9005), port(8070), port(8080)])).toEqual(["a", "c"]);
    // a host port still to be chosen is asked about once chosen (lifecycle/host-ports.ts pickFree)
    expect(ids([port(0)])).toEqual([]);
  });

  test("follows update and remove", () => {
    state.insert(bridge("a", { ports: [port(8080)] }));
    state.update("a", (r) => ({ ...r, ports: [port(8081)] }));
    expect(state.publishedPorts([port(8080)])).toEqual([]);
    expect(state.publishedPorts([port(8081)])).toEqual([{ id: "a", ports: [port(8081)] }]);
    state.remove("a");
    expect(state.publishedPorts([port(8081)])).toEqual([]);
    raw((db) => expect(db.query("SELECT count(*) AS n FROM host_ports").get()).toEqual({ n: 0 }));
  });

  test("a row whose ports do not read back is left out, as list() leaves the damaged record out", () => {
    state.insert(bridge("a", { ports: [port(8080)] }));
    state.insert(bridge("b", { ports: [port(8081)] }));
    raw((db) => db.run("UPDATE containers SET ports = '[{\"hostPort\":-1}]' WHERE id = 'a'"));
    expect(state.publishedPorts([port(8080), port(8081)])).toEqual([{ id: "b", ports: [port(8081)] }]);
    expect(state.list().map((r) => r.id)).toEqual(["b"]);
    raw((db) => db.run("UPDATE containers SET ports = '[' WHERE id = 'b'"));
    expect(state.publishedPorts([port(8080), port(8081)])).toEqual([]);
  });
});

describe("addressHolders", () => {
  const status = (...addresses: string[]) => ({
    interfaces: [{ name: "eth0", mac: "02:42:ac:11:00:02", addresses: addresses.map((address) => ({ address, gateway: "10.88.0.1" })) }],
    routes: [],
    dns: { nameservers: [], search: [], options: [] },
  });
  const holders = (network: string, ip: string) => state.addressHolders(network, ip).map((r) => r.id);

  test("the static addresses on the first network until there is a status, then the status's", () => {
    state.insert(bridge("a", { networks: [{ network: "podman" }, { network: "n2" }], staticIP: "10.88.0.5", staticIP6: "fd00::5" }));
    expect(holders("podman", "10.88.0.5")).toEqual(["a"]);
    expect(holders("podman", "fd00::5")).toEqual(["a"]);
    expect(holders("n2", "10.88.0.5")).toEqual([]);
    state.setStatus("a", "podman", status("10.88.0.6/16"));
    expect(holders("podman", "10.88.0.5")).toEqual([]);
    expect(holders("podman", "10.88.0.6")).toEqual(["a"]);
    state.setStatus("a", "n2", status("10.89.0.7/24", "fd01::7/64"));
    expect(holders("n2", "fd01::7")).toEqual(["a"]);
    state.setStatus("a", "podman", null);
    expect(holders("podman", "10.88.0.5")).toEqual(["a"]);
    expect(holders("podman", "10.88.0.6")).toEqual([]);
  });

  test("each network's own static addresses and MAC (podman's per-network options) read back, and hold their addresses until there is a status", () => {
    state.insert(bridge("a", { networks: [{ network: "podman" }, { network: "n2", staticIPs: ["10.89.0.9", "fd01::9"], staticMAC: "92:d0:c6:0a:29:34" }] }));
    const rec = state.get("a");
    expect(rec.networks[1]).toMatchObject({ network: "n2", staticIPs: ["10.89.0.9", "fd01::9"], staticMAC: "92:d0:c6:0a:29:34" });
    expect(rec.networks[0]).not.toHaveProperty("staticIPs");
    expect(holders("n2", "10.89.0.9")).toEqual(["a"]);
    expect(holders("n2", "fd01::9")).toEqual(["a"]);
    expect(holders("podman", "10.89.0.9")).toEqual([]);
    state.setStatus("a", "n2", status("10.89.0.10/24"));
    expect(holders("n2", "10.89.0.9")).toEqual([]);
    state.setStatus("a", "n2", null);
    expect(holders("n2", "10.89.0.9")).toEqual(["a"]);
    // a connect's, kept through later updates
    state.update("a", (r) => connectNetwork(r, "n3", [], { staticIPs: ["10.90.0.4"] }));
    state.update("a", (r) => withStatus(r, "podman", status("10.88.0.6/16")));
    expect(holders("n3", "10.90.0.4")).toEqual(["a"]);
    expect(state.get("a").networks[2]).toMatchObject({ network: "n3", staticIPs: ["10.90.0.4"] });
    raw((db) => db.run("UPDATE interfaces SET statics = '{\"staticIPs\": [\"nope\"]}' WHERE network = 'n3'"));
    expect(() => state.get("a")).toThrow(DamagedRecordError);
  });

  test("follows update (connect, disconnect, a new status) and remove; a damaged record is left out", () => {
    state.insert(bridge("a"));
    state.insert(bridge("b"));
    state.update("a", (r) => withStatus(connectNetwork(r, "n2"), "n2", status("10.89.0.7/24")));
    expect(holders("n2", "10.89.0.7")).toEqual(["a"]);
    // a status of the first network is the address
    state.update("b", (r) => withStatus(r, "podman", status("10.89.0.7/24")));
    expect(holders("podman", "10.89.0.7")).toEqual(["b"]);
    state.update("a", (r) => disconnectNetwork(r, "n2"));
    expect(holders("n2", "10.89.0.7")).toEqual([]);
    raw((db) => db.run("UPDATE containers SET ports = '[' WHERE id = 'b'"));
    expect(holders("podman", "10.89.0.7")).toEqual([]);
    state.remove("b");
    raw((db) => expect(db.query("SELECT count(*) AS n FROM addresses").get()).toEqual({ n: 0 }));
  });
});

describe("schema version 6 (indexes of host ports and addresses)", () => {
  test("a version 5 database gets its records' ports and addresses indexed; damaged values add nothing", () => {
    const root = join(dir, "v5");
    mkdirSync(root, { recursive: true });
    const db = new Database(join(root, "state.db"), { create: true, strict: true });
    const ports = (...hostPorts: number[]) => JSON.stringify(hostPorts.map((hostPort) => ({ hostIP: "", hostPort, containerPort: 80, protocol: "tcp", range: hostPort === 9000 ? 10 : 1 })));
    const status = JSON.stringify({ interfaces: [{ name: "eth1", addresses: [{ address: "10.89.0.3/24" }] }], routes: [], dns: { nameservers: [], search: [], options: [] } });
    try {
      for (const m of MIGRATIONS.slice(0, 5)) typeof m === "string" ? db.run(m) : m(db);
      db.run("PRAGMA user_version = 5");
      const insert = db.query(`INSERT INTO containers (id, name, state, mode, netns_path, owns_netns, static_ip, static_mac, ports, created_at)
                               VALUES (?, NULL, 'ready', '{"kind":"bridge"}', NULL, 0, ?, NULL, ?, ?)`);
      insert.run("a", "10.88.0.2", ports(8080, 9000, 0), 1);
      insert.run("b", null, "[", 2);
      insert.run("c", null, ports(8081), 3);
      const iface = db.query("INSERT INTO interfaces (container_id, network, ifname, position, aliases, status) VALUES (?, ?, ?, ?, '[]', ?)");
      iface.run("a", "podman", "eth0", 0, null);
      iface.run("a", "n2", "eth1", 1, status);
      iface.run("a", "gone", "eth2", null, status);
      iface.run("c", "podman", "eth0", 0, "{");
    } finally {
      db.close();
    }
    const migrated = openState({ root });
    try {
      const port = (hostPort: number) => ({ hostIP: "", hostPort, containerPort: 80, protocol: "tcp" as const, range: 1 });
      expect(migrated.publishedPorts([port(8080)]).map((r) => r.id)).toEqual(["a"]);
      expect(migrated.publishedPorts([port(9009)]).map((r) => r.id)).toEqual(["a"]);
      expect(migrated.addressHolders("podman", "10.88.0.2").map((r) => r.id)).toEqual(["a"]);
      expect(migrated.addressHolders("n2", "10.89.0.3").map((r) => r.id)).toEqual(["a"]);
      expect(migrated.addressHolders("gone", "10.89.0.3")).toEqual([]);
      const check = new Database(join(root, "state.db"), { strict: true });
      try {
        expect(check.query("PRAGMA user_version").get()).toEqual({ user_version: MIGRATIONS.length });
        expect(check.query("SELECT container_id, protocol, host_port, port_count FROM host_ports ORDER BY container_id, host_port").all()).toEqual([
          { container_id: "a", protocol: "tcp", host_port: 8080, port_count: 1 },
          { container_id: "a", protocol: "tcp", host_port: 9000, port_count: 10 },
          { container_id: "c", protocol: "tcp", host_port: 8081, port_count: 1 },
        ]);
        expect(check.query("SELECT container_id, network, address FROM addresses ORDER BY network").all()).toEqual([
          { container_id: "a", network: "n2", address: "10.89.0.3" },
          { container_id: "a", network: "podman", address: "10.88.0.2" },
        ]);
      } finally {
        check.close();
      }
    } finally {
      migrated.close();
    }
  });
});

describe("interface names", () => {
  test("firstFreeIfname takes the lowest ethN never given", () => {
    expect(firstFreeIfname({})).toBe("eth0");
    expect(firstFreeIfname({ a: "eth0", b: "eth2" })).toBe("eth1");
    expect(firstFreeIfname({ a: "eth0", b: "eth1", c: "custom" })).toBe("eth2");
  });

  test("names asked for (podman's interface_name=) are kept; the others get the lowest ethN none of them takes", () => {
    const rec = newContainerRecord({ id: "c9", mode: { kind: "bridge" }, networks: [{ network: "a" }, { network: "b", ifname: "eth0" }, { network: "c", ifname: "second" }] });
    expect(rec.networks.map((n) => `${n.network}=${n.ifname}`)).toEqual(["a=eth1", "b=eth0", "c=second"]);
    expect(() => newContainerRecord({ id: "c9", mode: { kind: "bridge" }, networks: [{ network: "a", ifname: "z" }, { network: "b", ifname: "z" }] })).toThrow('interface name "z" is given twice');
  });

  test("stay with their network while it is connected; a connect takes the lowest free one, a freed one too (podman 4/5's getFreeInterfaceName)", () => {
    state.insert(newContainerRecord({ id: "c1", mode: { kind: "bridge" }, networks: [{ network: "a" }, { network: "b" }, { network: "c" }] }));
    const names = () => state.get("c1").networks.map((n) => `${n.network}=${n.ifname}`);

    state.update("c1", (r) => disconnectNetwork(r, "b"));
    expect(names()).toEqual(["a=eth0", "c=eth2"]);
    expect(state.get("c1").ifnames).toEqual({ a: "eth0", c: "eth2" });

    state.update("c1", (r) => connectNetwork(r, "d", ["web"]));
    expect(names()).toEqual(["a=eth0", "c=eth2", "d=eth1"]);
    expect(state.get("c1").networks[2]!.aliases).toEqual(["web"]);

    state.update("c1", (r) => connectNetwork(r, "b"));
    expect(names()).toEqual(["a=eth0", "c=eth2", "d=eth1", "b=eth3"]);

    state.update("c1", (r) => disconnectNetwork(disconnectNetwork(r, "a"), "c"));
    state.update("c1", (r) => connectNetwork(r, "e"));
    expect(names()).toEqual(["d=eth1", "b=eth3", "e=eth0"]);
  });

  test("a new container starts again from eth0", () => {
    state.insert(newContainerRecord({ id: "c1", mode: { kind: "bridge" }, networks: [{ network: "a" }] }));
    state.update("c1", (r) => connectNetwork(r, "b"));
    state.remove("c1");
    state.insert(newContainerRecord({ id: "c1", mode: { kind: "bridge" }, networks: [{ network: "b" }] }));
    expect(state.get("c1").ifnames).toEqual({ b: "eth0" });
  });

  test.each<[string, (r: ContainerRecord) => ContainerRecord, string]>([
    ["connecting a connected network", (r) => connectNetwork(r, "podman"), 'container c1 is already connected to network podman: network is already connected'],
    ["disconnecting a network not connected", (r) => disconnectNetwork(r, "other"), 'container c1 is not connected to network other'],
    ["disconnecting twice", (r) => disconnectNetwork(disconnectNetwork(r, "podman"), "podman"), 'container c1 is not connected to network podman'],
    ["a bad network name", (r) => connectNetwork(r, "a b"), 'Invalid characters in network name "a b": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
    ["a bad alias", (r) => connectNetwork(r, "n", [".x"]), 'invalid network alias ".x": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
  ])("rejects %s", (_, change, message) => {
    expect(usageError(() => change(bridge("c1")))).toBe(message);
  });
});

describe("several processes at once", () => {
  async function runAll(argvs: string[][]): Promise<void> {
    const procs = argvs.map((argv) => Bun.spawn([process.execPath, ...argv], { stdout: "pipe", stderr: "pipe" }));
    const results = await Promise.all(
      procs.map(async (p) => ({ code: await p.exited, stderr: await new Response(p.stderr).text() })),
    );
    for (const r of results) expect(r).toEqual({ code: 0, stderr: "" });
  }

  test("lose and duplicate nothing", async () => {
    state.close();
    const root = join(dir, "shared-db");
    const WORKERS = 6;
    const ROUNDS = 15;
    const creator = Bun.spawn([process.execPath, "-e", sharedRecordScript(root)], { stdout: "pipe", stderr: "pipe" });
    expect(await creator.exited).toBe(0);
    const workers = Array.from({ length: WORKERS }, (_, w) => [join(FIXTURES, "writer.ts"), root, String(w), String(ROUNDS)]);
    await runAll(workers);

    state = openState({ root });
    const all = state.list();
    expect(all.length).toBe(WORKERS * ROUNDS + 1);
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
    expect(all.filter((r) => r.id !== "shared").every((r) => r.state === "ready" && r.name === `name-${r.id}`)).toBe(true);

    const shared = state.get("shared");
    expect(shared.networks.length).toBe(WORKERS * ROUNDS);
    const ifnames = shared.networks.map((n) => n.ifname).sort();
    const expected = Array.from({ length: WORKERS * ROUNDS }, (_, i) => `eth${i}`).sort();
    expect(ifnames).toEqual(expected);
    expect(raw((db) => db.query("PRAGMA integrity_check").all())).toEqual([{ integrity_check: "ok" }]);
  });

  test("race on creating a database", async () => {
    state.close();
    const root = join(dir, "race");
    await runAll(Array.from({ length: 6 }, () => ["-e", openOnlyScript(root)]));
    state = openState({ root });
    expect(raw((db) => db.query("PRAGMA user_version").get())).toEqual({ user_version: MIGRATIONS.length });
    expect(state.list()).toEqual([]);
  });

  function sharedRecordScript(root: string): string {
    return `
      import { openState } from ${JSON.stringify(join(import.meta.dir, "../../src/state/containers.ts"))};
      import { newContainerRecord } from ${JSON.stringify(join(import.meta.dir, "../../src/container/attachments.ts"))};
      using s = openState({ root: ${JSON.stringify(root)} });
      s.insert(newContainerRecord({ id: "shared", mode: { kind: "bridge" } }));
    `;
  }

  function openOnlyScript(root: string): string {
    return `
      import { openState } from ${JSON.stringify(join(import.meta.dir, "../../src/state/containers.ts"))};
      openState({ root: ${JSON.stringify(root)} }).close();
    `;
  }

  test("withLock serialises processes", async () => {
    const lock = join(dir, "lock");
    const counter = join(dir, "counter");
    writeFileSync(counter, "0");
    await runAll(Array.from({ length: 5 }, () => [join(FIXTURES, "lock-counter.ts"), lock, counter, "10"]));
    expect(readFileSync(counter, "utf8")).toBe("50");
    expect(statSync(lock).mode & 0o777).toBe(0o600);
  });
});

describe("withLock", () => {
  test("returns what fn returns, sync or async", async () => {
    const lock = join(dir, "lock");
    expect(await withLock(lock, () => 1)).toBe(1);
    expect(await withLock(lock, async () => 2)).toBe(2);
  });

  test("releases the lock when fn throws", async () => {
    const lock = join(dir, "lock");
    await expect(withLock(lock, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(
      withLock(lock, () => {
        throw new Error("sync boom");
      }),
    ).rejects.toThrow("sync boom");
    expect(await withLock(lock, () => "after")).toBe("after");
  });

  test("serialises holders in one process", async () => {
    const lock = join(dir, "lock");
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        withLock(lock, async () => {
          inside++;
          most = Math.max(most, inside);
          await Bun.sleep(1);
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  test("a lock file in a missing directory is an error naming the path", async () => {
    const lock = join(dir, "missing", "lock");
    const err = await withLock(lock, () => 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SysError);
    expect((err as Error).message).toBe(`open ${lock}: no such file or directory (ENOENT)`);
  });
});
