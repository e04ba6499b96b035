import { defineCommand } from "citty";
import { forEachName } from "../each.ts";
import { print } from "../output.ts";
import { signalExitStatus } from "../../../ffi/signals.ts";
import { isSysError } from "../../../ffi/errno.ts";
import { CtrnetError, UsageError } from "../../errors.ts";
import { validateName } from "../../names.ts";
import { createNetns, defaultNetnsDir, listNetns, type NetnsProcess, removeNetns, spawnInNetns } from "../../netns/index.ts";
import { netnsDirArg } from "../args.ts";

const dirOf = (args: { "netns-dir"?: string }): string => args["netns-dir"] || defaultNetnsDir();
const nameArg = (name: string): string => validateName("network namespace name", name);

const add = defineCommand({
  meta: { name: "add", description: "Create a persistent network namespace and print its name (random if none is given)" },
  args: { ...netnsDirArg, name: { type: "positional", required: false, description: "namespace name" } },
  run({ args }) {
    const name = args.name === undefined ? undefined : nameArg(String(args.name));
    print(`${createNetns({ name, dir: dirOf(args) }).name}\n`);
  },
});

const ls = defineCommand({
  meta: { name: "ls", description: "List persistent network namespaces" },
  args: { ...netnsDirArg, format: { type: "string", description: "text or json" } },
  run({ args }) {
    const names = listNetns(dirOf(args));
    if (args.format === "json") print(`${JSON.stringify(names)}\n`);
    else if (args.format === undefined || args.format === "text") print(names.map((n) => `${n}\n`).join(""));
    else throw new UsageError(`invalid --format "${args.format}": use text or json`);
  },
});

const rm = defineCommand({
  meta: { name: "rm", description: "Remove persistent network namespaces" },
  args: { ...netnsDirArg, name: { type: "positional", description: "namespace names", valueHint: "netns" } },
  run({ args }) {
    const dir = dirOf(args);
    return forEachName(args._.map(String), (name) => removeNetns(nameArg(name), { dir }));
  },
});

/**
 * `exec [--netns-dir DIR] NAME [--] CMD…`. Parsed by hand: CMD keeps its own options (`ip -br link`),
 * which a generic option parser would take for ours.
 */
export function splitExecArgs(rawArgs: string[]): { dir?: string; name: string; command: string[] } {
  let dir: string | undefined;
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--netns-dir" || a === "--log-level") {
      if (i + 1 >= rawArgs.length) throw new UsageError(`${a} needs a value`);
      if (a === "--netns-dir") dir = rawArgs[i + 1];
      i++;
    } else if (a.startsWith("--netns-dir=")) {
      dir = a.slice("--netns-dir=".length);
    } else if (a.startsWith("--log-level=")) {
      continue;
    } else if (a.startsWith("-")) {
      throw new UsageError(`unknown option ${a} before the namespace name`);
    } else {
      const rest = rawArgs.slice(i + 1);
      const command = rest[0] === "--" ? rest.slice(1) : rest;
      if (command.length === 0) throw new UsageError("missing command: ctrnet netns exec NAME [--] CMD…");
      return { dir, name: nameArg(a), command };
    }
  }
  throw new UsageError("missing network namespace name: ctrnet netns exec NAME [--] CMD…");
}

/** Exit status 126/127 as a shell gives for a command it cannot run. */
class CommandNotRunError extends CtrnetError {
  constructor(
    message: string,
    override readonly exitCode: number,
  ) {
    super(message);
  }
}

const FORWARDED = ["SIGINT", "SIGTERM"] as const;

const exec = defineCommand({
  meta: { name: "exec", description: "Run a command inside a network namespace, like ip netns exec" },
  args: {
    ...netnsDirArg,
    name: { type: "positional", description: "namespace name", valueHint: "netns" },
    // not required here, so that splitExecArgs says what is missing
    command: { type: "positional", required: false, description: "command and its arguments, optionally after --" },
  },
  async run({ rawArgs }) {
    const { dir, name, command } = splitExecArgs(rawArgs);
    // Handlers before the command starts: a signal sent as soon as it runs must reach it, not end ctrnet.
    // They run from the event loop, so not before `await child.exited` below, when child is set.
    let child: NetnsProcess | undefined;
    for (const s of FORWARDED) process.on(s, (signal: NodeJS.Signals) => void child?.kill(signal));
    try {
      child = spawnInNetns(name, command, { dir: dir || defaultNetnsDir() });
    } catch (err) {
      if (!isSysError(err, "ENOENT", "EACCES") || err.syscall !== "execve") throw err;
      const reason = err.code === "ENOENT" ? "command not found" : "permission denied";
      throw new CommandNotRunError(`cannot run "${command[0]}": ${reason}`, err.code === "ENOENT" ? 127 : 126);
    }
    const { code, signal } = await child.exited;
    return signal === null ? code! : signalExitStatus(signal);
  },
});

export default defineCommand({
  meta: { name: "netns", description: "Manage persistent network namespaces" },
  subCommands: { add, ls, rm, exec },
});
