import { type ArgsDef, defineCommand } from "citty";
import { lstatSync, readlinkSync, rmSync, symlinkSync, copyFileSync, chmodSync, mkdirSync, realpathSync } from "../../../ffi/fs.ts";
import { join } from "node:path";
import { selfBinary } from "../self.ts";
import { print } from "../output.ts";
import { nativeConflist } from "../../drivers/cni/index.ts";
import { CtrnetError, UsageError } from "../../errors.ts";
import { rejectUnknownOptions, repeatedValues } from "../args.ts";

const installArgs = {
  dir: { type: "string", description: "where the runtime looks for plugins (default /opt/cni/bin)" },
  copy: { type: "boolean", description: "copy the binary instead of linking to it" },
  force: { type: "boolean", description: "replace a ctrnet plugin that is not this binary" },
} as const satisfies ArgsDef;

const install = defineCommand({
  meta: { name: "install", description: "Put ctrnet where CNI runtimes look for plugins, as the plugin type ctrnet" },
  args: installArgs,
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, installArgs);
    const dir = args.dir || "/opt/cni/bin";
    const target = join(dir, "ctrnet");
    const self = selfBinary("cni install");
    let existing: "none" | "self" | "other" = "none";
    try {
      const st = lstatSync(target);
      existing = st.isSymbolicLink() && realpathSync(target) === self ? "self" : "other";
      if (existing === "other" && st.isSymbolicLink()) existing = readlinkSync(target) === self ? "self" : "other";
    } catch {
      // nothing there yet
    }
    if (existing === "self" && !args.copy) {
      print(`${target}\n`);
      return;
    }
    if (existing === "other" && !args.force) throw new UsageError(`${target} exists and is not this ctrnet: remove it, or pass --force to replace it`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    rmSync(target, { force: true });
    try {
      if (args.copy) {
        copyFileSync(self, target);
        chmodSync(target, 0o755);
      } else {
        symlinkSync(self, target);
      }
    } catch (err) {
      throw new CtrnetError(`cannot install ${target}: ${(err as Error).message}`);
    }
    print(`${target}\n`);
  },
});

const conflistArgs = {
  name: { type: "positional", required: true, description: "network name" },
  subnet: { type: "string", description: "subnet, repeatable (IPv4 and IPv6 for dual stack)" },
  gateway: { type: "string", description: "gateway of the subnet at the same position, repeatable" },
  "ip-range": { type: "string", description: "addresses handed out, inside the subnet at the same position, repeatable" },
  bridge: { type: "string", description: "bridge interface (default cn-NAME, cut to 15 characters)" },
  mtu: { type: "string", description: "MTU of the bridge and the containers' interfaces" },
  vlan: { type: "string", description: "VLAN of the containers' ports" },
  internal: { type: "boolean", description: "no gateway, masquerade or default route" },
  isolate: { type: "string", description: "true or strict: no traffic to other isolated (strict: any other) networks" },
  "ipam-data-dir": { type: "string", description: "host-local's directory (default /var/lib/cni/networks)" },
} as const satisfies ArgsDef;

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid --${flag} "${value}": expected a number`);
  return Number(value);
}

const conflist = defineCommand({
  meta: { name: "conflist", description: "Print a conflist of ctrnet's plugin for other runtimes (podman, containerd, CRI-O)" },
  args: conflistArgs,
  run({ args, rawArgs }) {
    rejectUnknownOptions(rawArgs, conflistArgs);
    const subnets = repeatedValues(rawArgs, conflistArgs, "subnet");
    if (subnets.length === 0) throw new UsageError("--subnet is required: a runtime's node gives each network its own subnet");
    if (args.isolate !== undefined && args.isolate !== "true" && args.isolate !== "strict") throw new UsageError(`invalid --isolate "${args.isolate}": use true or strict`);
    const name = String(args.name);
    const json = nativeConflist({
      name,
      bridge: args.bridge || `cn-${name}`.slice(0, 15),
      subnets,
      gateways: repeatedValues(rawArgs, conflistArgs, "gateway"),
      ipRanges: repeatedValues(rawArgs, conflistArgs, "ip-range"),
      mtu: integer("mtu", args.mtu),
      vlan: integer("vlan", args.vlan),
      internal: args.internal === true,
      ...(args.isolate ? { isolate: args.isolate } : {}),
      ...(args["ipam-data-dir"] ? { ipamDataDir: args["ipam-data-dir"] } : {}),
    });
    print(`${JSON.stringify(json, null, 2)}\n`);
  },
});

export default defineCommand({
  meta: { name: "cni", description: "ctrnet as a CNI plugin for other runtimes: install it, write conflists for it" },
  subCommands: { install, conflist },
});
