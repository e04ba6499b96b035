import { type ArgsDef, type CommandDef, defineCommand } from "citty";
import { UsageError } from "../../errors.ts";
import { createContext } from "../../lifecycle/index.ts";
import {
  configHooks,
  DEFAULT_HOOKS_DIR,
  type HookStage,
  hookCommand,
  HANDOVER_STAGES,
  hookEnv,
  installHooks,
  NOOP_STAGES,
  readStateText,
  runHook,
  SETUP_STAGES,
  TEARDOWN_STAGES,
} from "../../hook/index.ts";
import { isRootless } from "../../identity.ts";
import { contextOptions, globalArgs, rejectUnknownOptions, repeatedValues, runtimeArgs } from "../args.ts";

const stageArgs = {
  ...globalArgs,
  ...runtimeArgs,
  network: { type: "string", description: "network mode or networks, as create's --network (annotation io.ctrnet.network wins)" },
  publish: { type: "string", alias: "p", description: "publish a port, as create's -p; repeatable (annotation io.ctrnet.publish wins)" },
  ip: { type: "string", description: "static IP address (annotation io.ctrnet.ip wins)" },
  ip6: { type: "string", description: "static IPv6 address, beside an IPv4 --ip on a dual-stack network (annotation io.ctrnet.ip6 wins)" },
  expose: { type: "string", description: "expose a port or range, as create's --expose; repeatable, or comma-separated (annotation io.ctrnet.expose wins)" },
  "publish-all": { type: "boolean", alias: "P", description: "publish every exposed port no -p covers on a free host port (annotation io.ctrnet.publish-all wins)" },
  mac: { type: "string", description: "static MAC address (annotation io.ctrnet.mac wins)" },
  alias: { type: "string", description: "network alias; repeatable (annotation io.ctrnet.aliases wins)" },
  hostname: { type: "string", description: "the container's name in /etc/hosts (annotation io.ctrnet.hostname wins)" },
  "write-etc": { type: "boolean", description: "write /etc/resolv.conf and /etc/hosts into the root filesystem (annotation io.ctrnet.write-etc wins)" },
  dns: { type: "string", description: "nameserver for the written resolv.conf, replacing all others (none: leave the rootfs's alone); repeatable (annotation io.ctrnet.dns wins)" },
  "dns-search": { type: "string", description: "search domain, replacing all others (. for none); repeatable (annotation io.ctrnet.dns-search wins)" },
  "dns-option": { type: "string", description: "resolv.conf option; repeatable (annotation io.ctrnet.dns-option wins)" },
  "add-host": { type: "string", description: "extra /etc/hosts line NAME:IP; repeatable (annotation io.ctrnet.add-host wins)" },
  "no-hosts": { type: "boolean", description: "leave the rootfs's /etc/hosts alone with --write-etc (annotation io.ctrnet.no-hosts wins)" },
} as const satisfies ArgsDef;

function rejectPositionals(positionals: readonly unknown[]): void {
  if (positionals.length) throw new UsageError(`unexpected argument "${String(positionals[0])}": the OCI state comes on stdin`);
}

function single(value: unknown, name: string): string | undefined {
  if (Array.isArray(value)) throw new UsageError(`option --${name} can be given only once`);
  return value === undefined ? undefined : String(value);
}

function stageCommand(stage: HookStage, description: string): CommandDef<typeof stageArgs> {
  return defineCommand({
    meta: { name: stage, description },
    args: stageArgs,
    async run({ args, rawArgs }) {
      rejectUnknownOptions(rawArgs, stageArgs);
      rejectPositionals(args._);
      const settings = {
        network: single(args.network, "network"),
        publish: repeatedValues(rawArgs, stageArgs, "publish"),
        ip: single(args.ip, "ip"),
        ip6: single(args.ip6, "ip6"),
        mac: single(args.mac, "mac"),
        expose: repeatedValues(rawArgs, stageArgs, "expose"),
        ...(args["publish-all"] === true ? { publishAll: true } : {}),
        aliases: repeatedValues(rawArgs, stageArgs, "alias"),
        hostname: single(args.hostname, "hostname"),
        writeEtc: args["write-etc"],
        dns: repeatedValues(rawArgs, stageArgs, "dns"),
        dnsSearch: repeatedValues(rawArgs, stageArgs, "dns-search"),
        dnsOptions: repeatedValues(rawArgs, stageArgs, "dns-option"),
        addHosts: repeatedValues(rawArgs, stageArgs, "add-host"),
        // citty reads --no-hosts as the negation of a `hosts` flag
        noHosts: args["no-hosts"] === true || (args as Record<string, unknown>).hosts === false,
      };
      // The whole command line, global options included, for a re-run in the container's user namespace.
      return await runHook(stage, await readStateText(), settings, contextOptions(args), process.argv.slice(2));
    },
  });
}

const installArgs = {
  ...globalArgs,
  ...runtimeArgs,
  path: { type: "string", description: "absolute path of the ctrnet the runtime runs (default: this one)" },
} as const satisfies ArgsDef;

function commandFor(args: { path?: string } & Parameters<typeof contextOptions>[0]) {
  const options = contextOptions(args);
  const ctx = createContext(options);
  // Flags win over the environment, as they do for every command.
  const env = {
    ...process.env,
    ...(options.root && { CTRNET_ROOT: options.root }),
    ...(options.netnsDir && { CTRNET_NETNS_DIR: options.netnsDir }),
    ...(options.cniConfigDir && { CTRNET_CNI_CONFIG_DIR: options.cniConfigDir }),
    ...(options.cniPluginDirs && { CTRNET_CNI_PLUGIN_DIR: options.cniPluginDirs.join(":") }),
    ...(options.cniCacheDir && { CTRNET_CNI_CACHE_DIR: options.cniCacheDir }),
  };
  return hookCommand(hookEnv(env, ctx), args.path);
}

const install = defineCommand({
  meta: { name: "install", description: `Write hooks.d files (for podman and CRI-O) that run ctrnet for containers annotated io.ctrnet.network` },
  args: { ...installArgs, dir: { type: "string", description: `hooks directory (default ${DEFAULT_HOOKS_DIR})` } },
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, { ...installArgs, dir: { type: "string" } });
    rejectPositionals(args._);
    for (const path of installHooks(args.dir ?? DEFAULT_HOOKS_DIR, commandFor(args))) process.stdout.write(`${path}\n`);
  },
});

const config = defineCommand({
  meta: { name: "config", description: "Print the hooks block to put into a bundle's config.json (runc, crun)" },
  args: installArgs,
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, installArgs);
    rejectPositionals(args._);
    process.stdout.write(`${JSON.stringify(configHooks(commandFor(args), isRootless()), null, 2)}\n`);
  },
});

const STAGE_DESCRIPTIONS: Record<HookStage, string> = {
  createRuntime: "Set up the container's network (OCI state on stdin)",
  prestart: "Set up the container's network; the deprecated stage before createRuntime",
  poststop: "Tear down the container's network",
  createContainer: "Hand a rootless crun container's namespaces to the waiting createRuntime (else nothing)",
  startContainer: "Accepted, does nothing",
  poststart: "Accepted, does nothing",
};

const stages = [...SETUP_STAGES, ...TEARDOWN_STAGES, ...HANDOVER_STAGES, ...NOOP_STAGES].map((s) => [s, stageCommand(s, STAGE_DESCRIPTIONS[s])] as const);

export default defineCommand({
  meta: { name: "hook", description: "Run as an OCI runtime hook, or set runtimes up to run ctrnet as one" },
  subCommands: { ...Object.fromEntries(stages), install, config },
});
