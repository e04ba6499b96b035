import { defineCommand } from "citty";
import { print } from "../output.ts";
import { inspectContainer, withContext } from "../../lifecycle/index.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = { ...globalArgs, ...runtimeArgs, id: { type: "positional", required: true, description: "container id or name" } } as const;

export default defineCommand({
  meta: { name: "inspect", description: "Show a container's network settings as podman's inspect JSON" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const result = await withContext(contextOptions(values), (ctx) => inspectContainer(ctx, String(values.id)));
    print(`${JSON.stringify(result, null, 2)}\n`);
  },
});
