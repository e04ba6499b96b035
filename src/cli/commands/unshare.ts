// `ctrnet unshare [--] [CMD…]`, as `podman unshare`: a command (default $SHELL) in the rootless user and
// mount namespace, where the user is root and sees the netns files ctrnet mounted. By the time run()
// starts, cli() has already moved this process there (rootless/reexec.ts).
import { defineCommand } from "citty";
import { constants } from "node:os";
import { CtrnetError, UsageError } from "../../errors.ts";
import { isRootless } from "../../identity.ts";
import { forwardSignals } from "../../rootless/signals.ts";

/** Parsed by hand: CMD keeps its own options (`id -u`), which a generic option parser would take for ours. */
export function unshareCommand(rawArgs: readonly string[], shell = process.env.SHELL): string[] {
  const first = rawArgs[0];
  if (first === "--") return rawArgs.length > 1 ? rawArgs.slice(1) : [shell || "/bin/sh"];
  if (first?.startsWith("-")) throw new UsageError(`unknown option ${first}: ctrnet unshare [--] [CMD…]`);
  return rawArgs.length > 0 ? [...rawArgs] : [shell || "/bin/sh"];
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

export default defineCommand({
  meta: { name: "unshare", description: "Run a command (default $SHELL) in the rootless user and mount namespace, like podman unshare" },
  args: { command: { type: "positional", required: false, description: "command and its arguments, optionally after --" } },
  async run({ rawArgs }) {
    // Root has no rootless namespace to enter: it would only run the command as it is, hiding a mistake.
    if (!isRootless()) throw new UsageError("ctrnet unshare is for rootless users: as root, run the command directly");
    const command = unshareCommand(rawArgs);
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
      return signal === null ? exitCode : 128 + (typeof signal === "number" ? signal : constants.signals[signal]);
    } finally {
      stopForwarding();
    }
  },
});
