import { defineCommand } from "citty";
import { forEachName } from "../each.ts";
import { print } from "../output.ts";
import { CtrnetError, UsageError } from "../../errors.ts";
import { removeContainer } from "../../lifecycle/remove.ts";
import { latestContainer } from "../../lifecycle/lookup.ts";
import { withContext } from "../../lifecycle/with-context.ts";
import { noSuchContainer } from "../../state/index.ts";
import { checkAllLatest, contextOptions, globalArgs, latestArg, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  force: { type: "boolean", alias: "f", description: "no error for unknown ids; remove the record even if part of the teardown fails" },
  time: { type: "string", alias: "t", description: "podman's stop timeout (seconds, or -1): accepted, ctrnet stops no process" },
  all: { type: "boolean", alias: "a", description: "every container, the last made first" },
  ...latestArg,
  // not required by the parser: --all and --latest name none (podman's words when nothing is named)
  id: { type: "positional", required: false, description: "container ids or names", valueHint: "container" },
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
    const named = values._.map(String);
    checkAllLatest(named, values);
    await withContext(contextOptions(values), (ctx) => {
      // the last made first: a container sharing another's netns goes before that one
      const ids = values.all ? ctx.state().list().map((r) => r.id).reverse() : values.latest ? [latestContainer(ctx.state()).id] : named;
      // as podman's getContainers: without -f, names are looked up before any is removed, and one that is
      // missing fails the command with nothing removed (one name is looked up by its removal)
      if (!values.force && named.length > 1) {
        const missing = named.find((id) => ctx.state().find(id) === undefined);
        if (missing !== undefined) throw new CtrnetError(noSuchContainer(missing));
      }
      return forEachName(ids, async (id) => {
        try {
          await removeContainer(ctx, id, { force: values.force });
        } catch (err) {
          // An unknown container is a runtime failure (exit 1), as podman's "no such container"; bad input stays 2.
          if (err instanceof UsageError && !ctx.state().find(id)) throw new CtrnetError(err.message);
          throw err;
        }
        print(`${id}\n`);
      });
    });
  },
});
