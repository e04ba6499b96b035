// Network configurations: `.conflist` files, and single-plugin `.conf`/`.json` files wrapped as one-plugin
// lists (as libcni does), read from an ordered list of directories.
import { readdirSync, readFileSync, statSync } from "../../../ffi/fs.ts";
import { join } from "node:path";
import * as v from "valibot";
import { errorMessage, NotFoundError, UsageError } from "../../errors.ts";
import { validateName, validateNetworkName } from "../../names.ts";
import { HostLocalIpam, NetConf, NetConfList, type PluginConf } from "../../schema/cni.ts";
import { describeIssues } from "../../schema/issues.ts";
import { chooseVersion, isSupportedVersion, SPEC_VERSIONS } from "./version.ts";
import { fileStamp } from "./file-stamp.ts";

export interface NetworkConfig {
  name: string;
  /** The version every plugin of the list is called with (the highest usable of `cniVersions`, if given). */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  /** Each plugin's configuration with every key it had, unknown ones included. */
  plugins: PluginConf[];
  /** The list's JSON as loaded (for a `.conf`, the wrapping list): what libcni caches next to a result. */
  bytes: Uint8Array;
  /** Where it came from, for error messages. */
  source: string;
}

/** A configuration file that can't be used: bad input, named by its file. */
export class NetworkConfigError extends UsageError {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = "NetworkConfigError";
  }
}

export class NetworkNotFoundError extends NotFoundError {
  constructor(
    readonly network: string,
    message: string,
  ) {
    super(message);
    this.name = "NetworkNotFoundError";
  }
}

const LIST_EXTENSIONS = [".conflist"];
const SINGLE_EXTENSIONS = [".conf", ".json"];

function flag(value: boolean | "true" | "false" | undefined): boolean {
  return value === true || value === "true";
}

/** Made once, not for every plugin of every file parsed. */
const PluginHostLocal = v.object({ ipam: HostLocalIpam });

/**
 * host-local refuses a range that is no subnet only when a container is attached: found here instead, so
 * `network ls` and `inspect` name the file and nothing is attached to a network that can never work.
 */
function checkHostLocal(plugins: readonly PluginConf[], source: string): void {
  for (const [i, plugin] of plugins.entries()) {
    if (plugin.ipam?.type !== "host-local") continue;
    const parsed = v.safeParse(PluginHostLocal, { ipam: plugin.ipam });
    if (!parsed.success) throw new NetworkConfigError(source, `plugins[${i}].${describeIssues(parsed.issues)}`);
  }
}

/** A network's id, as podman's CNI backend derives it, so both tools show the same one. */
export function networkId(name: string): string {
  return new Bun.CryptoHasher("sha256").update(name).digest("hex");
}

/**
 * Texts this process parsed, with what they gave: rm reads a network's configuration from its file (is it
 * served by DNS?) and again from the CNI cache, which holds the file's very bytes. A few only.
 */
const parsedTexts = new Map<string, { config: NetworkConfig; isList: boolean }>();
const PARSED_TEXTS = 8;

/** Parses one configuration; a JSON object with `plugins` is a list, anything else a single plugin. */
export function parseNetworkConfig(data: Uint8Array | string, source: string): NetworkConfig {
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  const known = parsedTexts.get(text);
  // a list's bytes are the ones given; a single plugin's, the list made from it (the same for the same text)
  if (known !== undefined) return { ...known.config, bytes: known.isList ? listBytes(data) : known.config.bytes, source };
  const parsed = parseText(text, data, source);
  parsedTexts.set(text, parsed);
  if (parsedTexts.size > PARSED_TEXTS) parsedTexts.delete(parsedTexts.keys().next().value!);
  return parsed.config;
}

function listBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

function parseText(text: string, data: Uint8Array | string, source: string): { config: NetworkConfig; isList: boolean } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NetworkConfigError(source, `malformed JSON: ${errorMessage(err)}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new NetworkConfigError(source, "expected a JSON object");
  }
  const isList = "plugins" in json;
  let list: NetConfList;
  let bytes: Uint8Array;
  if (isList) {
    const parsed = v.safeParse(NetConfList, json);
    if (!parsed.success) throw new NetworkConfigError(source, describeIssues(parsed.issues));
    list = parsed.output;
    bytes = listBytes(data);
  } else {
    const parsed = v.safeParse(NetConf, json);
    if (!parsed.success) throw new NetworkConfigError(source, describeIssues(parsed.issues));
    const { name, cniVersion } = parsed.output;
    list = { name, cniVersion, plugins: [parsed.output] };
    bytes = new TextEncoder().encode(JSON.stringify({ cniVersion, name, plugins: [json] }));
  }
  try {
    validateNetworkName(list.name);
  } catch (err) {
    throw new NetworkConfigError(source, `name: ${errorMessage(err)}`);
  }
  checkHostLocal(list.plugins, source);
  const cniVersion = chooseVersion(list.cniVersion, list.cniVersions);
  if (!isSupportedVersion(cniVersion)) {
    throw new NetworkConfigError(source, `cniVersion: "${cniVersion}" is not one of ${SPEC_VERSIONS.join(", ")}`);
  }
  return {
    config: { name: list.name, cniVersion, disableCheck: flag(list.disableCheck), disableGC: flag(list.disableGC), plugins: list.plugins, bytes, source },
    isList,
  };
}

/**
 * Files parsed by this process, with the identity and times of the file they were parsed from: one command
 * reads a network's file several times (resolving its name, validating, setting up), and parsing it again
 * costs milliseconds. A file changed or replaced since is read and parsed again.
 */
const parsed = new Map<string, { stamp: string; config: NetworkConfig }>();

export async function loadNetworkFile(path: string): Promise<NetworkConfig> {
  const stamp = fileStamp(path);
  const known = parsed.get(path);
  if (stamp !== undefined && known?.stamp === stamp) return known.config;
  const config = await readNetworkFile(path);
  if (stamp !== undefined) parsed.set(path, { stamp, config });
  return config;
}

async function readNetworkFile(path: string): Promise<NetworkConfig> {
  let data: Uint8Array;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new NetworkConfigError(path, `cannot read: ${errorMessage(err)}`);
  }
  return parseNetworkConfig(data, path);
}

/**
 * Directories listed by this process, with the stamp of the directory when listed: a create looks through
 * its configuration directory half a dozen times. A file added, removed or renamed since changes the
 * directory's modification time, and the directory is listed again (a file changed in place is caught by
 * its own stamp, loadNetworkFile's).
 */
const listed = new Map<string, { stamp: string; files: string[] }>();

/**
 * A directory modified this recently is not remembered: its time has the granularity of the kernel's
 * clock tick, so a second change within the same tick would leave the same stamp.
 */
const SETTLED_MS = 100n;

function directoryStamp(dir: string): { stamp: string; settled: boolean } | undefined {
  try {
    const st = statSync(dir, { bigint: true });
    const settled = BigInt(Date.now()) - st.mtimeNs / 1_000_000n > SETTLED_MS && BigInt(Date.now()) - st.ctimeNs / 1_000_000n > SETTLED_MS;
    return { stamp: `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}`, settled };
  } catch {
    // listed as before, to fail as before
    return undefined;
  }
}

/** Configuration files of one directory in libcni's order: lists first, then single configs, each sorted. */
async function configFiles(dir: string): Promise<string[]> {
  const stamp = directoryStamp(dir);
  const known = listed.get(dir);
  if (stamp !== undefined && known?.stamp === stamp.stamp) return known.files;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new NetworkConfigError(dir, `cannot read directory: ${errorMessage(err)}`);
  }
  names.sort();
  const withExt = (exts: string[]) => names.filter((n) => exts.some((e) => n.endsWith(e)));
  const files = [...withExt(LIST_EXTENSIONS), ...withExt(SINGLE_EXTENSIONS)].map((n) => join(dir, n));
  if (stamp?.settled) listed.set(dir, { stamp: stamp.stamp, files });
  else listed.delete(dir);
  return files;
}

type ScanEntry = { network: NetworkConfig } | { problem: NetworkConfigError };

/** Every configuration file of `dirs` in search order, parsed; unusable ones reported, not thrown. */
async function* scan(dirs: readonly string[]): AsyncGenerator<ScanEntry> {
  for (const dir of dirs) {
    let files: string[];
    try {
      files = await configFiles(dir);
    } catch (err) {
      if (!(err instanceof NetworkConfigError)) throw err;
      yield { problem: err };
      continue;
    }
    for (const file of files) {
      try {
        yield { network: await loadNetworkFile(file) };
      } catch (err) {
        if (!(err instanceof NetworkConfigError)) throw err;
        yield { problem: err };
      }
    }
  }
}

export interface NetworkListing {
  /** One per name; a name defined again later in the search order is shadowed, as in libcni. */
  networks: NetworkConfig[];
  /** Files that could not be used, so a listing can show them without failing on them. */
  problems: NetworkConfigError[];
}

export async function listNetworks(dirs: readonly string[]): Promise<NetworkListing> {
  const networks = new Map<string, NetworkConfig>();
  const problems: NetworkConfigError[] = [];
  for await (const entry of scan(dirs)) {
    if ("problem" in entry) problems.push(entry.problem);
    else if (!networks.has(entry.network.name)) networks.set(entry.network.name, entry.network);
  }
  return { networks: [...networks.values()], problems };
}

function notFound(nameOrId: string, dirs: readonly string[], problems: readonly NetworkConfigError[]): NetworkNotFoundError {
  const unusable = problems.length ? ` (unusable configuration files: ${problems.map((p) => p.message).join("; ")})` : "";
  const where = dirs.join(", ") || "(no config dirs)";
  // podman's words first (tests match them as they are), where ctrnet looked after them
  return new NetworkNotFoundError(nameOrId, `unable to find network with name or ID ${nameOrId}: network not found in ${where}${unusable}`);
}

/** The first configuration named `name`; unusable files are named in the error when it is not found. */
export async function findNetwork(name: string, dirs: readonly string[]): Promise<NetworkConfig> {
  validateName("network name", name);
  const problems: NetworkConfigError[] = [];
  for await (const entry of scan(dirs)) {
    if ("problem" in entry) problems.push(entry.problem);
    else if (entry.network.name === name) return entry.network;
  }
  throw notFound(name, dirs, problems);
}

/**
 * What a user names a network by, as podman: its name, else its id or a prefix of the id that only one
 * network's id starts with. Never for stored names: a network named by a record must be that one or none.
 */
export async function resolveNetwork(nameOrId: string, dirs: readonly string[]): Promise<NetworkConfig> {
  validateName("network name or ID", nameOrId);
  const { networks, problems } = await listNetworks(dirs);
  const named = networks.find((n) => n.name === nameOrId);
  if (named) return named;
  const matches = networks.filter((n) => networkId(n.name).startsWith(nameOrId));
  if (matches.length > 1) {
    throw new UsageError(`more than one result for network ID ${nameOrId}: it starts the ids of networks ${matches.map((n) => n.name).join(", ")}`);
  }
  if (matches.length === 1) return matches[0]!;
  throw notFound(nameOrId, dirs, problems);
}
