import { type CommandDef, defineCommand } from "citty";
import { print } from "../output.ts";
import { UsageError } from "../../errors.ts";
import { VERSION } from "../../version.ts";
import { renderHelp } from "../help.ts";
import { describeCommand, loadSubcommand, subcommandsOf } from "../tree.ts";

export default defineCommand({
  meta: { name: "help", description: "Show the help of a command, the same text as COMMAND --help" },
  args: { command: { type: "positional", required: false, description: "a command and its subcommands, as typed: network ls" } },
  async run({ args, data }) {
    const root = (data as { root: CommandDef<any> }).root;
    const words = args._.map(String);
    let cmd = root;
    for (const [i, word] of words.entries()) {
      const subs = await subcommandsOf(cmd);
      if (!Object.hasOwn(subs, word)) throw new UsageError(`unknown command "${words.slice(0, i + 1).join(" ")}": see ctrnet --help`);
      cmd = await loadSubcommand(subs[word]!);
    }
    print(renderHelp(await describeCommand(cmd, words, false), cmd === root ? VERSION : undefined));
  },
});
