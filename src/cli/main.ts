import { defineCommand, runCommand, renderUsage, type CommandDef } from "citty";
import { errorMessage, exitCodeOf, UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { globalArgs } from "./args.ts";
import { log, LOG_LEVEL_NAMES, setLogLevel } from "./log.ts";

type Lazy = () => Promise<CommandDef<any>>;
const lazy = (load: () => Promise<{ default: CommandDef<any> }>): Lazy => () => load().then((m) => m.default);

/** name -> command; each is loaded only when used, so `ctrnet version` pays for nothing else. */
export const commands: Record<string, Lazy> = {
  version: lazy(() => import("./commands/version.ts")),
  netns: lazy(() => import("./commands/netns.ts")),
};

export const main = defineCommand({
  meta: { name: "ctrnet", version: VERSION, description: "Container networking for root and rootless containers" },
  args: globalArgs,
  subCommands: commands,
});

/** Pulls --log-level out early so it applies before any command is loaded. */
function applyLogLevel(argv: string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    let value: string | undefined;
    if (a === "--log-level") value = argv[i + 1];
    else if (a.startsWith("--log-level=")) value = a.slice("--log-level=".length);
    else continue;
    if (value === undefined || !setLogLevel(value)) {
      throw new UsageError(`invalid --log-level "${value ?? ""}": use one of ${LOG_LEVEL_NAMES.join(", ")}`);
    }
  }
}

function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  const head = end === -1 ? argv : argv.slice(0, end);
  return head.includes("--help") || head.includes("-h");
}

async function findCommand(argv: string[]): Promise<CommandDef<any>> {
  let cmd: CommandDef<any> = main;
  for (const a of argv) {
    if (a.startsWith("-")) break;
    const subs = (typeof cmd.subCommands === "function" ? await cmd.subCommands() : cmd.subCommands) as
      | Record<string, Lazy | CommandDef<any>>
      | undefined;
    const sub = subs?.[a];
    if (!sub) break;
    cmd = typeof sub === "function" ? await (sub as Lazy)() : sub;
  }
  return cmd;
}

export async function cli(argv: string[]): Promise<number> {
  try {
    applyLogLevel(argv);
    if (argv.length === 0 || wantsHelp(argv)) {
      process.stdout.write(`${await renderUsage(await findCommand(argv))}\n`);
      return argv.length === 0 ? 2 : 0;
    }
    if (argv[0] === "--version") {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const result = await runCommand(main, { rawArgs: argv });
    return typeof result.result === "number" ? result.result : 0;
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
  process.exitCode = await cli(process.argv.slice(2));
}
