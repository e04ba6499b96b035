import { defineCommand } from "citty";
import { connectContainer, withContext } from "../../lifecycle/index.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, repeatedValues, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  alias: { type: "string", description: "network alias; repeatable" },
  ip: { type: "string", description: "static IP address on this network" },
  mac: { type: "string", description: "static MAC address of the new interface" },
  network: { type: "positional", required: true, description: "network name or id (a unique id prefix will do)", valueHint: "network" },
  id: { type: "positional", required: true, description: "container id or name", valueHint: "container" },
} as const;

export default defineCommand({
  meta: { name: "connect", description: "Connect a running container to one more network" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const opts = {
      aliases: repeatedValues(rawArgs, args, "alias"),
      ...(values.ip === undefined ? {} : { ip: String(values.ip) }),
      ...(values.mac === undefined ? {} : { mac: String(values.mac) }),
    };
    await withContext(contextOptions(values), (ctx) => connectContainer(ctx, String(values.id), String(values.network), opts));
  },
});
