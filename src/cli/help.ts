// `COMMAND --help` and `ctrnet help COMMAND`: plain text laid out as podman's (cobra's) help, from the
// command definitions. citty's own renderUsage marks names with backticks for a terminal colouring pass
// that ctrnet leaves out, so they would be printed as they are.
import type { CommandInfo } from "./tree.ts";

function columns(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => (right ? `  ${left.padEnd(width)}   ${right}` : `  ${left}`));
}

function usageLine(info: CommandInfo): string {
  const words = ["ctrnet", ...info.path];
  if (info.subcommands.length > 0 && info.positionals.length === 0) words.push("COMMAND");
  if (info.options.length > 0) words.push("[options]");
  for (const p of info.positionals) words.push(p.required ? p.name : `[${p.name}]`);
  return words.join(" ");
}

export function renderHelp(info: CommandInfo, version?: string): string {
  const out: string[] = [version ? `${info.description} (ctrnet version ${version})` : info.description, "", "Usage:", `  ${usageLine(info)}`];
  if (info.subcommands.length > 0) {
    out.push("", "Commands:", ...columns(info.subcommands.map((c) => [c.path.at(-1)!, c.description])));
  }
  if (info.positionals.length > 0) {
    out.push("", "Arguments:", ...columns(info.positionals.map((p) => [p.name, p.description])));
  }
  if (info.options.length > 0) {
    const rows = info.options.map((o): [string, string] => [
      `${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.takesValue ? " string" : ""}`,
      o.description,
    ]);
    out.push("", "Options:", ...columns(rows));
  }
  if (info.subcommands.length > 0) {
    out.push("", `Run "ctrnet ${[...info.path, "COMMAND"].join(" ")} --help" (or "ctrnet help ${[...info.path, "COMMAND"].join(" ")}") for more on a command.`);
  }
  return `${out.map((l) => l.trimEnd()).join("\n")}\n`;
}
