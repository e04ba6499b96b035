import { defineCommand } from "citty";
import { print } from "../output.ts";
import { CtrnetError, ErrorList, UsageError } from "../../errors.ts";
import { NetworkNotFoundError } from "../../drivers/cni/index.ts";
import { inspectContainer, type InspectResult, latestContainer, withContext } from "../../lifecycle/index.ts";
import { inspectNetworks, type NetworkInfo } from "../../networks/index.ts";
import { noSuchContainer } from "../../state/index.ts";
import { contextOptions, globalArgs, latestArg, rejectUnknownOptions, runtimeArgs } from "../args.ts";
import { isJsonFormat, renderInspect } from "../template/index.ts";
import { inspectFormatArg, inspectView, networkView, normalizeInspectFormat } from "../views.ts";

const TYPES = ["all", "container", "network"] as const;
type InspectType = (typeof TYPES)[number];

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...inspectFormatArg,
  ...latestArg,
  type: { type: "string", alias: "t", description: "container, network, or all (the default: a container, else a network of that name or id, as podman's)" },
  // not required by the parser: --latest names none (podman's words when nothing is named)
  id: { type: "positional", required: false, description: "container (or network) ids or names", valueHint: "container" },
} as const;

type Found = { container: InspectResult } | { network: NetworkInfo };

export default defineCommand({
  meta: { name: "inspect", description: "Show containers' network settings as podman's inspect JSON (networks' too, as podman's inspect)" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = values.format === undefined || isJsonFormat(String(values.format)) ? undefined : normalizeInspectFormat(String(values.format));
    const type = (values.type ?? "all") as InspectType;
    if (!TYPES.includes(type)) throw new UsageError(`invalid type "${type}": must be "container", "network" or "all"`);
    const named = values._.map(String);
    // podman's inspect checks, in its words
    if (values.latest && named.length) throw new UsageError("--latest and arguments cannot be used together");
    if (!values.latest && named.length === 0) throw new UsageError("no names or ids specified");
    // As podman: every object found is printed, then the ones not found fail the command.
    const { found, failures } = await withContext(contextOptions(values), async (ctx) => {
      const found: Found[] = [];
      const failures: unknown[] = [];
      for (const id of values.latest ? [latestContainer(ctx.state()).id] : named) {
        try {
          if (type !== "network" && ctx.state().find(id)) {
            found.push({ container: await inspectContainer(ctx, id) });
            continue;
          }
          // podman's inspectAll: a network of that name when no container has it
          if (type !== "container") {
            try {
              found.push(...(await inspectNetworks(ctx, [id])).map((network) => ({ network })));
              continue;
            } catch (err) {
              if (!(err instanceof NetworkNotFoundError)) throw err;
              if (type === "network") throw new CtrnetError(`network ${id}: ${err.message}`);
            }
          }
          // A container that is not there is a runtime failure here (exit 1), in podman's words for each type
          throw new CtrnetError(type === "all" ? `no such object: ${JSON.stringify(id)}: ${noSuchContainer(id)}` : noSuchContainer(id));
        } catch (err) {
          failures.push(err);
        }
      }
      return { found, failures };
    });
    if (format === undefined) print(`${JSON.stringify(found.map((f) => ("container" in f ? f.container : f.network)), null, 2)}\n`);
    else print(renderInspect(format, found.map((f) => ("container" in f ? inspectView(f.container) : networkView(f.network)))));
    if (failures.length) throw new ErrorList("inspecting object", failures);
  },
});
