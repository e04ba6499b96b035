import { defineCommand } from "citty";
import { print } from "../output.ts";
import { CtrnetError } from "../../errors.ts";
import { gc, withContext } from "../../lifecycle/index.ts";
import { stopPauseIfUnused } from "../../rootless/pause.ts";
import { contextOptions, formatArg, globalArgs, parseFormat, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = { ...globalArgs, ...runtimeArgs, ...formatArg } as const;

export default defineCommand({
  meta: { name: "gc", description: "Tear down what crashed commands and reboots left: dead containers, orphaned netns files, stale CNI attachments" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = parseFormat(values.format);
    const report = await withContext(contextOptions(values), async (ctx) => {
      const collected = await gc(ctx);
      await stopPauseIfUnused(ctx);
      return collected;
    });
    if (format === "json") print(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const lines = [
        ...report.containers.map((id) => `removed container ${id}`),
        ...report.kept.map((k) => `kept container ${k.id}: ${k.reason}`),
        ...report.netns.map((path) => `removed netns ${path}`),
        ...report.attachments.map((a) => `removed CNI attachment ${a}`),
        ...report.leftovers.map((l) => `removed ${l}`),
        ...report.sockets.map((path) => `removed hook waiter socket ${path}`),
        ...report.busy.map((id) => `skipped container ${id}: another ctrnet command is working on it`),
      ];
      print(lines.map((l) => `${l}\n`).join(""));
    }
    if (report.errors.length) throw new CtrnetError(`gc could not clean up everything: ${report.errors.join("; ")}`);
  },
});
