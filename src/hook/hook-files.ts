// How runtimes are told to call ctrnet: hooks.d files (the containers/common 1.0.0 format podman and
// CRI-O read: one hook per file, run when the container carries the io.ctrnet.network annotation) and
// the `hooks` block of a bundle's config.json for runc and crun used directly. A runtime runs a hook
// with nothing but the environment given here, so every setting that moves ctrnet's directories away
// from their defaults is written into it.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "../../ffi/fs.ts";
import { basename, isAbsolute, join } from "node:path";
import { UsageError } from "../errors.ts";
import type { Context } from "../lifecycle/index.ts";
import { selfCommand } from "../rootless/self.ts";
import type { OciHook } from "../schema/oci.ts";
import { NETWORK_ANNOTATION } from "./settings.ts";

/** The stages a runtime is configured to call: createRuntime to set up, poststop to tear down. */
export const INSTALLED_STAGES = ["createRuntime", "poststop"] as const;
export type InstalledStage = (typeof INSTALLED_STAGES)[number];

export const DEFAULT_HOOKS_DIR = "/usr/share/containers/oci/hooks.d";

export interface HookCommand {
  /** The executable the runtime runs (absolute). */
  path: string;
  /** argv before `hook STAGE`: argv[0], and the script when ctrnet runs from source. */
  argv: string[];
  /** NAME=VALUE entries. */
  env: string[];
}

/**
 * Variables that move ctrnet's directories or its logging, as the hook should see them; and BUN_TMPDIR,
 * where Bun's FFI compiler keeps its headers (bun-cc-UID, /tmp by default).
 */
export const PASSED_ENV = [
  "CTRNET_ROOT",
  "CTRNET_NETNS_DIR",
  "CTRNET_CNI_CONFIG_DIR",
  "CTRNET_CNI_PLUGIN_DIR",
  "CTRNET_CNI_CACHE_DIR",
  "CTRNET_LOG_LEVEL",
  "BUN_TMPDIR",
] as const;

/**
 * The environment for the hook: what is set here, and for a rootless user every directory resolved,
 * since a rootless default follows HOME and XDG_RUNTIME_DIR, which the runtime does not pass on.
 */
export function hookEnv(env: Readonly<Record<string, string | undefined>>, ctx: Pick<Context, "rootless" | "runtimeDir" | "netnsDir" | "cniConfigDir" | "cni">): string[] {
  const values: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = env[name];
    if (value) values[name] = value;
  }
  if (ctx.rootless) {
    values.CTRNET_ROOT = ctx.runtimeDir;
    values.CTRNET_NETNS_DIR = ctx.netnsDir;
    values.CTRNET_CNI_CONFIG_DIR = ctx.cniConfigDir;
    values.CTRNET_CNI_CACHE_DIR = ctx.cni.cacheDir;
  }
  return PASSED_ENV.flatMap((name) => (values[name] === undefined ? [] : [`${name}=${values[name]}`]));
}

/** This ctrnet (or the binary at `path`, e.g. where it will be installed) as the runtime should run it. */
export function hookCommand(env: string[], path?: string): HookCommand {
  if (path !== undefined) {
    if (!isAbsolute(path)) throw new UsageError(`--path takes an absolute path, got "${path}": runtimes do not search PATH for hooks`);
    return { path, argv: ["ctrnet"], env };
  }
  const self = selfCommand();
  return { path: self[0]!, argv: self.length === 1 ? ["ctrnet"] : [basename(self[0]!), ...self.slice(1)], env };
}

export function ociHook(cmd: HookCommand, stage: InstalledStage | "createContainer"): OciHook {
  const hook: OciHook = { path: cmd.path, args: [...cmd.argv, "hook", stage] };
  if (cmd.env.length) hook.env = [...cmd.env];
  return hook;
}

/**
 * `{"hooks": {...}}`, to merge into a config.json. A rootless user's block has createContainer too: a
 * rootless crun's namespaces only that stage can reach (rendezvous.ts). A root runtime's are always open,
 * so root's block leaves it out rather than start ctrnet once more per container for nothing.
 */
export function configHooks(cmd: HookCommand, rootless: boolean): { hooks: Partial<Record<InstalledStage | "createContainer", OciHook[]>> } {
  return {
    hooks: {
      createRuntime: [ociHook(cmd, "createRuntime")],
      ...(rootless ? { createContainer: [ociHook(cmd, "createContainer")] } : {}),
      poststop: [ociHook(cmd, "poststop")],
    },
  };
}

export interface HooksdFile {
  version: "1.0.0";
  hook: OciHook;
  when: { annotations: Record<string, string> };
  stages: [InstalledStage];
}

/** The annotation's name as an anchored regular expression, as hooks.d's `when.annotations` keys are. */
const WHEN_ANNOTATION = `^${NETWORK_ANNOTATION.replaceAll(".", "\\.")}$`;

export function hooksdFile(cmd: HookCommand, stage: InstalledStage): HooksdFile {
  return { version: "1.0.0", hook: ociHook(cmd, stage), when: { annotations: { [WHEN_ANNOTATION]: ".*" } }, stages: [stage] };
}

/** File names in a hooks.d directory, one per stage. */
export function hooksdFileName(stage: InstalledStage): string {
  return stage === "createRuntime" ? "ctrnet.json" : `ctrnet-${stage}.json`;
}

/** Writes both files (each replaced in one rename) and returns their paths. */
export function installHooks(dir: string, cmd: HookCommand): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return INSTALLED_STAGES.map((stage) => {
    const path = join(dir, hooksdFileName(stage));
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, `${JSON.stringify(hooksdFile(cmd, stage), null, 2)}\n`, { mode: 0o644 });
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return path;
  });
}
