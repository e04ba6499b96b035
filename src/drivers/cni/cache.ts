// The result cache, file for file what libcni writes: `<cacheDir>/results/<network>-<containerId>-<ifName>`
// holding a `cniCacheV1` object. DEL, CHECK and GC need the ADD result long after ADD returned.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "../../../ffi/fs.ts";
import { join } from "node:path";
import * as v from "valibot";
import { CtrnetError, errorMessage } from "../../errors.ts";
import { describeIssues } from "../../schema/issues.ts";
import { CACHE_KIND, cacheFileSchema } from "../../schema/cni-cache.ts";
import type { CapabilityArgs } from "./plugin-config.ts";
import type { WireResult } from "./result.ts";
import { fileStamp } from "./file-stamp.ts";

export interface CacheKey {
  network: string;
  containerId: string;
  ifName: string;
}

export interface CachedAttachment extends CacheKey {
  /** The ctrnet that made it (see CniContext.owner); absent for another runtime's attachment. */
  owner?: string;
  netnsPath?: string;
  cniArgs: [string, string][];
  capabilityArgs: Record<string, unknown>;
  /** The network configuration the attachment was made with (libcni stores the list's bytes). */
  config?: Uint8Array;
  /** The final ADD result in wire form, as stored. */
  result?: WireResult;
  file: string;
}

export interface CacheEntry extends CacheKey {
  owner: string;
  netnsPath: string;
  cniArgs: readonly (readonly [string, string])[];
  capabilityArgs: CapabilityArgs;
  config: Uint8Array;
  result: WireResult;
}

function resultsDir(cacheDir: string): string {
  return join(cacheDir, "results");
}

export function cacheFilePath(cacheDir: string, key: CacheKey): string {
  return join(resultsDir(cacheDir), `${key.network}-${key.containerId}-${key.ifName}`);
}

/** libcni's field order, and its `omitempty`: no empty netns, args or capability map. */
export function encodeCacheFile(entry: CacheEntry): string {
  const file: Record<string, unknown> = {
    kind: CACHE_KIND,
    containerId: entry.containerId,
    config: Buffer.from(entry.config).toString("base64"),
    ifName: entry.ifName,
    networkName: entry.network,
  };
  if (entry.netnsPath) file.netns = entry.netnsPath;
  if (entry.cniArgs.length) file.cniArgs = entry.cniArgs;
  if (Object.keys(entry.capabilityArgs).length) file.capabilityArgs = entry.capabilityArgs;
  file.result = entry.result;
  file.ctrnet = { owner: entry.owner };
  return JSON.stringify(file);
}

export class CacheFileError extends CtrnetError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`CNI cache file ${file}: ${detail}`);
    this.name = "CacheFileError";
  }
}

export function decodeCacheFile(text: string, file: string): CachedAttachment {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CacheFileError(file, `malformed JSON: ${errorMessage(err)}`);
  }
  const parsed = v.safeParse(cacheFileSchema(), json);
  if (!parsed.success) throw new CacheFileError(file, describeIssues(parsed.issues));
  const c = parsed.output;
  return {
    network: c.networkName,
    containerId: c.containerId,
    ifName: c.ifName,
    ...(c.ctrnet ? { owner: c.ctrnet.owner } : {}),
    ...(c.netns ? { netnsPath: c.netns } : {}),
    cniArgs: c.cniArgs ?? [],
    capabilityArgs: c.capabilityArgs ?? {},
    ...(c.config ? { config: Buffer.from(c.config, "base64") } : {}),
    ...(c.result ? { result: c.result } : {}),
    file,
  };
}

/**
 * Temp file + rename, so a reader (or a killed writer) never sees half a file. Not fsynced: what it
 * describes (a netns, a veth, nftables elements) does not outlive a crash of the machine either, a file
 * that comes back empty from one is skipped as unusable (listCache, delAttachment), and libcni writes its
 * own cache with neither a rename nor a sync; on this machine's ext4 the sync cost every attach about
 * 1.7 ms (up to 14 ms), /var/lib/cni being on disk. Blocking calls: each of fs/promises' goes through
 * Bun's thread pool and back, which on a busy machine waits for a CPU each time.
 */
export async function writeCache(cacheDir: string, entry: CacheEntry): Promise<string> {
  const dir = resultsDir(cacheDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = cacheFilePath(cacheDir, entry);
  const temp = join(dir, `.${entry.network}-${entry.containerId}-${entry.ifName}.${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}.tmp`);
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeFileSync(fd, encodeCacheFile(entry));
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return path;
}

/**
 * Files decoded by this process, with the identity and times of the file they came from: a teardown reads
 * its attachment's file several times (the configuration to DEL with, the previous result), and decoding
 * it again costs more than the stat. A file changed, replaced or removed since is read again. What
 * readCache returns is shared between its callers, who only read it. The last few files only: a
 * long-running process (the supervisor) must not keep one for every attachment it ever read.
 */
const decoded = new Map<string, { stamp: string; entry: CachedAttachment }>();
const DECODED_FILES = 16;

/** undefined when there is no cache file; a CacheFileError when there is one that can't be used. */
export async function readCache(cacheDir: string, key: CacheKey): Promise<CachedAttachment | undefined> {
  const file = cacheFilePath(cacheDir, key);
  const stamp = fileStamp(file);
  const known = decoded.get(file);
  if (stamp !== undefined && known?.stamp === stamp) return known.entry;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CacheFileError(file, errorMessage(err));
  }
  const entry = decodeCacheFile(text, file);
  if (stamp !== undefined) {
    decoded.delete(file);
    decoded.set(file, { stamp, entry });
    if (decoded.size > DECODED_FILES) decoded.delete(decoded.keys().next().value!);
  }
  return entry;
}

export async function removeCache(cacheDir: string, key: CacheKey): Promise<void> {
  rmSync(cacheFilePath(cacheDir, key), { force: true });
}

/** Every readable cache file, optionally of one network or container; unreadable files are skipped, as libcni does. */
export async function listCache(cacheDir: string, filter: { network?: string; containerId?: string } = {}): Promise<CachedAttachment[]> {
  const dir = resultsDir(cacheDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CacheFileError(dir, errorMessage(err));
  }
  const out: CachedAttachment[] = [];
  for (const name of names.sort()) {
    if (name.startsWith(".")) continue;
    try {
      const entry = decodeCacheFile(readFileSync(join(dir, name), "utf8"), join(dir, name));
      if (filter.network !== undefined && entry.network !== filter.network) continue;
      if (filter.containerId !== undefined && entry.containerId !== filter.containerId) continue;
      out.push(entry);
    } catch {
      // another tool's file, a legacy result, or one being replaced: not an attachment we can act on
    }
  }
  return out;
}

/**
 * listCache's blocking twin, unfiltered, for code that cannot await: the refill of a state database that
 * replaces a damaged one runs inside opening it.
 */
export function listCacheSync(cacheDir: string): CachedAttachment[] {
  const dir = resultsDir(cacheDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.sort().flatMap((name) => {
    if (name.startsWith(".")) return [];
    try {
      return [decodeCacheFile(readFileSync(join(dir, name), "utf8"), join(dir, name))];
    } catch {
      return [];
    }
  });
}
