import { defineCommand } from "citty";
import { notFoundIsRuntime } from "../../errors.ts";
import { print } from "../output.ts";
import { containerStats, withContext } from "../../lifecycle/index.ts";
import { contextOptions, formatArg, formatTable, globalArgs, parseFormat, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = { ...globalArgs, ...runtimeArgs, ...formatArg, id: { type: "positional", required: true, description: "container id or name", valueHint: "container" } } as const;

export default defineCommand({
  meta: { name: "stats", description: "Per-interface traffic counters inside a container's netns" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = parseFormat(values.format);
    const stats = await notFoundIsRuntime(withContext(contextOptions(values), (ctx) => containerStats(ctx, String(values.id))));
    if (format === "json") {
      print(`${JSON.stringify(stats, null, 2)}\n`);
      return;
    }
    const header = ["INTERFACE", "RX BYTES", "RX PACKETS", "RX ERRORS", "RX DROPPED", "TX BYTES", "TX PACKETS", "TX ERRORS", "TX DROPPED"];
    const rows = stats.map((s) =>
      [s.interface, s.rxBytes, s.rxPackets, s.rxErrors, s.rxDropped, s.txBytes, s.txPackets, s.txErrors, s.txDropped].map(String),
    );
    print(formatTable(header, rows));
  },
});
