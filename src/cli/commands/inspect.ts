import { defineCommand } from "citty";
import { print } from "../output.ts";
import { CtrnetError, ErrorList } from "../../errors.ts";
import { inspectContainer, type InspectResult, withContext } from "../../lifecycle/index.ts";
import { noSuchContainer } from "../../state/index.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";
import { isJsonFormat, renderInspect } from "../template/index.ts";
import { inspectFormatArg, inspectView, normalizeInspectFormat } from "../views.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...inspectFormatArg,
  id: { type: "positional", required: true, description: "container ids or names", valueHint: "container" },
} as const;

export default defineCommand({
  meta: { name: "inspect", description: "Show containers' network settings as podman's inspect JSON" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = values.format === undefined || isJsonFormat(String(values.format)) ? undefined : normalizeInspectFormat(String(values.format));
    // As podman: every container found is printed, then the ones not found fail the command.
    const { found, failures } = await withContext(contextOptions(values), async (ctx) => {
      const found: InspectResult[] = [];
      const failures: unknown[] = [];
      for (const id of values._.map(String)) {
        try {
          // A container that is not there is a runtime failure here (exit 1), as podman's "no such container".
          if (!ctx.state().find(id)) throw new CtrnetError(noSuchContainer(id));
          found.push(await inspectContainer(ctx, id));
        } catch (err) {
          failures.push(err);
        }
      }
      return { found, failures };
    });
    if (format === undefined) print(`${JSON.stringify(found, null, 2)}\n`);
    else print(renderInspect(format, found.map(inspectView)));
    if (failures.length) throw new ErrorList("inspecting object", failures);
  },
});
