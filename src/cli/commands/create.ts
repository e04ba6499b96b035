import { defineCommand } from "citty";
import { print } from "../output.ts";
import { signalExitStatus } from "../../../ffi/signals.ts";
import { createContainerUninterrupted } from "../../lifecycle/create.ts";
import { removeReplaced } from "../../lifecycle/remove.ts";
import { withContext } from "../../lifecycle/with-context.ts";
import { containerArgs, contextOptions, createRequestOf, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...containerArgs,
  detach: { type: "boolean", alias: "d", description: "podman's -d: accepted, create never waits for anything" },
  id: { type: "positional", required: true, description: "container id" },
} as const;

export default defineCommand({
  meta: { name: "create", description: "Create a container's network (namespace, networks, ports) and its resolv.conf and hosts; print its netns path" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const request = { ...createRequestOf(values, rawArgs), id: String(values.id) };
    const made = await withContext(contextOptions(values), async (ctx) => {
      if (values.replace) await removeReplaced(ctx, [request.name, request.id]);
      return createContainerUninterrupted(ctx, request, { writeEtc: true });
    });
    // a signal during the set-up: it was finished, then undone; the status a shell gives a killed command
    if (typeof made === "string") return signalExitStatus(made);
    print(`${made.netns?.path ?? ""}\n`);
  },
});
