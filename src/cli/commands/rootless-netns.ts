import { defineCommand } from "citty";
import { signalExitStatus } from "../../../ffi/signals.ts";
import { isSysError } from "../../../ffi/errno.ts";
import type { LaunchedProcess } from "../../../ffi/launcher.ts";
import { CtrnetError, UsageError } from "../../errors.ts";
import { withContext } from "../../lifecycle/index.ts";
import { enterRootlessNetnsOf, type RootlessNetnsInfo, rootlessNetnsInfo } from "../../lifecycle/rootless-netns-info.ts";
import { contextOptions, formatArg, globalArgs, parseFormat, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const infoArgs = { ...globalArgs, ...runtimeArgs, ...formatArg } as const;

function infoText(info: RootlessNetnsInfo): string {
  if (!info.exists) return `no rootless netns (${info.path}); attached: ${info.attached.length}\n`;
  const slirp = info.slirp4netns ? `${info.slirp4netns.pid}${info.slirp4netns.running ? "" : " (not running)"}` : "-";
  const lines = [
    `path:        ${info.path}`,
    `${`${info.program ?? "slirp4netns"}:`.padEnd(13)}pid ${slirp}`,
    `address:     ${info.address ?? "-"} gateway ${info.gateway ?? "-"} dns ${info.dns ?? "-"}`,
    `resolv.conf: ${info.resolvConf ?? "-"}`,
    `attached:    ${info.attached.length}`,
    ...info.attached.map((a) => `  ${a.container.slice(0, 12)}  ${a.network}  ${a.interface}  ${a.addresses.join(", ") || "-"}`),
  ];
  return `${lines.join("\n")}\n`;
}

const info = defineCommand({
  meta: { name: "info", description: "Show the rootless netns: slirp4netns or pasta, addresses, attached containers" },
  args: infoArgs,
  async run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, infoArgs);
    const format = parseFormat(args.format);
    const result = await withContext(contextOptions(args), rootlessNetnsInfo);
    process.stdout.write(format === "json" ? `${JSON.stringify(result, null, 2)}\n` : infoText(result));
  },
});

const VALUE_OPTIONS = new Set(Object.keys({ ...globalArgs, ...runtimeArgs }).map((k) => `--${k}`));

/** `enter [OPTIONS] [--] CMD…`, parsed by hand: CMD keeps its own options (`iptables -t nat -L`). */
export function splitEnterArgs(rawArgs: string[]): { options: Record<string, string>; command: string[] } {
  const options: Record<string, string> = {};
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") return { options, command: rawArgs.slice(i + 1) };
    if (!a.startsWith("-")) return { options, command: rawArgs.slice(i) };
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    if (!VALUE_OPTIONS.has(name)) throw new UsageError(`unknown option ${a} before the command`);
    if (eq >= 0) options[name.slice(2)] = a.slice(eq + 1);
    else if (i + 1 < rawArgs.length) options[name.slice(2)] = rawArgs[++i]!;
    else throw new UsageError(`${a} needs a value`);
  }
  return { options, command: [] };
}

const FORWARDED = ["SIGINT", "SIGTERM"] as const;

const enter = defineCommand({
  meta: { name: "enter", description: "Run a command inside the rootless netns, as the CNI plugins see it (for debugging)" },
  args: { command: { type: "positional", required: false, description: "command and its arguments, optionally after --" } },
  async run({ rawArgs }) {
    const { options, command } = splitEnterArgs(rawArgs);
    if (command.length === 0) throw new UsageError("missing command: ctrnet rootless-netns enter [--] CMD…");
    let child: LaunchedProcess | undefined;
    for (const s of FORWARDED) process.on(s, (signal: NodeJS.Signals) => void child?.kill(signal));
    return withContext(contextOptions(options), async (ctx) => {
      try {
        child = enterRootlessNetnsOf(ctx, command);
      } catch (err) {
        if (!isSysError(err, "ENOENT", "EACCES") || err.syscall !== "execve") throw err;
        throw new CtrnetError(`cannot run "${command[0]}": ${err.code === "ENOENT" ? "command not found" : "permission denied"}`);
      }
      const { code, signal } = await child.exited;
      return signal === null ? code! : signalExitStatus(signal);
    });
  },
});

export default defineCommand({
  meta: { name: "rootless-netns", description: "The network namespace where a rootless user's bridge networks live" },
  subCommands: { info, enter },
});
