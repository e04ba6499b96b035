import { defineCommand } from "citty";
import { print } from "../output.ts";
import { withContext } from "../../lifecycle/index.ts";
import { contextOptions, formatArg, globalArgs, parseFormat, rejectUnknownOptions, runtimeArgs } from "../args.ts";
import { runDoctor } from "../doctor/index.ts";

const args = { ...globalArgs, ...runtimeArgs, ...formatArg } as const;

export default defineCommand({
  meta: { name: "doctor", description: "Check the machine for what container networking needs; one line of what to do per problem" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const format = parseFormat(values.format);
    const findings = await withContext(contextOptions(values), runDoctor);
    if (format === "json") {
      print(`${JSON.stringify(findings, null, 2)}\n`);
    } else {
      const width = Math.max(...findings.map((f) => f.check.length));
      print(
        findings
          .map((f) => `${f.status.padEnd(7)}  ${f.check.padEnd(width)}  ${f.detail}\n${f.fix ? `${" ".repeat(width + 11)}fix: ${f.fix}\n` : ""}`)
          .join(""),
      );
    }
    return findings.some((f) => f.status === "problem") ? 1 : 0;
  },
});
