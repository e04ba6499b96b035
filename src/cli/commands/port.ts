import { defineCommand } from "citty";
import { print } from "../output.ts";
import { portLines, publishedPorts, withContext } from "../../lifecycle/index.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  id: { type: "positional", required: true, description: "container id or name" },
  port: { type: "positional", required: false, description: "PORT[/PROTO]: show where this container port is published" },
} as const;

export default defineCommand({
  meta: { name: "port", description: "List a container's published ports, or the host address of one" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const ports = await withContext(contextOptions(values), async (ctx) => publishedPorts(ctx, String(values.id)));
    const lines = portLines(ports, values.port === undefined ? undefined : String(values.port));
    print(lines.map((l) => `${l}\n`).join(""));
  },
});
