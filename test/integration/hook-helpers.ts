// The real OCI runtimes driving ctrnet as their hook: a busybox root filesystem (from busybox-static),
// bundles whose config.json comes from `crun spec` / `runc spec` with ctrnet's `hook config` merged in,
// and stand-in containers (a process in a new netns, a bundle with just a config.json) for the hook
// tests that need no runtime.
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BINARY } from "../helpers/binary.ts";
import { hex, type Installation, run } from "./lifecycle-helpers.ts";

const APPLETS = ["sh", "httpd", "ip", "cat", "sleep", "ping", "nc", "ls", "hostname"];

/** rootfs/ with /bin/busybox and its applets, and /www/index.html holding `body`. */
export function busyboxRootfs(bundle: string, body: string): string {
  const rootfs = join(bundle, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  mkdirSync(join(rootfs, "www"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  for (const applet of APPLETS) symlinkSync("busybox", join(rootfs, "bin", applet));
  writeFileSync(join(rootfs, "www/index.html"), body);
  return rootfs;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnSync(argv: string[], opts: { cwd?: string; stdin?: string; env?: Record<string, string> } = {}): CliRun {
  const r = Bun.spawnSync(argv, {
    cwd: opts.cwd,
    env: opts.env,
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** crun or runc with a state directory of its own. */
export class Runtime {
  readonly root: string;

  constructor(
    readonly name: "crun" | "runc",
    dir: string,
  ) {
    this.root = join(dir, `${name}-state`);
  }

  /** crun refuses a cgroup v2 hierarchy with controllers next to v1 ones; cgroups don't matter to these tests. */
  private get argv0(): string[] {
    return this.name === "crun" ? ["crun", "--cgroup-manager=disabled", "--root", this.root] : ["runc", "--root", this.root];
  }

  cmd(args: string[], cwd?: string): CliRun {
    return spawnSync([...this.argv0, ...args], { cwd });
  }

  /**
   * `run -d`: the container's stdio is inherited from the runtime, so it goes to files here, or the
   * pipe would stay open for as long as the container runs.
   */
  runDetached(bundle: string, id: string): CliRun {
    const err = join(bundle, `run-${hex(3)}.err`);
    const r = Bun.spawnSync([...this.argv0, "run", "-d", "--bundle", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(err) });
    return { code: r.exitCode, stdout: "", stderr: readFileSync(err, "utf8") };
  }

  /** Kills and deletes the container (poststop runs at delete); fine when it is already gone. */
  remove(id: string): void {
    this.cmd(["kill", id, "KILL"]);
    for (let i = 0; i < 50; i++) {
      const state = this.cmd(["state", id]);
      if (state.code !== 0 || JSON.parse(state.stdout).status === "stopped") break;
      Bun.sleepSync(20);
    }
    this.cmd(["delete", "-f", id]);
  }

  list(): string[] {
    const r = this.cmd(["list", "-q"]);
    return r.stdout.split("\n").filter(Boolean);
  }
}

export interface BundleOptions {
  annotations: Record<string, string>;
  /** The hooks block ctrnet printed (`ctrnet hook config`). */
  hooks: unknown;
  args?: string[];
}

/** A bundle in dir with the busybox rootfs and the runtime's default config.json, edited. */
export function makeBundle(runtime: Runtime, dir: string, body: string, opts: BundleOptions): string {
  const bundle = join(dir, `bundle-${hex(4)}`);
  mkdirSync(bundle, { recursive: true });
  busyboxRootfs(bundle, body);
  const spec = runtime.cmd(["spec"], bundle);
  if (spec.code !== 0) throw new Error(`${runtime.name} spec: ${spec.stderr}`);
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  config.process.terminal = false;
  config.process.args = opts.args ?? ["/bin/httpd", "-f", "-p", "80", "-h", "/www"];
  config.annotations = opts.annotations;
  Object.assign(config, opts.hooks);
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2));
  return bundle;
}

/** The hooks block for this installation, as a user would paste it. */
export function hooksBlock(inst: Installation): unknown {
  return JSON.parse(inst.ok(["hook", "config"]));
}

/** A stand-in container: a process in a network namespace of its own. */
export function sleeper(): Subprocess {
  return Bun.spawn(["unshare", "--net", "sleep", "600"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
}

/** Waits until the process has entered its new netns (unshare has run). */
export async function inOwnNetns(proc: Subprocess): Promise<void> {
  const own = run(["readlink", "/proc/self/ns/net"]).out.trim();
  for (let i = 0; i < 200; i++) {
    const r = run(["readlink", `/proc/${proc.pid}/ns/net`]).out.trim();
    if (r && r !== own) return;
    await Bun.sleep(5);
  }
  throw new Error(`process ${proc.pid} did not get a network namespace of its own`);
}

/** A bundle with only a config.json (and an empty rootfs/), for hook calls without a runtime. */
export function bareBundle(dir: string, config: Record<string, unknown> = {}): string {
  const bundle = join(dir, `bare-${hex(4)}`);
  mkdirSync(join(bundle, "rootfs"), { recursive: true });
  const full = { ociVersion: "1.0.2", root: { path: "rootfs" }, linux: { namespaces: [{ type: "network" }, { type: "mount" }] }, ...config };
  writeFileSync(join(bundle, "config.json"), JSON.stringify(full));
  return bundle;
}

export interface StateInput {
  id: string;
  pid?: number;
  bundle: string;
  status?: string;
  annotations?: Record<string, string>;
}

export function ociState(s: StateInput): string {
  return JSON.stringify({ ociVersion: "1.0.2", id: s.id, status: s.status ?? "creating", pid: s.pid ?? 0, bundle: s.bundle, annotations: s.annotations ?? {} });
}

/** The installation's env, as `ctrnet hook config` writes it into the hooks (BUN_TMPDIR included when set). */
function hookEnv(inst: Installation): Record<string, string> {
  return { ...inst.env, ...(process.env.BUN_TMPDIR ? { BUN_TMPDIR: process.env.BUN_TMPDIR } : {}) };
}

/** `ctrnet hook STAGE` with the state on stdin, as a runtime runs it: only the installation's env. */
export function hook(inst: Installation, stage: string, state: string, args: string[] = []): CliRun {
  return spawnSync([BINARY, "hook", stage, ...args], { stdin: state, env: hookEnv(inst) });
}

/** The same, not waited for. */
export function hookAsync(inst: Installation, stage: string, state: string): Promise<CliRun> {
  const proc = Bun.spawn([BINARY, "hook", stage], { stdin: new TextEncoder().encode(state), stdout: "pipe", stderr: "pipe", env: hookEnv(inst) });
  return Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]).then(([code, stdout, stderr]) => ({ code, stdout, stderr }));
}

/**
 * crun refuses a hybrid cgroup layout whose v2 hierarchy has controllers (this machine's has hugetlb).
 * Inside the tests' private mount namespace a tmpfs over /sys/fs/cgroup/unified makes the layout plain
 * v1 for crun; the returned function takes it away again.
 */
export function hideHybridCgroup2(): () => void {
  const unified = "/sys/fs/cgroup/unified";
  let controllers = "";
  try {
    controllers = readFileSync(join(unified, "cgroup.controllers"), "utf8").trim();
  } catch {
    return () => {};
  }
  if (!controllers) return () => {};
  if (!run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", unified]).ok) throw new Error(`cannot mount a tmpfs over ${unified}`);
  return () => {
    run(["umount", unified]);
  };
}
