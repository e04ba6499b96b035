// The command definitions as data, for help and shell completion: names, descriptions, positionals and
// options of every command, read from the same citty definitions the commands run with.
import type { ArgDef, CommandDef } from "citty";

type Lazy = () => Promise<CommandDef<any>>;
type Resolvable<T> = T | Promise<T> | (() => T) | (() => Promise<T>);

async function resolve<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

export interface OptionInfo {
  name: string;
  short?: string;
  takesValue: boolean;
  description: string;
  /** what its value names (container, network, netns): shell completion lists those */
  hint?: string;
}

export interface PositionalInfo {
  name: string;
  required: boolean;
  description: string;
  hint?: string;
}

export interface CommandInfo {
  /** the words after `ctrnet` that run it */
  path: string[];
  description: string;
  options: OptionInfo[];
  positionals: PositionalInfo[];
  /** enumerable subcommands only: internal commands and aliases stay out of help and completion */
  subcommands: CommandInfo[];
}

export async function subcommandsOf(cmd: CommandDef<any>): Promise<Record<string, Lazy | CommandDef<any>>> {
  return ((await resolve(cmd.subCommands as Resolvable<Record<string, Lazy | CommandDef<any>>>)) ?? {}) as Record<string, Lazy | CommandDef<any>>;
}

export async function loadSubcommand(sub: Lazy | CommandDef<any>): Promise<CommandDef<any>> {
  return typeof sub === "function" ? await sub() : sub;
}

/** One command and, when deep, everything under it. */
export async function describeCommand(cmd: CommandDef<any>, path: string[], deep: boolean): Promise<CommandInfo> {
  const meta = (await resolve(cmd.meta as Resolvable<{ description?: string }>)) ?? {};
  const args = ((await resolve(cmd.args as Resolvable<Record<string, ArgDef>>)) ?? {}) as Record<string, ArgDef>;
  const options: OptionInfo[] = [];
  const positionals: PositionalInfo[] = [];
  for (const [name, arg] of Object.entries(args)) {
    const description = arg.description ?? "";
    const hint = arg.valueHint ? { hint: arg.valueHint } : {};
    if (arg.type === "positional") {
      positionals.push({ name: name.toUpperCase(), required: arg.required !== false && arg.default === undefined, description, ...hint });
      continue;
    }
    const aliases = "alias" in arg && arg.alias !== undefined ? [arg.alias].flat() : [];
    const short = aliases.find((a) => a.length === 1);
    options.push({ name, ...(short ? { short } : {}), takesValue: arg.type === "string", description, ...hint });
  }
  const subcommands: CommandInfo[] = [];
  for (const [name, sub] of Object.entries(await subcommandsOf(cmd))) {
    const child = await loadSubcommand(sub);
    subcommands.push(deep ? await describeCommand(child, [...path, name], true) : await describeCommand({ meta: child.meta }, [...path, name], false));
  }
  return { path, description: meta.description ?? "", options, positionals, subcommands };
}
