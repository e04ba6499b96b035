import { defineCommand } from "citty";
import { disconnectContainer, withContext } from "../../lifecycle/index.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  network: { type: "positional", required: true, description: "network name", valueHint: "network" },
  id: { type: "positional", required: true, description: "container id or name", valueHint: "container" },
} as const;

export default defineCommand({
  meta: { name: "disconnect", description: "Disconnect a running container from a network" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    await withContext(contextOptions(values), (ctx) => disconnectContainer(ctx, String(values.id), String(values.network)));
  },
});
