import { defineCommand } from "citty";
import { print } from "../output.ts";
import { formatNetworkMode, listContainers, withContext } from "../../lifecycle/index.ts";
import { formatPort } from "../../schema/ports.ts";
import { contextOptions, formatTable, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";
import { goJson, isJsonFormat, renderList } from "../template/index.ts";
import { CONTAINER_HEADERS, containerSummary, containerView, templateFormatArg } from "../views.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...templateFormatArg,
  quiet: { type: "boolean", alias: "q", description: "print container ids only" },
  noheading: { type: "boolean", alias: "n", description: "leave out the header row of a table" },
} as const;

export default defineCommand({
  meta: { name: "ls", description: "List containers" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = values.format === undefined || values.format === "table" ? undefined : String(values.format);
    const records = await withContext(contextOptions(values), listContainers);
    if (values.quiet) {
      print(records.map((r) => `${r.id.slice(0, 12)}\n`).join(""));
    } else if (format !== undefined && isJsonFormat(format)) {
      print(`${goJson(records.map(containerSummary), "  ")}\n`);
    } else if (format !== undefined) {
      print(renderList(format, records.map(containerView), { headers: CONTAINER_HEADERS, noHeading: values.noheading === true }));
    } else {
      const rows = records.map((r) => [
        r.id.slice(0, 12),
        r.name ?? "",
        r.state,
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
