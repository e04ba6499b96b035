// `ctrnet unshare [--] [CMD…]`, as `podman unshare`: a command (default $SHELL) in the rootless user and
// mount namespace, where the user is root and sees the netns files ctrnet mounted. By the time run()
// starts, cli() has already moved this process there (rootless/reexec.ts).
import { defineCommand } from "citty";
import { signalExitStatus } from "../../../ffi/signals.ts";
import { isSysError } from "../../../ffi/errno.ts";
import type { LaunchedProcess } from "../../../ffi/launcher.ts";
import { CtrnetError, errorMessage, exitCodeOf, UsageError } from "../../errors.ts";
import { isRootless } from "../../identity.ts";
import { withContext } from "../../lifecycle/index.ts";
import { runInRootlessNetns } from "../../lifecycle/rootless-netns-info.ts";
import { RunError } from "../../lifecycle/run.ts";
import { forwardSignals, standInStatus } from "../../rootless/signals.ts";

const USAGE = "ctrnet unshare [--rootless-netns] [--] [CMD…]";

/**
 * Parsed by hand: CMD keeps its own options (`id -u`), which a generic option parser would take for ours.
 * podman's one option, --rootless-netns, comes before CMD.
 */
export function unshareArgs(rawArgs: readonly string[], shell = process.env.SHELL): { rootlessNetns: boolean; command: string[] } {
  let rootlessNetns = false;
  let i = 0;
  for (; i < rawArgs.length && rawArgs[i] !== "--" && rawArgs[i]!.startsWith("-"); i++) {
    const option = rawArgs[i]!;
    if (option === "--rootless-netns" || option === "--rootless-netns=true") rootlessNetns = true;
    else if (option === "--rootless-netns=false") rootlessNetns = false;
    else throw new UsageError(`unknown option ${option}: ${USAGE}`);
  }
  if (rawArgs[i] === "--") i++;
  const command = rawArgs.slice(i);
  return { rootlessNetns, command: command.length > 0 ? command : [shell || "/bin/sh"] };
}

/** The command alone (no --rootless-netns). */
export function unshareCommand(rawArgs: readonly string[], shell = process.env.SHELL): string[] {
  return unshareArgs(rawArgs, shell).command;
}

/** Exit status 126/127, as a shell gives for a command it cannot run. */
class CommandNotRunError extends CtrnetError {
  constructor(
    message: string,
    override readonly exitCode: number,
  ) {
    super(message);
  }
}

/** `--rootless-netns`: the command in the rootless netns, made for it if need be (podman's unshare --rootless-netns). */
async function inRootlessNetns(command: string[]): Promise<number> {
  let child: LaunchedProcess | undefined;
  const stopForwarding = forwardSignals(() => child);
  try {
    return await withContext({}, async (ctx) => {
      let status;
      try {
        status = await runInRootlessNetns(ctx, command, (c) => (child = c));
      } catch (err) {
        if (isSysError(err, "ENOENT", "EACCES") && err.syscall === "execve") {
          const reason = err.code === "ENOENT" ? "command not found" : "permission denied";
          throw new CommandNotRunError(`cannot run "${command[0]}": ${reason}`, err.code === "ENOENT" ? 127 : 126);
        }
        // as `run`: a failure before the command started (the namespace or its way out) is 125, podman's
        if (child === undefined && exitCodeOf(err) !== 2) throw new RunError(errorMessage(err), { cause: err });
        throw err;
      }
      return standInStatus(status);
    });
  } finally {
    stopForwarding();
  }
}

export default defineCommand({
  meta: { name: "unshare", description: "Run a command (default $SHELL) in the rootless user and mount namespace, like podman unshare; with --rootless-netns, in the rootless netns too" },
  args: {
    "rootless-netns": { type: "boolean", description: "run it in the rootless netns (where rootless bridge networks live), made for it if no container has it" },
    command: { type: "positional", required: false, description: "command and its arguments, optionally after --" },
  },
  async run({ rawArgs }) {
    // Root has no rootless namespace to enter: it would only run the command as it is, hiding a mistake.
    if (!isRootless()) throw new UsageError("ctrnet unshare is for rootless users: as root, run the command directly");
    const { rootlessNetns, command } = unshareArgs(rawArgs);
    if (rootlessNetns) return inRootlessNetns(command);
    let child: ReturnType<typeof Bun.spawn> | undefined;
    const stopForwarding = forwardSignals(() => child);
    try {
      try {
        // env given explicitly: Bun.spawn's default is the environment at startup, not process.env now
        child = Bun.spawn(command, { env: process.env, stdio: ["inherit", "inherit", "inherit"] });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "EACCES") throw err;
        const reason = code === "ENOENT" ? "command not found" : "permission denied";
        throw new CommandNotRunError(`cannot run "${command[0]}": ${reason}`, code === "ENOENT" ? 127 : 126);
      }
      const exitCode = await child.exited;
      const signal = child.signalCode;
      return signal === null ? exitCode : signalExitStatus(signal);
    } finally {
      stopForwarding();
    }
  },
});
