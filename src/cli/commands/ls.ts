import { defineCommand } from "citty";
import { print } from "../output.ts";
import { formatNetworkMode, listContainers, withContext } from "../../lifecycle/index.ts";
import { formatPort } from "../../schema/ports.ts";
import type { ContainerRecord } from "../../state/index.ts";
import { contextOptions, formatArg, formatTable, globalArgs, parseFormat, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = { ...globalArgs, ...runtimeArgs, ...formatArg } as const;

function summary(rec: ContainerRecord) {
  return {
    id: rec.id,
    name: rec.name,
    state: rec.state,
    mode: formatNetworkMode(rec.mode),
    netns: rec.netns?.path ?? null,
    networks: rec.networks.map((n) => ({ network: n.network, interface: n.ifname, aliases: n.aliases })),
    ports: rec.ports.map(formatPort),
    created: new Date(rec.createdAt).toISOString(),
  };
}

export default defineCommand({
  meta: { name: "ls", description: "List containers" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = parseFormat(values.format);
    const records = await withContext(contextOptions(values), listContainers);
    if (format === "json") {
      print(`${JSON.stringify(records.map(summary), null, 2)}\n`);
      return;
    }
    const rows = records.map((r) => [
      r.id.slice(0, 12),
      r.name ?? "",
      r.state,
      formatNetworkMode(r.mode),
      r.networks.map((n) => `${n.network}(${n.ifname})`).join(",") || "-",
      r.ports.map(formatPort).join(", ") || "-",
      r.netns?.path ?? "-",
    ]);
    print(formatTable(["ID", "NAME", "STATE", "MODE", "NETWORKS", "PORTS", "NETNS"], rows));
  },
});
