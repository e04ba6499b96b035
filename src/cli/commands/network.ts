import { type ArgsDef, defineCommand } from "citty";
import { forEachName } from "../each.ts";
import connect from "./connect.ts";
import disconnect from "./disconnect.ts";
import reload from "./reload.ts";
import { print } from "../output.ts";
import { CtrnetError, ErrorList, UsageError } from "../../errors.ts";
import { NetworkNotFoundError } from "../../drivers/cni/index.ts";
import { disconnectContainer } from "../../lifecycle/connect.ts";
import { type Context, createContext } from "../../lifecycle/context.ts";
import {
  createNetwork,
  DRIVERS,
  FILTER_KEYS,
  PRUNE_FILTER_KEYS,
  inspectNetworks,
  listNetworkInfo,
  type NetworkInfo,
  networkExists,
  parseFilters,
  parseKeyValues,
  pruneNetworks,
  removeNetwork,
  updateNetwork,
} from "../../networks/index.ts";
import { syncDns } from "../../lifecycle/dns.ts";
import { contextOptions, exactArgs, globalArgs, maximumArgs, minimumArgs, noArgs, rejectUnknownOptions, repeatedValues, runtimeArgs, takesArgs } from "../args.ts";
import { log } from "../../log.ts";
import { isJsonFormat, renderInspect, renderList } from "../template/index.ts";
import { inspectFormatArg, NETWORK_HEADERS, networkView, normalizeInspectFormat, templateFormatArg } from "../views.ts";

/** Opens the context for one command and closes it however the command ends. */
async function withContext<T>(args: Parameters<typeof contextOptions>[0], fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = createContext(contextOptions(args));
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}

function optional(value: unknown): string | undefined {
  return value === undefined ? undefined : String(value);
}

const createArgs = {
  ...globalArgs,
  ...runtimeArgs,
  driver: { type: "string", alias: "d", description: `${DRIVERS.join(" or ")} (default bridge)` },
  subnet: { type: "string", description: "subnet in CIDR notation, IPv4 or IPv6; repeatable (default: a free 10.89.N.0/24)" },
  gateway: { type: "string", description: "gateway of the subnet given in the same position (default: its first host); repeatable, or comma-separated" },
  "ip-range": { type: "string", description: "hand out addresses of the subnet in the same position only from this CIDR; repeatable" },
  ipv6: { type: "boolean", description: "dual stack: adds a free IPv4 subnet and a random fd00::/8 /64 where none is given" },
  internal: { type: "boolean", description: "no gateway, no masquerading: containers reach only each other" },
  "disable-dns": { type: "boolean", description: "leave out the dnsname plugin (with -o plugin=cni it is added when installed)" },
  opt: { type: "string", alias: "o", description: "driver option: mtu=N, vlan=N, plugin=ctrnet|cni (ctrnet's own plugin, the default, or the reference chain), isolate=true|strict|false, no_default_route=true, metric=N, vrf=NAME (the bridge under that VRF device), mode=managed|unmanaged (unmanaged: the host's existing bridge, used as it is, no firewall rule), com.docker.network.bridge.name=NAME, com.docker.network.driver.mtu=N (bridge); parent=IFACE, mode=M, mtu=N, plugin=ctrnet|cni, no_default_route=true, metric=N (macvlan: mode bridge|private|vepa|passthru, bclim=N; ipvlan: l2|l3|l3s); repeatable" },
  "interface-name": { type: "string", description: "bridge name (default: the lowest free ctrnetN); for macvlan and ipvlan, the parent interface" },
  label: { type: "string", description: "label KEY=VALUE; repeatable" },
  route: { type: "string", description: "static route DEST,GATEWAY[,METRIC] for the network's containers (GATEWAY of a family one of its subnets has); repeatable" },
  dns: { type: "string", description: "DNS server the network's containers use (through ctrnet's DNS server, or in resolv.conf); repeatable" },
  ignore: { type: "boolean", description: "a network of that name exists already: no error, print its name (podman's --ignore)" },
  "ipam-driver": { type: "string", description: "podman's IPAM driver: host-local, or dhcp (macvlan and ipvlan, their default without --subnet, and a bridge with -o mode=unmanaged; through the reference plugins and CNI's dhcp daemon), or none (a bridge network whose containers get no address)" },
  name: { type: "positional", required: false, description: "network name (default: the lowest free ctrnetN)" },
} as const satisfies ArgsDef;

// podman's network commands' `Args:`, as cobra checks them (cli checkArgCount)
const create = takesArgs(maximumArgs(1), defineCommand({
  meta: { name: "create", description: "Create a network and print its name" },
  args: createArgs,
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, createArgs);
    const ipam = optional(args["ipam-driver"]);
    const request = {
      name: optional(args.name),
      driver: optional(args.driver),
      subnets: repeatedValues(rawArgs, createArgs, "subnet"),
      // As podman's IP slice flag: repeated, and each value a comma-separated list.
      gateways: repeatedValues(rawArgs, createArgs, "gateway").flatMap((g) => g.split(",")),
      ipRanges: repeatedValues(rawArgs, createArgs, "ip-range"),
      ipv6: args.ipv6 === true,
      internal: args.internal === true,
      disableDns: args["disable-dns"] === true,
      options: parseKeyValues("--opt", repeatedValues(rawArgs, createArgs, "opt")),
      interfaceName: optional(args["interface-name"]),
      labels: parseKeyValues("--label", repeatedValues(rawArgs, createArgs, "label")),
      routes: repeatedValues(rawArgs, createArgs, "route"),
      // podman's string slice: repeated, and each value a comma-separated list
      dnsServers: repeatedValues(rawArgs, createArgs, "dns").flatMap((d) => d.split(",")),
      ...(ipam !== undefined ? { ipamDriver: ipam } : {}),
    };
    return withContext(args, async (ctx) => {
      if (args.ignore && request.name !== undefined && (await ctx.cni.listNetworks()).networks.some((n) => n.name === request.name)) {
        print(`${request.name}\n`);
        return;
      }
      const info = await createNetwork(ctx, request);
      print(`${info.name}\n`);
    });
  },
}));

const lsArgs = {
  ...globalArgs,
  ...runtimeArgs,
  ...templateFormatArg,
  quiet: { type: "boolean", alias: "q", description: "print names only" },
  noheading: { type: "boolean", alias: "n", description: "leave out the header row" },
  "no-trunc": { type: "boolean", description: "print whole network ids" },
  filter: { type: "string", alias: "f", description: `${FILTER_KEYS.map((k) => `${k}=…`).join(", ")}; repeatable` },
} as const satisfies ArgsDef;

/** podman's default row, through the same template and tabwriter as a user's table. */
const DEFAULT_LS_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}";

const ls = takesArgs(noArgs, defineCommand({
  meta: { name: "ls", description: "List networks, sorted by name (also: network list)" },
  args: lsArgs,
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, lsArgs);
    const filters = parseFilters(repeatedValues(rawArgs, lsArgs, "filter"));
    const format = args.format === undefined ? DEFAULT_LS_FORMAT : String(args.format);
    return withContext(args, async (ctx) => {
      const { networks, problems } = await listNetworkInfo(ctx, filters);
      for (const problem of problems) log.warn(`skipping ${problem}`);
      if (args.quiet) print(networks.map((n) => `${n.name}\n`).join(""));
      else if (isJsonFormat(format)) print(`${JSON.stringify(networks, null, 2)}\n`);
      else {
        // citty reads --no-trunc as trunc=false.
        const truncate = (args as { trunc?: boolean }).trunc !== false;
        const views = networks.map((n) => networkView(n, { truncate }));
        print(renderList(format, views, { headers: NETWORK_HEADERS, noHeading: args.noheading === true }));
      }
    });
  },
}));

const namesArgs = {
  ...globalArgs,
  ...runtimeArgs,
  // not required by the parser: podman's words when none is given (atLeastOneName)
  name: { type: "positional", required: false, description: "network names or ids (a unique id prefix will do)", valueHint: "network" },
} as const satisfies ArgsDef;

const inspectArgs = { ...namesArgs, ...inspectFormatArg } as const satisfies ArgsDef;

const inspect = takesArgs(minimumArgs(1), defineCommand({
  meta: { name: "inspect", description: "Print networks as JSON, in podman's shape" },
  args: inspectArgs,
  async run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, inspectArgs);
    const format = args.format === undefined || isJsonFormat(String(args.format)) ? undefined : normalizeInspectFormat(String(args.format));
    // As podman: every network found is printed, then the ones not found fail the command.
    const { found, failures } = await withContext(args, async (ctx) => {
      const found: NetworkInfo[] = [];
      const failures: unknown[] = [];
      for (const name of args._.map(String)) {
        try {
          found.push(...(await inspectNetworks(ctx, [name])));
        } catch (err) {
          // A network that is not there is a runtime failure here (exit 1), as podman's "network not found",
          // named as podman's NetworkInspect names it
          failures.push(err instanceof NetworkNotFoundError ? new CtrnetError(`network ${name}: ${err.message}`) : err);
        }
      }
      return { found, failures };
    });
    if (format === undefined) print(`${JSON.stringify(found, null, 2)}\n`);
    else print(renderInspect(format, found.map((n) => networkView(n))));
    if (failures.length) throw new ErrorList("inspecting object", failures);
  },
}));

const rmArgs = {
  ...namesArgs,
  force: { type: "boolean", alias: "f", description: "first remove the network from the containers using it; a missing network is no error" },
  time: { type: "string", alias: "t", description: "podman's stop timeout for containers removed with -f: accepted with -f (ctrnet stops no container)" },
} as const satisfies ArgsDef;

const rm = takesArgs(minimumArgs(1), defineCommand({
  meta: { name: "rm", description: "Remove networks, their bridges and their address allocations" },
  args: rmArgs,
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, rmArgs);
    if (args.time !== undefined) {
      if (!args.force) throw new UsageError("--force option must be specified to use the --time option");
      const time = String(args.time);
      if (!/^(-1|[0-9]+)$/.test(time)) throw new UsageError(`invalid --time "${time}": expected seconds, or -1`);
    }
    return withContext(args, async (ctx) => {
      const options = args.force
        ? { force: true as const, detach: (id: string, network: string) => disconnectContainer(ctx, id, network) }
        : {};
      await forEachName(
        args._.map(String),
        async (name) => {
          try {
            await removeNetwork(ctx, name, options);
          } catch (err) {
            // podman's rm -f: a network that is not there is already removed.
            if (args.force && err instanceof NetworkNotFoundError) return;
            // As podman's network rm: a network that is not there exits 1 (in use stays 2, bad input 2).
            if (err instanceof NetworkNotFoundError) throw new CtrnetError(err.message);
            throw err;
          }
          print(`${name}\n`);
        },
        "removing networks",
      );
    });
  },
}));

const pruneArgs = {
  ...globalArgs,
  ...runtimeArgs,
  force: { type: "boolean", alias: "f", description: "accepted for podman compatibility: prune never asks" },
  filter: { type: "string", description: `${PRUNE_FILTER_KEYS.map((k) => `${k}=…`).join(", ")} (until: a duration, Unix seconds or an RFC 3339 time); repeatable` },
} as const satisfies ArgsDef;

const prune = takesArgs(noArgs, defineCommand({
  meta: { name: "prune", description: "Remove every network no container uses, except the default one" },
  args: pruneArgs,
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, pruneArgs);
    const filters = parseFilters(repeatedValues(rawArgs, pruneArgs, "filter"), PRUNE_FILTER_KEYS);
    return withContext(args, async (ctx) => {
      const removed = await pruneNetworks(ctx, filters);
      print(removed.map((n) => `${n}\n`).join(""));
    });
  },
}));

const existsArgs = {
  ...globalArgs,
  ...runtimeArgs,
  name: { type: "positional", description: "network name or id", valueHint: "network" },
} as const satisfies ArgsDef;

const exists = takesArgs(exactArgs(1), defineCommand({
  meta: { name: "exists", description: "Exit 0 if the network exists, 1 if not, printing nothing" },
  args: existsArgs,
  async run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, existsArgs);
    const found = await withContext(args, (ctx) => networkExists(ctx, String(args.name)));
    return found ? 0 : 1;
  },
}));

const updateArgs = {
  ...globalArgs,
  ...runtimeArgs,
  "dns-add": { type: "string", description: "add this DNS server to the network's; repeatable, or comma-separated" },
  "dns-drop": { type: "string", description: "remove this DNS server from the network's; repeatable, or comma-separated" },
  name: { type: "positional", description: "network name or id", valueHint: "network" },
} as const satisfies ArgsDef;

const update = takesArgs(exactArgs(1), defineCommand({
  meta: { name: "update", description: "Change a network's DNS servers (podman 4.5's network update); print its name" },
  args: updateArgs,
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, updateArgs);
    // as podman's string slice flags: repeated, and each value a comma-separated list
    const list = (flag: "dns-add" | "dns-drop") => repeatedValues(rawArgs, updateArgs, flag).flatMap((v) => v.split(","));
    return withContext(args, async (ctx) => {
      let info: NetworkInfo;
      try {
        info = await updateNetwork(ctx, String(args.name), { dnsAdd: list("dns-add"), dnsDrop: list("dns-drop") });
      } catch (err) {
        // as network rm and inspect: a network that is not there exits 1
        if (err instanceof NetworkNotFoundError) throw new CtrnetError(err.message);
        throw err;
      }
      // the DNS server forwards the network's containers' other names to the servers now listed
      await syncDns(ctx);
      print(`${info.name}\n`);
    });
  },
}));

const subCommands = { create, ls, inspect, rm, prune, exists, update };
// podman's alias, kept out of help and completion (not enumerable) as main.ts's internal commands are.
Object.defineProperty(subCommands, "list", { value: ls });
Object.defineProperty(subCommands, "remove", { value: rm });
// podman's spellings of ctrnet's top-level connect, disconnect and reload, hidden the same way
Object.defineProperty(subCommands, "connect", { value: connect });
Object.defineProperty(subCommands, "disconnect", { value: disconnect });
Object.defineProperty(subCommands, "reload", { value: reload });

export default defineCommand({
  meta: { name: "network", description: "Manage networks (CNI configuration lists)" },
  subCommands,
});
