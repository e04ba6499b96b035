// ctrnet as an OCI runtime hook, as nerdctl's `internal oci-hook`: the runtime makes the container's
// namespaces, calls `ctrnet hook createRuntime` with the container's state on stdin, and
// `ctrnet hook poststop` once it has stopped.
import { CtrnetError } from "../errors.ts";
import { type ContextOptions, createContext, withContext } from "../lifecycle/index.ts";
import { log } from "../log.ts";
import { validateName } from "../names.ts";
import { inUserNamespace } from "../identity.ts";
import type { BundleConfig, OciState } from "../schema/oci.ts";
import { parseOciState, readBundleConfig } from "./input.ts";
import { recordOf } from "./lookup.ts";
import { handOver, hasCreateContainerHook, holderFromEnv, startWaiter } from "./rendezvous.ts";
import { type HookArgs, resolveSettings } from "./settings.ts";
import { checkRootlessHookNetwork, setUpContainer } from "./set-up.ts";
import { tearDownContainer } from "./tear-down.ts";
import { containerUserNamespace, runInContainerUserNamespace, userNamespaceOpen } from "./user-namespace.ts";

export { DEFAULT_HOOKS_DIR, configHooks, hookCommand, hookEnv, hooksdFile, installHooks } from "./hook-files.ts";
export { readStateText } from "./input.ts";
export type { HookArgs } from "./settings.ts";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const SETUP_STAGES = ["createRuntime", "prestart"] as const;
export const TEARDOWN_STAGES = ["poststop"] as const;
/** Where crun's rootless containers are reached (rendezvous.ts); nothing to do for any other. */
export const HANDOVER_STAGES = ["createContainer"] as const;
/** Stages a runtime may be configured to call that need nothing from ctrnet. */
export const NOOP_STAGES = ["startContainer", "poststart"] as const;
export type HookStage =
  | (typeof SETUP_STAGES)[number]
  | (typeof TEARDOWN_STAGES)[number]
  | (typeof HANDOVER_STAGES)[number]
  | (typeof NOOP_STAGES)[number];

/**
 * A hook that runs unprivileged on the host for a container without a user namespace of its own (so no
 * runtime of this user could have made its netns) has no rights over the container's netns.
 */
function checkPrivilege(stage: HookStage): void {
  const euid = process.geteuid?.() ?? 0;
  if (euid === 0 || inUserNamespace()) return;
  throw new CtrnetError(
    `ctrnet hook ${stage} runs as uid ${euid} outside any user namespace, and the container has no user namespace of its own to configure its network namespace from: run the runtime as root, or rootless with a user namespace`,
  );
}

/**
 * createRuntime for a container whose user namespace its own user cannot open yet (crun 1.8): a waiter
 * configures it once the createContainer hook hands over the container's namespaces (rendezvous.ts).
 */
async function deferToCreateContainer(options: ContextOptions, state: OciState, config: BundleConfig, stateText: string, argv: string[]): Promise<number> {
  const pid = state.pid!;
  if (!hasCreateContainerHook(config)) {
    throw new CtrnetError(
      `cannot open the namespaces of the container's process ${pid}: this runtime (crun does) keeps them closed to their own user while createRuntime runs; add ctrnet's createContainer hook to config.json (ctrnet hook config prints it), which reaches them from inside the container`,
    );
  }
  const id = validateName("container id", state.id);
  const ctx = createContext(options);
  try {
    // A second call (prestart after createRuntime) finds what the first made through the waiter.
    const rec = recordOf(ctx, id);
    if (rec?.state === "ready" && rec.netns?.path === `/proc/${pid}/ns/net`) {
      log.debug(`container "${id}" already has its network`);
      return 0;
    }
  } finally {
    ctx.close();
  }
  startWaiter(ctx.runtimeDir, state, stateText, argv);
  return 0;
}

/**
 * One hook call: `stateText` is what the runtime wrote on stdin, `argv` this invocation's arguments (run
 * again inside the container's user namespace when the runtime is rootless). Returns the exit status.
 */
export async function runHook(stage: HookStage, stateText: string, args: HookArgs, options: ContextOptions, argv: string[]): Promise<number> {
  // A runtime runs a hook with config.json's env alone: the programs ctrnet starts (slirp4netns,
  // unshare) are then found where execvp looks when there is no PATH.
  process.env.PATH ??= DEFAULT_PATH;
  const state = parseOciState(stateText);
  if (stage === "poststop") {
    // The process is gone by now: helpers are stopped by pid and the record dropped, from wherever the
    // runtime runs this, so a rootless runtime's poststop needs no user namespace.
    await withContext(options, (ctx) => tearDownContainer(ctx, state.id));
    return 0;
  }
  if (stage === "createContainer") return handOver(createContext(options).runtimeDir, state.id) ?? 0;
  if (stage !== "createRuntime" && stage !== "prestart") return 0;
  // Everything from outside is read and checked before the state is opened, so bad input makes nothing.
  const settings = resolveSettings(args, state.annotations);
  const config = readBundleConfig(state.bundle);
  const userns = containerUserNamespace(state.pid);
  if (userns !== undefined) {
    checkRootlessHookNetwork(settings.network);
    if (userNamespaceOpen(userns)) return runInContainerUserNamespace(userns, argv, stateText);
    return deferToCreateContainer(options, state, config, stateText, argv);
  }
  checkPrivilege(stage);
  const holder = holderFromEnv();
  await withContext(options, (ctx) => setUpContainer(ctx, state, config, settings, holder));
  return 0;
}
