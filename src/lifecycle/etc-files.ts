// A container's /etc/resolv.conf and /etc/hosts from its network view (container/dns-files.ts generates them),
// written to its runtime directory, and bind-mounted over /etc in its mount namespace when its command
// starts (as `ip netns exec` does with /etc/netns/NAME).
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containerHosts, containerResolvConf, formatResolvConf, type HostEtc, type Reach } from "../container/dns-files.ts";
import { validateName } from "../names.ts";
import { type NetworkStatus, statusAddresses } from "../schema/network-status.ts";
import type { ContainerRecord } from "../state/index.ts";

/** The generated files by the /etc name they are bound over. */
export const ETC_FILE_NAMES = ["resolv.conf", "hosts"] as const;
export type EtcFileName = (typeof ETC_FILE_NAMES)[number];
export type EtcFiles = Record<EtcFileName, string>;

/** As docker and podman abbreviate ids. */
const SHORT_ID_LENGTH = 12;

/**
 * Both files for a container from its names and its network view (networks.ts networkView): the
 * statuses' addresses, gateways and DNS, whatever driver gave them.
 */
export function containerEtcFiles(
  record: ContainerRecord,
  view: { statuses: readonly NetworkStatus[]; reach: Reach },
  host: HostEtc,
  opts: { preferredNameservers?: readonly string[] } = {},
): { files: EtcFiles; fellBack: boolean } {
  const { statuses } = view;
  const addresses = statuses.flatMap(statusAddresses);
  const gateways = statuses.flatMap((s) => s.interfaces.flatMap((i) => i.addresses.flatMap((a) => (a.gateway ? [a.gateway] : []))));
  const { conf, fellBack } = containerResolvConf({
    host: host.resolvConf,
    networks: statuses.map((s) => s.dns),
    reach: view.reach,
    ipv6: addresses.some((a) => a.includes(":") && !/^fe[89ab]/i.test(a)),
    preferred: opts.preferredNameservers,
  });
  const hosts = containerHosts({
    host: host.hosts,
    addresses,
    names: [record.name ?? record.id, record.id.slice(0, SHORT_ID_LENGTH)],
    gateway: gateways.find((g) => !g.includes(":")) ?? gateways[0],
  });
  return { files: { "resolv.conf": formatResolvConf(conf), hosts }, fellBack };
}

export function etcFilesDir(ctx: { readonly runtimeDir: string }, id: string): string {
  return join(ctx.runtimeDir, "containers", validateName("container id", id));
}

/**
 * Writes the files to the container's runtime directory (0700: only root or the rootless user looks in;
 * the container reads them through the bind mount) and returns their paths by /etc name.
 */
export function writeEtcFiles(ctx: { readonly runtimeDir: string }, id: string, contents: EtcFiles): EtcFiles {
  const dir = etcFilesDir(ctx, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = {} as EtcFiles;
  for (const name of ETC_FILE_NAMES) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], contents[name], { mode: 0o644 });
  }
  return paths;
}

/** Removes what writeEtcFiles wrote; the directory too once nothing else is in it. Missing files are fine. */
export function removeEtcFiles(ctx: { readonly runtimeDir: string }, id: string): void {
  const dir = etcFilesDir(ctx, id);
  for (const name of ETC_FILE_NAMES) rmSync(join(dir, name), { force: true });
  try {
    rmdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTEMPTY") throw err;
  }
}
