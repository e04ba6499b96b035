import { type CommandDef, defineCommand } from "citty";
import { print } from "../output.ts";
import { UsageError } from "../../errors.ts";
import { bashCompletion, fishCompletion, zshCompletion } from "../completion.ts";
import { describeCommand } from "../tree.ts";

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion };

export default defineCommand({
  meta: { name: "completion", description: "Print a shell completion script: source <(ctrnet completion bash)" },
  args: { shell: { type: "positional", required: true, description: "bash, zsh or fish" } },
  async run({ args, data }) {
    const shell = String(args.shell);
    if (!Object.hasOwn(SHELLS, shell)) throw new UsageError(`invalid shell "${shell}": use bash, zsh or fish`);
    const root = (data as { root: CommandDef<any> }).root;
    print(SHELLS[shell as keyof typeof SHELLS](await describeCommand(root, [], true)));
  },
});
