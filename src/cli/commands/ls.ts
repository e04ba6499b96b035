import { defineCommand } from "citty";
import { print } from "../output.ts";
import { degradedHelper, formatNetworkMode, listContainers, withContext } from "../../lifecycle/index.ts";
import { formatPort } from "../../schema/ports.ts";
import { contextOptions, formatTable, globalArgs, noArgs, rejectUnknownOptions, repeatedValues, runtimeArgs, takesArgs } from "../args.ts";
import { matchesContainer, parseContainerFilters } from "../../container/filters.ts";
import { NetworkNotFoundError } from "../../drivers/cni/index.ts";
import { goJson, isJsonFormat, renderList } from "../template/index.ts";
import { CONTAINER_HEADERS, containerSummary, containerView, templateFormatArg } from "../views.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...templateFormatArg,
  quiet: { type: "boolean", alias: "q", description: "print container ids only" },
  // podman's ps shows running containers unless -a; every ctrnet container is listed (created ones too)
  all: { type: "boolean", alias: "a", description: "every container, as podman's ps -a (ctrnet always lists every one)" },
  noheading: { type: "boolean", alias: "n", description: "leave out the header row of a table" },
  filter: { type: "string", alias: "f", description: "id=PREFIX, name=REGEX, network=NAME or network=container:ID (podman's ps filters); repeatable" },
  "no-trunc": { type: "boolean", description: "whole ids" },
} as const;

export default takesArgs(noArgs, defineCommand({
  meta: { name: "ls", description: "List containers" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = values.format === undefined || values.format === "table" ? undefined : String(values.format);
    const filters = parseContainerFilters(repeatedValues(rawArgs, args, "filter"));
    // citty reads --no-trunc as the negation of a `trunc` flag
    const idLength = values["no-trunc"] === true || (values as Record<string, unknown>).trunc === false ? Infinity : 12;
    // a ready container whose helper is gone is listed as degraded, naming the helper
    const listed = await withContext(contextOptions(values), async (ctx) => {
      // as podman's: a network filter naming no network matches nothing, container:X the containers sharing X's netns
      const networks: string[] = [];
      const sharing: string[] = [];
      for (const value of filters.network ?? []) {
        if (value.startsWith("container:")) {
          const target = ctx.state().find(value.slice("container:".length));
          if (target) sharing.push(target.id);
          continue;
        }
        try {
          networks.push((await ctx.cni.resolveNetwork(value)).name);
        } catch (err) {
          if (!(err instanceof NetworkNotFoundError)) throw err;
        }
      }
      return (await listContainers(ctx))
        .filter((rec) => matchesContainer(rec, filters, { networks, sharing }))
        .map((rec) => ({ rec, degraded: degradedHelper(ctx, rec) }));
    });
    const records = listed.map((l) => l.rec);
    if (values.quiet) {
      print(records.map((r) => `${r.id.slice(0, idLength)}\n`).join(""));
    } else if (format !== undefined && isJsonFormat(format)) {
      print(`${goJson(listed.map((l) => containerSummary(l.rec, l.degraded)), "  ")}\n`);
    } else if (format !== undefined) {
      print(renderList(format, listed.map((l) => containerView(l.rec, l.degraded, idLength)), { headers: CONTAINER_HEADERS, noHeading: values.noheading === true }));
    } else {
      const rows = listed.map(({ rec: r, degraded }) => [
        r.id.slice(0, idLength),
        r.name ?? "",
        degraded ? `degraded (${degraded.helper} gone)` : r.state,
        formatNetworkMode(r.mode),
        r.networks.map((n) => `${n.network}(${n.ifname})`).join(",") || "-",
        r.ports.map(formatPort).join(", ") || "-",
        r.netns?.path ?? "-",
      ]);
      const table = formatTable(["ID", "NAME", "STATE", "MODE", "NETWORKS", "PORTS", "NETNS"], rows);
      print(values.noheading ? table.slice(table.indexOf("\n") + 1) : table);
    }
  },
}));
