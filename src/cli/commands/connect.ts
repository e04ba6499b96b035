import { defineCommand } from "citty";
import { notFoundIsRuntime, UsageError } from "../../errors.ts";
import { ipFamily } from "../../ip/codec.ts";
import { connectContainer, withContext } from "../../lifecycle/index.ts";
import { contextOptions, exactArgs, globalArgs, rejectUnknownOptions, repeatedValues, runtimeArgs, staticAddresses, takesArgs } from "../args.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  alias: { type: "string", description: "network alias; repeatable" },
  ip: { type: "string", description: "static IP address on this network" },
  ip6: { type: "string", description: "static IPv6 address on this network (with --ip: both, on a dual-stack network)" },
  mac: { type: "string", alias: "mac-address", description: "static MAC address of the new interface" },
  network: { type: "positional", required: true, description: "network name or id (a unique id prefix will do)", valueHint: "network" },
  id: { type: "positional", required: true, description: "container id or name", valueHint: "container" },
} as const;

export default takesArgs(exactArgs(2), defineCommand({
  meta: { name: "connect", description: "Connect a running container to one more network" },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    // podman's connect reads --ip and --ip6 as pflag's IP flags, in their words
    for (const flag of ["ip", "ip6"] as const) {
      const value = values[flag];
      if (value !== undefined && ipFamily(String(value)) === 0) {
        throw new UsageError(`invalid argument ${JSON.stringify(String(value))} for "--${flag}" flag: invalid string being converted to IP address: ${String(value)}`);
      }
    }
    const { ip, ip6 } = staticAddresses(values.ip === undefined ? undefined : String(values.ip), values.ip6 === undefined ? undefined : String(values.ip6));
    const opts = {
      aliases: repeatedValues(rawArgs, args, "alias"),
      ...(ip === undefined ? {} : { ip }),
      ...(ip6 === undefined ? {} : { ip6 }),
      ...(values.mac === undefined ? {} : { mac: String(values.mac) }),
    };
    // an unknown container or network: exit 1, as rm's and inspect's
    await notFoundIsRuntime(withContext(contextOptions(values), (ctx) => connectContainer(ctx, String(values.id), String(values.network), opts)));
  },
}));
