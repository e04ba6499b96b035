import { defineCommand } from "citty";
import { UsageError } from "../../errors.ts";
import { withContext } from "../../lifecycle/index.ts";
import { removeReplaced } from "../../lifecycle/remove.ts";
import { randomContainerId, runContainer } from "../../lifecycle/run.ts";
import { containerArgs, contextOptions, createRequestOf, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const USAGE = "ctrnet run [OPTIONS] -- CMD…";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...containerArgs,
  rm: { type: "boolean", description: "podman's --rm: accepted; run always removes everything when the command exits" },
  uts: { type: "string", description: "the command's uts namespace: private (default: its own, named by --hostname or the id), host, or container:ID (that container's hostname)" },
  // not required here, so that splitRunCommand says what is missing
  command: { type: "positional", required: false, description: "the command and its arguments, after --" },
} as const;

/** CMD is everything after the first `--`, so that its own options are never taken for ours. */
export function splitRunCommand(rawArgs: readonly string[], positionals: readonly unknown[]): string[] {
  const dash = rawArgs.indexOf("--");
  const command = dash === -1 ? [] : rawArgs.slice(dash + 1);
  // citty lists what follows `--` after the positionals it found before it
  const before = positionals.slice(0, positionals.length - command.length);
  if (before.length) throw new UsageError(`unexpected argument "${String(before[0])}": the command goes after --: ${USAGE}`);
  if (command.length === 0) throw new UsageError(`missing command: ${USAGE}`);
  return command;
}

/** podman's --uts values that mean something without a container process: private, host, container:ID. */
export function parseUts(value: string | undefined, hostname: string | undefined): string {
  const uts = value ?? "private";
  if (uts !== "private" && uts !== "host" && !/^container:.+/.test(uts)) throw new UsageError(`invalid --uts "${uts}": use private, host or container:ID`);
  // podman's specgen words
  if (uts !== "private" && hostname !== undefined) throw new UsageError(`cannot set hostname when running in the ${uts === "host" ? "host" : "other container's"} UTS namespace: invalid configuration`);
  return uts;
}

export default defineCommand({
  meta: {
    name: "run",
    description: "Run a command in a new network namespace with its own resolv.conf and hosts; remove it all when the command exits",
  },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const command = splitRunCommand(rawArgs, values._);
    const req = { ...createRequestOf(values, rawArgs), id: randomContainerId() };
    const uts = parseUts(values.uts, req.etc?.hostname);
    return withContext(contextOptions(values), async (ctx) => {
      if (values.replace) await removeReplaced(ctx, [req.name]);
      return runContainer(ctx, req, command, { uts });
    });
  },
});
