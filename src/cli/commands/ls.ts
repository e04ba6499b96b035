import { defineCommand } from "citty";
import { print } from "../output.ts";
import { degradedHelper, formatNetworkMode, listContainers, withContext } from "../../lifecycle/index.ts";
import { formatPort } from "../../schema/ports.ts";
import { contextOptions, formatTable, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";
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
} as const;

export default defineCommand({
  meta: { name: "ls", description: "List containers" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = values.format === undefined || values.format === "table" ? undefined : String(values.format);
    // a ready container whose helper is gone is listed as degraded, naming the helper
    const listed = await withContext(contextOptions(values), async (ctx) =>
      (await listContainers(ctx)).map((rec) => ({ rec, degraded: degradedHelper(ctx, rec) })),
    );
    const records = listed.map((l) => l.rec);
    if (values.quiet) {
      print(records.map((r) => `${r.id.slice(0, 12)}\n`).join(""));
    } else if (format !== undefined && isJsonFormat(format)) {
      print(`${goJson(listed.map((l) => containerSummary(l.rec, l.degraded)), "  ")}\n`);
    } else if (format !== undefined) {
      print(renderList(format, listed.map((l) => containerView(l.rec, l.degraded)), { headers: CONTAINER_HEADERS, noHeading: values.noheading === true }));
    } else {
      const rows = listed.map(({ rec: r, degraded }) => [
        r.id.slice(0, 12),
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
});
