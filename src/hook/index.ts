// ctrnet as an OCI runtime hook, as nerdctl's `internal oci-hook`: the runtime makes the container's
// namespaces, calls `ctrnet hook createRuntime` with the container's state on stdin, and
// `ctrnet hook poststop` once it has stopped.
import { CtrnetError } from "../errors.ts";
import { type ContextOptions, withContext } from "../lifecycle/index.ts";
import { inUserNamespace } from "../rootless/identity.ts";
import { parseOciState, readBundleConfig } from "./input.ts";
import { type HookArgs, resolveSettings } from "./settings.ts";
import { setUpContainer } from "./set-up.ts";
import { tearDownContainer } from "./tear-down.ts";
import { containerUserNamespace, runInContainerUserNamespace } from "./user-namespace.ts";

export { DEFAULT_HOOKS_DIR, configHooks, hookCommand, hookEnv, hooksdFile, installHooks } from "./hook-files.ts";
export { readStateText } from "./input.ts";
export type { HookArgs } from "./settings.ts";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const SETUP_STAGES = ["createRuntime", "prestart"] as const;
export const TEARDOWN_STAGES = ["poststop"] as const;
/** Stages a runtime may be configured to call that need nothing from ctrnet. */
export const NOOP_STAGES = ["createContainer", "startContainer", "poststart"] as const;
export type HookStage = (typeof SETUP_STAGES)[number] | (typeof TEARDOWN_STAGES)[number] | (typeof NOOP_STAGES)[number];

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
  if (stage !== "createRuntime" && stage !== "prestart") return 0;
  // Everything from outside is read and checked before the state is opened, so bad input makes nothing.
  const settings = resolveSettings(args, state.annotations);
  const config = readBundleConfig(state.bundle);
  const userns = containerUserNamespace(state.pid);
  if (userns !== undefined) return runInContainerUserNamespace(userns, argv, stateText);
  checkPrivilege(stage);
  await withContext(options, (ctx) => setUpContainer(ctx, state, config, settings));
  return 0;
}
