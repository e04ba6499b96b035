import { defineCommand } from "citty";
import { forEachName } from "../each.ts";
import { print } from "../output.ts";
import { CtrnetError, UsageError } from "../../errors.ts";
import { removeContainer } from "../../lifecycle/remove.ts";
import { withContext } from "../../lifecycle/with-context.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  force: { type: "boolean", alias: "f", description: "no error for unknown ids; remove the record even if part of the teardown fails" },
  time: { type: "string", alias: "t", description: "podman's stop timeout (seconds, or -1): accepted, ctrnet stops no process" },
  id: { type: "positional", required: true, description: "container ids or names", valueHint: "container" },
} as const;

export default defineCommand({
  meta: { name: "rm", description: "Tear down containers' networks and remove them" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    if (values.time !== undefined) {
      // -t -1 (podman's wait forever) comes as --time=-1 (cli's joinNegativeValues)
      const time = String(values.time);
      if (!/^(-1|[0-9]+)$/.test(time)) throw new UsageError(`invalid --time "${time}": expected seconds, or -1`);
    }
    await withContext(contextOptions(values), (ctx) =>
      forEachName(values._.map(String), async (id) => {
        try {
          await removeContainer(ctx, id, { force: values.force });
        } catch (err) {
          // An unknown container is a runtime failure (exit 1), as podman's "no such container"; bad input stays 2.
          if (err instanceof UsageError && !ctx.state().find(id)) throw new CtrnetError(err.message);
          throw err;
        }
        print(`${id}\n`);
      }),
    );
  },
});
