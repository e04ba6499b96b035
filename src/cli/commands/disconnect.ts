import { defineCommand } from "citty";
import { notFoundIsRuntime } from "../../errors.ts";
import { NetworkNotFoundError } from "../../drivers/cni/index.ts";
import { type Context, disconnectContainer, withContext } from "../../lifecycle/index.ts";
import { contextOptions, exactArgs, globalArgs, rejectUnknownOptions, runtimeArgs, takesArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  force: { type: "boolean", alias: "f", description: "accepted for podman compatibility: the container's network is taken down at once either way" },
  network: { type: "positional", required: true, description: "network name or id (a unique id prefix will do)", valueHint: "network" },
  id: { type: "positional", required: true, description: "container id or name", valueHint: "container" },
} as const;

/**
 * An id resolves to its network's name, as podman does; a network whose file is gone is still known by
 * name to the containers on it. One neither configured nor on the container is podman's "network not found".
 */
async function networkName(ctx: Context, nameOrId: string, container: string): Promise<string> {
  try {
    return (await ctx.cni.resolveNetwork(nameOrId)).name;
  } catch (err) {
    if (err instanceof NetworkNotFoundError && ctx.state().find(container)?.networks.some((n) => n.network === nameOrId) !== false) return nameOrId;
    throw err;
  }
}

export default takesArgs(exactArgs(2), defineCommand({
  meta: { name: "disconnect", description: "Disconnect a running container from a network" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    await notFoundIsRuntime(
      withContext(contextOptions(values), async (ctx) =>
        disconnectContainer(ctx, String(values.id), await networkName(ctx, String(values.network), String(values.id))),
      ),
    );
  },
}));
