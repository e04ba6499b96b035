import { defineCommand } from "citty";
import { NetworkNotFoundError } from "../../drivers/cni/index.ts";
import { type Context, disconnectContainer, withContext } from "../../lifecycle/index.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  network: { type: "positional", required: true, description: "network name or id (a unique id prefix will do)", valueHint: "network" },
  id: { type: "positional", required: true, description: "container id or name", valueHint: "container" },
} as const;

/** An id resolves to its network's name, as podman does; a network whose file is gone is still known by name. */
async function networkName(ctx: Context, nameOrId: string): Promise<string> {
  try {
    return (await ctx.cni.resolveNetwork(nameOrId)).name;
  } catch (err) {
    if (err instanceof NetworkNotFoundError) return nameOrId;
    throw err;
  }
}

export default defineCommand({
  meta: { name: "disconnect", description: "Disconnect a running container from a network" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    await withContext(contextOptions(values), async (ctx) =>
      disconnectContainer(ctx, String(values.id), await networkName(ctx, String(values.network))),
    );
  },
});
