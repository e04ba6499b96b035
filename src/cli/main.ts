import { defineCommand, runCommand, type CommandDef } from "citty";
import { print, suppressOutput } from "./output.ts";
import { errorMessage, exitCodeOf, UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { checkArgCount, flagTable, globalArgs, runtimeArgs } from "./args.ts";
import { log, LOG_LEVEL_NAMES, setLogLevel } from "../log.ts";
import { needsRootlessNamespace } from "../rootless/policy.ts";
import { compilerDirUsable } from "../../ffi/cc-dir.ts";
import { stageHeadersInRuntimeDir } from "./compiler-dir.ts";
import { renderHelp } from "./help.ts";
import { describeCommand } from "./tree.ts";
import { phase } from "../trace.ts";
import { LOOPING_POLICY, lowerJitPolicy } from "./jit.ts";

type Lazy = () => Promise<CommandDef<any>>;
const lazy = (load: () => Promise<{ default: CommandDef<any> }>): Lazy => () => load().then((m) => m.default);

/** name -> command; each is loaded only when used, so `ctrnet version` pays for nothing else. */
export const commands: Record<string, Lazy> = {
  version: lazy(() => import("./commands/version.ts")),
  netns: lazy(() => import("./commands/netns.ts")),
  network: lazy(() => import("./commands/network.ts")),
  run: lazy(() => import("./commands/run.ts")),
  create: lazy(() => import("./commands/create.ts")),
  rm: lazy(() => import("./commands/rm.ts")),
  ls: lazy(() => import("./commands/ls.ts")),
  inspect: lazy(() => import("./commands/inspect.ts")),
  port: lazy(() => import("./commands/port.ts")),
  stats: lazy(() => import("./commands/stats.ts")),
  connect: lazy(() => import("./commands/connect.ts")),
  disconnect: lazy(() => import("./commands/disconnect.ts")),
  reload: lazy(() => import("./commands/reload.ts")),
  gc: lazy(() => import("./commands/gc.ts")),
  hook: lazy(() => import("./commands/hook.ts")),
  unshare: lazy(() => import("./commands/unshare.ts")),
  "rootless-netns": lazy(() => import("./commands/rootless-netns.ts")),
  help: lazy(() => import("./commands/help.ts")),
  completion: lazy(() => import("./commands/completion.ts")),
  doctor: lazy(() => import("./commands/doctor.ts")),
  cni: lazy(() => import("./commands/cni.ts")),
  watch: lazy(() => import("./commands/watch.ts")),
};
// Internal commands for ctrnet's own children: not enumerable, so help (citty 0.1.6 has no meta.hidden) skips them.
Object.defineProperty(commands, "_rootlessport", { value: lazy(() => import("./commands/rootlessport.ts")) });
Object.defineProperty(commands, "_hook-wait", { value: lazy(() => import("./commands/hook-wait.ts")) });
Object.defineProperty(commands, "_dns", { value: lazy(() => import("./commands/dns.ts")) });
Object.defineProperty(commands, "_pause", { value: lazy(() => import("../rootless/pause-command.ts")) });
Object.defineProperty(commands, "_supervise", { value: lazy(() => import("./commands/supervise.ts")) });
// podman's `container` group and `ps`, hidden from help and completion as the internal commands are
Object.defineProperty(commands, "container", { value: lazy(() => import("./commands/container.ts")) });
Object.defineProperty(commands, "ps", { value: lazy(() => import("./commands/ls.ts")) });

export const main = defineCommand({
  meta: { name: "ctrnet", version: VERSION, description: "Container networking for root and rootless containers" },
  args: { ...globalArgs, ...runtimeArgs },
  subCommands: commands,
});

/**
 * The commands that stay running and serve (DNS, port forwarding, supervision, watching): the JIT's normal
 * policy, not the reluctant one the compiled binary starts with for short commands (build.ts jitPolicy).
 */
const LONG_LIVED = new Set(["_dns", "_rootlessport", "_supervise", "_pause", "_hook-wait", "watch"]);

/**
 * The commands of one container's attach and detach, which keep the interpreter-only policy the binary
 * starts with (build.ts jitPolicy), as the CNI plugin mode does; given several containers (`rm -a`), they
 * lower it as they loop (each.ts). Any other command may walk every record (gc, reload, ls at a thousand
 * containers: gc of 200 took a third longer in the interpreter alone), and gets the tier-up thresholds
 * times 8 (jit.ts).
 */
const ONE_CONTAINER = new Set(["create", "rm", "run", "hook", "connect", "disconnect", "container create", "container rm", "container run"]);

export function jitPolicyFor(path: readonly string[]): number | undefined {
  if (LONG_LIVED.has(path[0] ?? "")) return 1;
  if (ONE_CONTAINER.has(path[0] ?? "") || ONE_CONTAINER.has(path.slice(0, 2).join(" "))) return undefined;
  return LOOPING_POLICY;
}

/** The directory options, which every command that uses a directory takes after its name, and their variables. */
const DIRECTORY_OPTIONS: Record<string, string> = {
  "--root": "CTRNET_ROOT",
  "--netns-dir": "CTRNET_NETNS_DIR",
  "--cni-config-dir": "CTRNET_CNI_CONFIG_DIR",
  "--cni-plugin-dir": "CTRNET_CNI_PLUGIN_DIR",
  "--cni-cache-dir": "CTRNET_CNI_CACHE_DIR",
};

/** Removes --log-level (valid anywhere before `--`) from argv, applying it before any command loads. */
function takeLogLevel(argv: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    let value: string | undefined;
    if (a === "--log-level") value = argv[++i];
    else if (a.startsWith("--log-level=")) value = a.slice("--log-level=".length);
    else {
      rest.push(a);
      continue;
    }
    if (value === undefined || !setLogLevel(value)) {
      throw new UsageError(`invalid --log-level "${value ?? ""}": use one of ${LOG_LEVEL_NAMES.join(", ")}`);
    }
  }
  return rest;
}

/**
 * A directory option at argv[i] before the command's name (`ctrnet --root X ls`): sets its variable, so it
 * reaches every command, and the ctrnet a rootless user's command runs again inside its namespace; returns
 * how many tokens it took, 0 when argv[i] is not one.
 */
function takeDirectoryOption(argv: string[], i: number): number {
  const a = argv[i]!;
  const eq = a.indexOf("=");
  const flag = eq > 0 ? a.slice(0, eq) : a;
  if (!Object.hasOwn(DIRECTORY_OPTIONS, flag)) return 0;
  const value = eq > 0 ? a.slice(eq + 1) : argv[i + 1];
  if (!value) throw new UsageError(`option ${flag} needs a directory`);
  process.env[DIRECTORY_OPTIONS[flag]!] = value;
  return eq > 0 ? 1 : 2;
}

/** Commands that only read state: with a state directory that does not exist yet, they make nothing. */
const READ_ONLY = new Set([
  "ls",
  "ps",
  "inspect",
  "port",
  "stats",
  "container ls",
  "container list",
  "container ps",
  "container inspect",
  "container port",
  "container stats",
  "network ls",
  "network list",
  "network inspect",
  "network exists",
  "rootless-netns info",
]);

/**
 * Walks the subcommand names at the front of argv down to the command that will run. citty's own
 * dispatch drops the value a subcommand's run() returns, so ctrnet runs the leaf itself and uses that
 * value as the exit code (`run` and `netns exec` return their command's status).
 */
async function resolveCommand(argv: string[]): Promise<{ cmd: CommandDef<any>; path: string[]; args: string[] }> {
  let cmd: CommandDef<any> = main;
  const path: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const subs = (typeof cmd.subCommands === "function" ? await cmd.subCommands() : cmd.subCommands) as
      | Record<string, Lazy | CommandDef<any>>
      | undefined;
    const name = argv[i]!;
    if (!subs) break;
    const taken = takeDirectoryOption(argv, i);
    if (taken) {
      i += taken;
      continue;
    }
    if (name === "--help" || name === "-h" || name === "--version" || name === "-v") break;
    if (name === "--noout" && path.length === 0) {
      suppressOutput();
      i++;
      continue;
    }
    if (name.startsWith("-")) throw new UsageError(`unknown option ${name.split("=")[0]} before the command: see ctrnet --help`);
    const sub = Object.hasOwn(subs, name) ? subs[name] : undefined;
    if (!sub) throw new UsageError(`unknown command "${[...path, name].join(" ")}": see ctrnet --help`);
    cmd = typeof sub === "function" ? await (sub as Lazy)() : sub;
    path.push(name);
    i++;
  }
  return { cmd, path, args: argv.slice(i) };
}

/** --help/-h is ctrnet's only before the command's first positional argument (`exec NS ip --help` is ip's). */
function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === "--help" || a === "-h") return true;
    if (a === "--" || !a.startsWith("-")) return false;
  }
  return false;
}

/** A command's option definitions (none when they are resolved later, as citty allows), as flagTable reads them. */
function optionDefs(cmd: CommandDef): Readonly<Record<string, { type?: string; alias?: string | readonly string[] }>> {
  return typeof cmd.args === "object" && cmd.args !== null ? (cmd.args as Record<string, { type?: string; alias?: string | readonly string[] }>) : {};
}

/**
 * A string option's negative number (podman's `rm -t -1`) as one `--name=-N` word: citty would read `-1`
 * as an option of its own, taking the next word (a name) as its value.
 */
function joinNegativeValues(cmd: CommandDef, args: readonly string[]): string[] {
  const { stringOptions } = flagTable(optionDefs(cmd));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === "--") return [...out, ...args.slice(i)];
    const name = word.startsWith("-") ? stringOptions.get(word) : undefined;
    const next = args[i + 1];
    if (name !== undefined && next !== undefined && /^-[0-9]+$/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(word);
  }
  return out;
}

const PFLAG_TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const PFLAG_FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

/**
 * A boolean option given a value as pflag takes it (podman's `--no-hosts=false`, `--rm=true`): true is the
 * flag alone, false no flag. citty reads `--no-NAME=…` as an option "NAME=…" of its own and drops it.
 */
export function explicitBooleans(cmd: CommandDef, args: readonly string[]): string[] {
  const { booleans } = flagTable(optionDefs(cmd));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === "--") return [...out, ...args.slice(i)];
    const eq = word.indexOf("=");
    const flag = eq < 0 ? word : word.slice(0, eq);
    if (eq < 0 || !word.startsWith("--") || !booleans.has(flag)) {
      out.push(word);
      continue;
    }
    const value = word.slice(eq + 1);
    if (PFLAG_TRUE.has(value)) out.push(flag);
    else if (!PFLAG_FALSE.has(value)) throw new UsageError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
  }
  return out;
}

export async function cli(argv: string[]): Promise<number> {
  try {
    const { cmd, path, args } = await resolveCommand(takeLogLevel(argv));
    const policy = jitPolicyFor(path);
    if (policy !== undefined) lowerJitPolicy(policy);
    if (path.length === 0 && (args[0] === "--version" || args[0] === "-v")) {
      print(`ctrnet version ${VERSION}\n`);
      return 0;
    }
    if (READ_ONLY.has(path.join(" "))) (await import("../state/db.ts")).onlyReadState();
    if (cmd === main || wantsHelp(args) || (cmd.subCommands && !cmd.run && args.length === 0)) {
      print(renderHelp(await describeCommand(cmd, path, false), cmd === main ? VERSION : undefined));
      if (wantsHelp(args)) return 0;
      // podman's validate.SubCommandExists: the help, then what is missing
      throw new UsageError(`missing command '${["ctrnet", ...path].join(" ")} COMMAND'`);
    }
    const rawArgs = explicitBooleans(cmd, joinNegativeValues(cmd, args));
    checkArgCount(cmd, optionDefs(cmd), ["ctrnet", ...path].join(" "), rawArgs);
    if (needsRootlessNamespace(path[0]!)) return await (await import("../rootless/reexec.ts")).runInRootlessNamespace(argv);
    // help and completion read the whole command tree from here
    phase("command loaded");
    const { result } = await runCommand(cmd, { rawArgs, data: { root: main } });
    phase("command done");
    return typeof result === "number" ? result : 0;
  } catch (err) {
    const code = isCittyUsageError(err) ? 2 : exitCodeOf(err);
    log.error(errorMessage(err));
    if (code === 1 && err instanceof Error && err.stack) log.debug(err.stack);
    return code;
  }
}

function isCittyUsageError(err: unknown): boolean {
  return err instanceof Error && err.name === "CLIError";
}

if (import.meta.main) {
  phase("main");
  // A helper its starter wants niced while it starts (the DNS server) lowers its own priority before the
  // rest of its start-up (src/process/priority.ts); only such a process loads that module here.
  const niced = process.env.CTRNET_START_NICE !== undefined ? import("../process/priority.ts").then((m) => m.startNiced()) : undefined;
  // No top-level await: whatever the module graph, the entry is evaluated in one synchronous step.
  const ready = !process.env.BUN_TMPDIR
    ? Promise.resolve(stageHeadersInRuntimeDir())
    : compilerDirUsable()
      ? Promise.resolve()
      : import("./compiler-dir.ts").then((m) => m.ensureCompilerDir());
  // A runtime executing ctrnet as its CNI plugin says so with CNI_COMMAND (the spec's protocol, no arguments).
  const run = process.env.CNI_COMMAND
    ? () => import("../hook/cni-plugin/entry.ts").then((m) => m.cniPluginMain())
    : () => cli(process.argv.slice(2));
  void Promise.all([niced, ready])
    .then(run)
    .then((code) => {
      process.exitCode = code;
    });
}
