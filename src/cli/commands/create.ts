import { defineCommand } from "citty";
import { print } from "../output.ts";
import { createContainer, withContext } from "../../lifecycle/index.ts";
import { containerArgs, contextOptions, createRequestOf, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...containerArgs,
  id: { type: "positional", required: true, description: "container id" },
} as const;

export default defineCommand({
  meta: { name: "create", description: "Create a container's network (namespace, networks, ports) and print its netns path" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const rec = await withContext(contextOptions(values), (ctx) => createContainer(ctx, { ...createRequestOf(values, rawArgs), id: String(values.id) }));
    print(`${rec.netns?.path ?? ""}\n`);
  },
});
