import { defineCommand } from "citty";
import { notFoundIsRuntime } from "../../errors.ts";
import { print } from "../output.ts";
import { containerStats, latestContainer, withContext } from "../../lifecycle/index.ts";
import { checkAllLatest, contextOptions, formatArg, formatTable, globalArgs, latestArg, parseFormat, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...formatArg,
  ...latestArg,
  // podman's --no-stream, --no-reset and --no-trunc (read by citty as negations): ctrnet prints once anyway
  "no-stream": { type: "boolean", description: "podman's: print once (ctrnet always does)" },
  "no-reset": { type: "boolean", description: "podman's: accepted, nothing to reset" },
  "no-trunc": { type: "boolean", description: "podman's: accepted, nothing is truncated" },
  // not required by the parser: --latest names none
  id: { type: "positional", required: false, description: "container id or name", valueHint: "container" },
} as const;

export default defineCommand({
  meta: { name: "stats", description: "Per-interface traffic counters inside a container's netns" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    checkAllLatest(values.id === undefined ? [] : [String(values.id)], values);
    const format = parseFormat(values.format);
    const stats = await notFoundIsRuntime(
      withContext(contextOptions(values), (ctx) => containerStats(ctx, values.latest ? latestContainer(ctx.state()).id : String(values.id))),
    );
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
