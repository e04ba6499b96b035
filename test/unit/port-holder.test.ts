// The supervisor's port holder answering a request about one container (`sync ID`, what rm sends): it holds
// or lets go of that container's host ports alone, without listing every container, so an rm does not wait
// for a read of every ledger and record however many containers there are; and taking the sockets a create
// bound and handed over (`hold ID`).
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { newContainerRecord } from "../../src/container/attachments.ts";
import { createContext } from "../../src/lifecycle/context.ts";
import { handHeldPorts, PortHolder } from "../../src/lifecycle/port-holder.ts";
import { forgetHelperPids, supervisorFiles, writeHelperPids } from "../../src/state/ledger.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function canListen(port: number): boolean {
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

test("syncOne holds, then lets go of, the named container's ports without listing the others", () => {
  const dir = mkdtempSync(join(tmpdir(), "ctrnet-port-holder-"));
  dirs.push(dir);
  const ctx = createContext({ root: join(dir, "root"), netnsDir: join(dir, "netns"), cniConfigDir: join(dir, "conf"), cniCacheDir: join(dir, "cache") });
  if (ctx.rootless) return; // a rootless user's ports are its forwarder's to hold
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  const userns = 4026531837;
  const rec = newContainerRecord({ id: "a", mode: { kind: "bridge" }, networks: [{ network: "n" }] });
  ctx.state().insert({ ...rec, state: "ready", ports: [{ hostIP: "127.0.0.1", hostPort: port, containerPort: 80, protocol: "tcp", range: 1 }] });
  writeHelperPids(ctx, "a", { supervisedIn: userns, holdsPorts: true });
  const holder = new PortHolder(ctx, userns, () => {
    throw new Error("a request about one container listed every container");
  });
  try {
    expect(holder.syncOne("a")).toEqual([]);
    expect(canListen(port)).toBe(false);
    expect(holder.syncOne("a")).toEqual([]);
    // rm: the record and the ledger go, then the request
    ctx.state().remove("a");
    forgetHelperPids(ctx, "a");
    expect(holder.syncOne("a")).toEqual([]);
    expect(canListen(port)).toBe(true);
  } finally {
    holder.close(false);
    ctx.close();
  }
});

test("a create's hold request hands its sockets over: the port is held from the send, with no answer waited for", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ctrnet-port-holder-"));
  dirs.push(dir);
  const ctx = createContext({ root: join(dir, "root"), netnsDir: join(dir, "netns"), cniConfigDir: join(dir, "conf"), cniCacheDir: join(dir, "cache") });
  if (ctx.rootless) return;
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  const userns = 4026531837;
  mkdirSync(dirname(supervisorFiles(ctx, userns).socketFile), { recursive: true });
  const holder = new PortHolder(ctx, userns, () => []);
  try {
    expect(holder.listen()).toBeDefined();
    const ports = [{ hostIP: "127.0.0.1", hostPort: port, containerPort: 80, protocol: "tcp" as const, range: 1 }];
    // the supervisor has not read the request yet: the sockets in flight hold the port
    expect(await handHeldPorts(ctx, userns, "a", ports)).toEqual([]);
    expect(canListen(port)).toBe(false);
    // it reads the request, answering nothing, and keeps the sockets, not the container's others
    expect(holder.serve()).toEqual(new Set());
    expect(canListen(port)).toBe(false);
    // rm: a sync of the container, whose record is gone, lets go of them
    expect(holder.syncOne("a")).toEqual([]);
    expect(canListen(port)).toBe(true);
  } finally {
    holder.close(false);
    ctx.close();
  }
});
