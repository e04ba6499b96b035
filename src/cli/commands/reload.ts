import { defineCommand } from "citty";
import { forEachName } from "../each.ts";
import { print } from "../output.ts";
import { notFoundIsRuntime } from "../../errors.ts";
import { latestContainer, reloadableContainers, reloadContainer, withContext } from "../../lifecycle/index.ts";
import { checkAllLatest, contextOptions, globalArgs, latestArg, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  all: { type: "boolean", alias: "a", description: "every bridge-mode container" },
  ...latestArg,
  id: { type: "positional", required: false, description: "container ids or names", valueHint: "container" },
} as const;

export default defineCommand({
  meta: { name: "reload", description: "Re-create containers' firewall and port rules, keeping their IP and MAC addresses" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const ids = values._.map(String);
    checkAllLatest(ids, values);
    await notFoundIsRuntime(
      withContext(contextOptions(values), async (ctx) => {
        // as podman's getContainers: every name is looked up before any container is reloaded, and the
        // container's id is what is printed, however it was named
        const state = ctx.state();
        const targets = values.all ? reloadableContainers(ctx) : values.latest ? [latestContainer(state).id] : ids.map((name) => state.get(name).id);
        await forEachName(targets, async (id) => {
          await reloadContainer(ctx, id);
          print(`${id}\n`);
        });
      }),
    );
  },
});
