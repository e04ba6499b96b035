import { defineCommand } from "citty";
import { UsageError } from "../../errors.ts";
import { connectContainer, withContext } from "../../lifecycle/index.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, repeatedValues, runtimeArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  alias: { type: "string", description: "network alias; repeatable" },
  ip: { type: "string", description: "static IP address on this network" },
  ip6: { type: "string", description: "static IPv6 address on this network (podman's spelling; not together with --ip yet)" },
  mac: { type: "string", alias: "mac-address", description: "static MAC address of the new interface" },
  network: { type: "positional", required: true, description: "network name or id (a unique id prefix will do)", valueHint: "network" },
  id: { type: "positional", required: true, description: "container id or name", valueHint: "container" },
} as const;

export default defineCommand({
  meta: { name: "connect", description: "Connect a running container to one more network" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const ip6 = values.ip6 === undefined ? undefined : String(values.ip6);
    if (ip6 !== undefined && !ip6.includes(":")) throw new UsageError(`invalid --ip6 "${ip6}": expected an IPv6 address`);
    if (ip6 !== undefined && values.ip !== undefined) throw new UsageError("--ip and --ip6 together are not supported: give one static address");
    const ip = values.ip === undefined ? ip6 : String(values.ip);
    const opts = {
      aliases: repeatedValues(rawArgs, args, "alias"),
      ...(ip === undefined ? {} : { ip }),
      ...(values.mac === undefined ? {} : { mac: String(values.mac) }),
    };
    await withContext(contextOptions(values), (ctx) => connectContainer(ctx, String(values.id), String(values.network), opts));
  },
});
