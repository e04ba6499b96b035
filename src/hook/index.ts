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

export { DEFAULT_HOOKS_DIR, configHooks, hookCommand, hookEnv, hooksdFile, installHooks } from "./hook-files.ts";
export { readStateText } from "./input.ts";
export type { HookArgs } from "./settings.ts";

export const SETUP_STAGES = ["createRuntime", "prestart"] as const;
export const TEARDOWN_STAGES = ["poststop"] as const;
/** Stages a runtime may be configured to call that need nothing from ctrnet. */
export const NOOP_STAGES = ["createContainer", "startContainer", "poststart"] as const;
export type HookStage = (typeof SETUP_STAGES)[number] | (typeof TEARDOWN_STAGES)[number] | (typeof NOOP_STAGES)[number];

/**
 * A rootless runtime that runs its hooks on the host (crun 1.8 run by a user does, the container's user
 * namespace being the container's own) leaves ctrnet without the rights to enter the container's netns;
 * ctrnet's own user namespace would not give them either (its namespaces are not the container's).
 */
function checkPrivilege(stage: HookStage): void {
  const euid = process.geteuid?.() ?? 0;
  if (euid === 0 || inUserNamespace()) return;
  throw new CtrnetError(
    `ctrnet hook ${stage} runs as uid ${euid} outside any user namespace and cannot enter the container's network namespace: run the runtime as root or inside a user namespace (as podman does)`,
  );
}

/** One hook call: `stateText` is what the runtime wrote on stdin. */
export async function runHook(stage: HookStage, stateText: string, args: HookArgs, options: ContextOptions): Promise<void> {
  const state = parseOciState(stateText);
  if (stage === "poststop") {
    await withContext(options, (ctx) => tearDownContainer(ctx, state.id));
    return;
  }
  if (stage !== "createRuntime" && stage !== "prestart") return;
  checkPrivilege(stage);
  // Everything from outside is read and checked before the state is opened, so bad input makes nothing.
  const settings = resolveSettings(args, state.annotations);
  const config = readBundleConfig(state.bundle);
  await withContext(options, (ctx) => setUpContainer(ctx, state, config, settings));
}
