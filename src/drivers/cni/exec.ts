// Runs one CNI plugin binary: one process per call, config on stdin, CNI_* in the environment, the
// result (or a spec error object) on stdout.
import { statSync } from "../../../ffi/fs.ts";
import { join } from "node:path";
import * as v from "valibot";
import { type InProcessOptions, OWNER_VARIABLE, runCniPlugin } from "../bridge/plugin/run.ts";
import { CtrnetError } from "../../errors.ts";
import { PluginErrorOutput } from "../../schema/cni.ts";
import { ownResult } from "./result.ts";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS" | "GC";

export interface AttachmentEnv {
  containerId: string;
  netnsPath: string;
  ifName: string;
  cniArgs: readonly (readonly [string, string])[];
}

export interface PluginInvocation {
  type: string;
  command: CniCommand;
  /** For messages only. */
  network?: string;
  stdin: Uint8Array;
  /** Set for ADD, DEL and CHECK; VERSION, STATUS and GC are not about one attachment. */
  attachment?: AttachmentEnv;
}

/** What one plugin process did, for debug logs and overhead measurements. */
export interface PluginCallRecord {
  type: string;
  command: CniCommand;
  network?: string;
  path: string;
  durationMs: number;
  exitCode: number | null;
  stderr: string;
}

/** A started plugin process, however it was started. */
export interface PluginProcess {
  /** Everything it wrote to stdout and stderr, once both are closed. */
  readonly output: Promise<{ stdout: string; stderr: string }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | number | null }>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts the plugin at path with stdin fed to it and its stdout and stderr collected. Throws what the
 * start failed with; an error whose code is ETXTBSY is retried.
 */
export type PluginSpawner = (path: string, stdin: Uint8Array, env: Record<string, string>) => PluginProcess;

export interface ExecOptions {
  /** Searched in order. */
  pluginDirs: readonly string[];
  timeoutMs: number;
  onPluginCall?: (record: PluginCallRecord) => void;
  /** Default: a child of this process, in its namespaces (Bun.spawn). */
  spawn?: PluginSpawner;
  /**
   * ctrnet's state dir. With it, ctrnet's own plugin type (`ctrnet`) runs in this process, the same code
   * without a second ctrnet started for every ADD and DEL, also where plugins are spawned in another
   * namespace: it is told the netns below instead.
   */
  stateRoot?: string;
  /**
   * ctrnet's own plugin in-process: the netns of the bridge and the firewall table (the rootless netns)
   * and host-local's default dataDir there, as the plugins spawned in that netns see /var/lib/cni.
   */
  ownPlugin?: InProcessOptions;
  /** Marks what ctrnet's own plugin records for this runtime, as the cache files are marked. */
  owner?: string;
}

/** The plugin type that is ctrnet itself (src/drivers/bridge/plugin). */
export const OWN_PLUGIN_TYPE = "ctrnet";

/** A plugin failed: its own error object when it printed one, else what could be seen of the failure. */
export class PluginError extends CtrnetError {
  constructor(
    readonly plugin: string,
    readonly command: CniCommand,
    readonly network: string | undefined,
    detail: string,
    /** The spec's error code when the plugin printed one (e.g. 11: try again later). */
    readonly code?: number,
  ) {
    super(`plugin ${plugin} ${command}${network ? ` for network ${network}` : ""}: ${oneLine(detail)}`);
    this.name = "PluginError";
  }
}

/** The plugin binary is not in the search path: nothing of it can have run. */
export class PluginNotFoundError extends PluginError {
  constructor(plugin: string, command: CniCommand, network: string | undefined, dirs: readonly string[]) {
    super(plugin, command, network, `plugin binary "${plugin}" not found in ${dirs.join(":")}`);
    this.name = "PluginNotFoundError";
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** Retries for ETXTBSY, which a plugin binary gives while something (an installer) still has it open for writing. */
const BUSY_RETRY_DELAYS_MS = [50, 100, 200, 400, 800];

/** iptables and friends live in sbin, which Debian leaves out of an unprivileged user's PATH. */
const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

function findPlugin(type: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const path = join(dir, type);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function pluginEnv(call: PluginInvocation, dirs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(process.env)) {
    if (val !== undefined && !k.startsWith("CNI_")) env[k] = val;
  }
  const path = (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":");
  env.PATH = [...path, ...SBIN_DIRS.filter((d) => !path.includes(d))].join(":");
  return Object.assign(env, cniVariables(call, dirs));
}

/** The CNI_* variables of a call, as the spec has a runtime set them. */
function cniVariables(call: PluginInvocation, dirs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: call.command, CNI_PATH: dirs.join(":") };
  if (call.attachment) {
    env.CNI_CONTAINERID = call.attachment.containerId;
    env.CNI_NETNS = call.attachment.netnsPath;
    env.CNI_IFNAME = call.attachment.ifName;
    env.CNI_ARGS = call.attachment.cniArgs.map(([k, val]) => `${k}=${val}`).join(";");
  }
  return env;
}

export const spawnChild: PluginSpawner = (path, stdin, env) => {
  // A session of its own: a terminal's ^C must not kill a plugin half-way through an ADD or DEL; the
  // caller finishes the operation and decides (ctrnet run then tears down).
  const proc = Bun.spawn([path], { stdin, stdout: "pipe", stderr: "pipe", env, detached: true });
  return {
    output: Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]).then(([stdout, stderr]) => ({ stdout, stderr })),
    exited: proc.exited.then(() => ({ code: proc.exitCode, signal: proc.signalCode })),
    kill: (signal) => proc.kill(signal),
  };
};

async function spawnPlugin(spawn: PluginSpawner, path: string, stdin: Uint8Array, env: Record<string, string>): Promise<PluginProcess> {
  for (let attempt = 0; ; attempt++) {
    try {
      return spawn(path, stdin, env);
    } catch (err) {
      const delay = BUSY_RETRY_DELAYS_MS[attempt];
      if ((err as NodeJS.ErrnoException).code !== "ETXTBSY" || delay === undefined) throw err;
      await Bun.sleep(delay);
    }
  }
}

function failureDetail(stdout: string, stderr: string, status: string): { detail: string; code?: number } {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  const parsed = v.safeParse(PluginErrorOutput, json);
  if (parsed.success) {
    const { msg, details, code } = parsed.output;
    return { detail: details ? `${msg}: ${details}` : msg, code };
  }
  const said = (stderr.trim() || stdout.trim()).split("\n").slice(-3).join(" ");
  return { detail: said ? `${status}: ${said}` : status };
}

/** Runs the plugin and returns its stdout as JSON (undefined when it printed nothing). */
export async function execPlugin(call: PluginInvocation, options: ExecOptions): Promise<unknown> {
  const fail = (detail: string, code?: number) => new PluginError(call.type, call.command, call.network, detail, code);
  if (call.type === OWN_PLUGIN_TYPE && options.stateRoot !== undefined) {
    return runOwnPlugin(call, options, options.stateRoot, fail);
  }
  const path = findPlugin(call.type, options.pluginDirs);
  if (!path) throw new PluginNotFoundError(call.type, call.command, call.network, options.pluginDirs);

  const started = performance.now();
  let proc: PluginProcess;
  try {
    proc = await spawnPlugin(options.spawn ?? spawnChild, path, call.stdin, pluginEnv(call, options.pluginDirs));
  } catch (err) {
    throw fail(`cannot run ${path}: ${(err as Error).message}`);
  }

  const outputs = Promise.all([proc.output, proc.exited]);
  let timer: Timer | undefined;
  // A plugin's children (iptables, a dhcp daemon) could hold the pipes open after it exits, so the
  // deadline covers reading the output too, not only the exit.
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
  });
  const outcome = await Promise.race([outputs, deadline]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    proc.kill("SIGKILL");
    await proc.exited;
    options.onPluginCall?.(record(call, path, started, null, ""));
    throw fail(`no answer within ${options.timeoutMs} ms; killed it`);
  }
  const [{ stdout, stderr }, { code: exitCode, signal }] = outcome;
  options.onPluginCall?.(record(call, path, started, exitCode, stderr));

  if (exitCode !== 0) {
    const status = signal ? `killed by ${signal}` : `exited with status ${exitCode}`;
    const { detail, code } = failureDetail(stdout, stderr, status);
    throw fail(detail, code);
  }
  if (stdout.trim() === "") return undefined;
  try {
    return JSON.parse(stdout);
  } catch {
    throw fail(`printed something that is not JSON: ${stdout.slice(0, 200)}`);
  }
}

/** ctrnet's plugin, called as a function with exactly what its process would get. */
async function runOwnPlugin(call: PluginInvocation, options: ExecOptions, stateRoot: string, fail: (detail: string, code?: number) => PluginError): Promise<unknown> {
  const started = performance.now();
  // All the plugin reads of its environment (run.ts: readPluginEnv, runtimeDir, the owner): the dozens of
  // variables of this process's own, which a plugin process is handed, are not copied for it.
  const { XDG_RUNTIME_DIR } = process.env;
  const env = {
    ...cniVariables(call, options.pluginDirs),
    ...(XDG_RUNTIME_DIR !== undefined ? { XDG_RUNTIME_DIR } : {}),
    CTRNET_ROOT: stateRoot,
    ...(options.owner ? { [OWNER_VARIABLE]: options.owner } : {}),
  };
  const { stdout, exitCode } = await runCniPlugin(env, new TextDecoder().decode(call.stdin), options.ownPlugin);
  options.onPluginCall?.(record(call, "(in-process)", started, exitCode, ""));
  if (exitCode !== 0) {
    const { detail, code } = failureDetail(stdout, "", `exited with status ${exitCode}`);
    throw fail(detail, code);
  }
  return stdout.trim() === "" ? undefined : ownResult(JSON.parse(stdout));
}

function record(call: PluginInvocation, path: string, started: number, exitCode: number | null, stderr: string): PluginCallRecord {
  return {
    type: call.type,
    command: call.command,
    network: call.network,
    path,
    durationMs: performance.now() - started,
    exitCode,
    stderr,
  };
}
