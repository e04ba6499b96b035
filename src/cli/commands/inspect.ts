import { defineCommand } from "citty";
import { print } from "../output.ts";
import { CtrnetError, ErrorList, UsageError } from "../../errors.ts";
import { inspectContainer, type InspectResult, latestContainer, withContext } from "../../lifecycle/index.ts";
import { noSuchContainer } from "../../state/index.ts";
import { contextOptions, globalArgs, latestArg, rejectUnknownOptions, runtimeArgs } from "../args.ts";
import { isJsonFormat, renderInspect } from "../template/index.ts";
import { inspectFormatArg, inspectView, normalizeInspectFormat } from "../views.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...inspectFormatArg,
  ...latestArg,
  // not required by the parser: --latest names none (podman's words when nothing is named)
  id: { type: "positional", required: false, description: "container ids or names", valueHint: "container" },
} as const;

export default defineCommand({
  meta: { name: "inspect", description: "Show containers' network settings as podman's inspect JSON" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = values.format === undefined || isJsonFormat(String(values.format)) ? undefined : normalizeInspectFormat(String(values.format));
    const named = values._.map(String);
    // podman's inspect checks, in its words
    if (values.latest && named.length) throw new UsageError("--latest and arguments cannot be used together");
    if (!values.latest && named.length === 0) throw new UsageError("no names or ids specified");
    // As podman: every container found is printed, then the ones not found fail the command.
    const { found, failures } = await withContext(contextOptions(values), async (ctx) => {
      const found: InspectResult[] = [];
      const failures: unknown[] = [];
      for (const id of values.latest ? [latestContainer(ctx.state()).id] : named) {
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
