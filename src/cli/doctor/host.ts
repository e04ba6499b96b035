// The machine's side of rootless networking and the programs ctrnet runs: /dev/net/tun, subordinate ids
// and newuidmap/newgidmap, slirp4netns, pasta, and the CNI plugins the configured networks name.
import { accessSync, constants, readFileSync, statSync } from "../../../ffi/fs.ts";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { NetworkConfig } from "../../drivers/cni/index.ts";
import { OWN_PLUGIN_TYPE } from "../../drivers/cni/exec.ts";
import { type Finding, info, ok, problem } from "./finding.ts";

const TUN = "/dev/net/tun";
/** What a user namespace needs to map root plus a container's usual ids (podman asks the same). */
const MIN_SUBORDINATE_IDS = 65536;

export function checkTun(rootless: boolean): Finding {
  let st;
  try {
    st = statSync(TUN);
  } catch {
    return problem("tun", `${TUN} does not exist`, "load the tun module: modprobe tun (and add tun to /etc/modules)");
  }
  if (!st.isCharacterDevice()) return problem("tun", `${TUN} is not a character device`, `recreate it: rm ${TUN}; mknod ${TUN} c 10 200`);
  try {
    accessSync(TUN, constants.R_OK | constants.W_OK);
  } catch {
    const fix = `let the user open it: chmod 0666 ${TUN}`;
    return rootless ? problem("tun", `${TUN} cannot be opened by this user: slirp4netns and pasta need it`, fix) : info("tun", `${TUN} is root's only (${fix} for rootless users)`);
  }
  return ok("tun", `${TUN} can be opened`);
}

/** The ids /etc/subuid or /etc/subgid gives a user, by name or uid. */
export function subordinateIds(text: string, user: string, uid: number): number {
  let count = 0;
  for (const line of text.split("\n")) {
    const [owner, , size] = line.trim().split(":");
    if ((owner === user || owner === String(uid)) && size !== undefined && /^\d+$/.test(size)) count += Number(size);
  }
  return count;
}

function which(name: string): string | undefined {
  return Bun.which(name, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin` }) ?? undefined;
}

export function checkIdMaps(): Finding[] {
  const { username, uid } = userInfo();
  if (uid === 0) return [info("idmap", "root: containers need no subordinate ids")];
  const out: Finding[] = [];
  for (const [file, flag] of [["/etc/subuid", "--add-subuids"], ["/etc/subgid", "--add-subgids"]] as const) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      // no file: no ranges
    }
    const count = subordinateIds(text, username, uid);
    out.push(
      count >= MIN_SUBORDINATE_IDS
        ? ok("idmap", `${file} gives ${username} ${count} ids`)
        : problem("idmap", `${file} gives ${username} ${count} ids (fewer than ${MIN_SUBORDINATE_IDS})`, `as root: usermod ${flag} 100000-165535 ${username}`),
    );
  }
  for (const tool of ["newuidmap", "newgidmap"]) {
    const path = which(tool);
    if (!path) {
      out.push(problem("idmap", `${tool} is not installed: only the user's own id can be mapped`, "install it: apt-get install uidmap"));
      continue;
    }
    const st = statSync(path);
    if (st.uid !== 0 || (st.mode & 0o4000) === 0) {
      // Without the setuid bit it works only with file capabilities, which stat cannot show.
      out.push(info("idmap", `${path} is not setuid root: it needs file capabilities (getcap ${path} shows cap_setuid)`));
    } else {
      out.push(ok("idmap", `${path} is setuid root`));
    }
  }
  return out;
}

/** The first line a program prints for its version, or undefined when it is not installed. */
function versionOf(path: string, args: string[], env: Record<string, string> = {}): string {
  const r = Bun.spawnSync([path, ...args], { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const text = `${r.stdout.toString()}\n${r.stderr.toString()}`.trim();
  return text.split("\n")[0]?.trim() || "version unknown";
}

export function checkHelpers(rootless: boolean): Finding[] {
  const out: Finding[] = [];
  const slirp = which("slirp4netns");
  if (slirp) out.push(ok("tools", `slirp4netns: ${versionOf(slirp, ["--version"])}`));
  else if (rootless) out.push(problem("tools", "slirp4netns is not installed: rootless containers have no network", "install it: apt-get install slirp4netns"));
  else out.push(info("tools", "slirp4netns is not installed: rootless users will need it (apt-get install slirp4netns)"));
  const pasta = which("pasta");
  out.push(pasta ? ok("tools", `pasta: ${versionOf(pasta, ["--version"])}`) : info("tools", "pasta is not installed (apt-get install passt)"));
  return out;
}

/** Every plugin a configured network names must be in the plugin path; the ones found, with their versions. */
export function checkPlugins(pluginPath: readonly string[], networks: readonly NetworkConfig[]): Finding[] {
  const find = (type: string) => pluginPath.map((d) => join(d, type)).find((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
  const out: Finding[] = [];
  const needed = new Map<string, string[]>();
  const own: string[] = [];
  for (const type of ["loopback"]) needed.set(type, []);
  for (const network of networks) {
    for (const plugin of network.plugins) {
      // ctrnet's CNI runtime runs its own type in-process, its host-local section included
      if (plugin.type === OWN_PLUGIN_TYPE) {
        own.push(network.name);
        continue;
      }
      for (const type of [plugin.type, (plugin.ipam as { type?: unknown } | undefined)?.type]) {
        if (typeof type === "string") needed.set(type, [...(needed.get(type) ?? []), network.name]);
      }
    }
  }
  for (const [type, users] of [...needed].sort(([a], [b]) => a.localeCompare(b))) {
    const path = find(type);
    const who = users.length ? `network${users.length > 1 ? "s" : ""} ${[...new Set(users)].join(", ")}` : "every container (its lo)";
    if (path) out.push(ok("plugins", `${type} (${path}): ${versionOf(path, [], { CNI_COMMAND: "" })}`));
    else out.push(problem("plugins", `CNI plugin ${type}, used by ${who}, is not in ${pluginPath.join(":")}`, "install it: apt-get install containernetworking-plugins (or set --cni-plugin-dir)"));
  }
  if (own.length) out.push(ok("plugins", `${OWN_PLUGIN_TYPE} (in-process): ctrnet's own plugin, used by network${own.length > 1 ? "s" : ""} ${own.join(", ")}`));
  return out;
}
