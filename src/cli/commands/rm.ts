import { defineCommand } from "citty";
import { print } from "../output.ts";
import { CtrnetError, errorMessage, UsageError } from "../../errors.ts";
import { removeContainer, withContext } from "../../lifecycle/index.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  force: { type: "boolean", alias: "f", description: "no error for unknown ids; remove the record even if part of the teardown fails" },
  id: { type: "positional", required: true, description: "container ids or names" },
} as const;

export default defineCommand({
  meta: { name: "rm", description: "Tear down containers' networks and remove them" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const errors: unknown[] = [];
    await withContext(contextOptions(values), async (ctx) => {
      // Every id is tried, whatever happened to the ones before it.
      for (const id of values._.map(String)) {
        try {
          await removeContainer(ctx, id, { force: values.force });
          print(`${id}\n`);
        } catch (err) {
          errors.push(err);
        }
      }
    });
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      const message = errors.map(errorMessage).join("; ");
      throw errors.every((e) => e instanceof UsageError) ? new UsageError(message) : new CtrnetError(message);
    }
  },
});
