// The lifecycle's side of `ctrnet _dns`: write what the server should serve (atomically: a reader sees the old
// file or the new one, never half), tell a running server to re-read it, and read back what it has applied.
import { readdirSync, readFileSync, rmSync } from "../../../ffi/fs.ts";
import { dirname, join } from "node:path";
import * as v from "valibot";
import { writeFileAtomic } from "../../state/atomic-file.ts";
import { CtrnetError, UsageError } from "../../errors.ts";
import { type DnsConfig, type DnsConfigInput, type DnsMember, type DnsMemberInput, dnsSchemas, type DnsStatus } from "../../schema/dns.ts";
import { describeIssues } from "../../schema/issues.ts";

/** Where the server reports what it applied: beside its configuration. */
export const statusPathOf = (configPath: string): string => `${configPath}.status`;

function readJson(path: string): unknown | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path}: not JSON: ${(err as Error).message}`);
  }
}

/** The configuration at path; null when there is none. Bad content is a UsageError naming the field. */
export function readDnsConfig(path: string): DnsConfig | null {
  const json = readJson(path);
  if (json === undefined) return null;
  const parsed = v.safeParse(dnsSchemas().DnsConfig, json);
  if (!parsed.success) throw new UsageError(`${path}: ${describeIssues(parsed.issues)}`);
  return parsed.output;
}

/** What the server at this configuration path has applied, or null when no server has written a status. */
export function readDnsStatus(configPath: string): DnsStatus | null {
  const json = readJson(statusPathOf(configPath));
  if (json === undefined) return null;
  const parsed = v.safeParse(dnsSchemas().DnsStatus, json);
  if (!parsed.success) throw new CtrnetError(`${statusPathOf(configPath)}: ${describeIssues(parsed.issues)}`);
  return parsed.output;
}


/** The file as JSON without the schema's check (ctrnet wrote it), or undefined when missing or damaged. */
function rawConfig(path: string): Record<string, unknown> | undefined {
  try {
    const json = readJson(path);
    return typeof json === "object" && json !== null ? (json as Record<string, unknown>) : undefined;
  } catch (err) {
    if (err instanceof UsageError) return undefined;
    throw err;
  }
}

/** A damaged file is about to be replaced: it counts as generation 0, the status file still says what ran. */
function lastGeneration(path: string): number {
  const generation = rawConfig(path)?.generation;
  return typeof generation === "number" && Number.isInteger(generation) && generation >= 0 ? generation : 0;
}

/** The file already says this (its generation and changed members aside): writing it again and reloading would change nothing. */
export function dnsConfigUnchanged(path: string, config: Omit<DnsConfigInput, "generation" | "changed">): boolean {
  const current = rawConfig(path);
  if (!current) return false;
  const { generation: _, changed: __, ...rest } = current;
  return Bun.deepEquals(rest, config);
}

/** The member files of the configuration at configPath: a directory beside it. */
export const membersDirOf = (configPath: string): string => join(dirname(configPath), "members");
const memberPath = (configPath: string, key: string): string => join(membersDirOf(configPath), `${key}.json`);

/** The member key of a container: its id, or for an id too long for a file name, a digest of it. */
export function dnsMemberKey(id: string): string {
  return id.length <= 128 ? id : `h-${new Bun.CryptoHasher("sha256").update(id).digest("hex")}`;
}

/**
 * Writes (or, with no member, removes) the member file `key` (dnsMemberKey); false when it already said
 * that. Checked by the schema the server reads it with.
 */
export function writeDnsMember(configPath: string, key: string, member: DnsMemberInput | undefined): boolean {
  const keyOk = v.safeParse(dnsSchemas().MemberKey, key);
  if (!keyOk.success) throw new UsageError(`DNS member ${JSON.stringify(key)}: ${describeIssues(keyOk.issues)}`);
  const path = memberPath(configPath, key);
  let before: string | undefined;
  try {
    before = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (!member) {
    if (before === undefined) return false;
    rmSync(path, { force: true });
    return true;
  }
  const parsed = v.safeParse(dnsSchemas().DnsMember, member);
  if (!parsed.success) throw new UsageError(`DNS member ${key}: ${describeIssues(parsed.issues)}`);
  const text = `${JSON.stringify(parsed.output)}\n`;
  if (text === before) return false;
  writeFileAtomic(path, text);
  return true;
}

/** The keys of the member files there are. */
export function dnsMemberKeys(configPath: string): string[] {
  let names: string[];
  try {
    names = readdirSync(membersDirOf(configPath));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -".json".length));
}

/** Member `key`'s file, undefined when there is none. Bad content is a UsageError naming the field. */
export function readDnsMember(configPath: string, key: string): DnsMember | undefined {
  const path = memberPath(configPath, key);
  const json = readJson(path);
  if (json === undefined) return undefined;
  const parsed = v.safeParse(dnsSchemas().DnsMember, json);
  if (!parsed.success) throw new UsageError(`${path}: ${describeIssues(parsed.issues)}`);
  return parsed.output;
}

/**
 * Writes the configuration with the next generation number and returns that number. The input is checked by
 * the same schema the server reads with, so nothing the server would refuse reaches the disk.
 */
export function writeDnsConfig(path: string, config: Omit<DnsConfigInput, "generation">): number {
  const generation = Math.max(lastGeneration(path), readDnsStatus(path)?.generation ?? 0) + 1;
  const parsed = v.safeParse(dnsSchemas().DnsConfig, { ...config, generation });
  if (!parsed.success) throw new UsageError(`DNS configuration: ${describeIssues(parsed.issues)}`);
  writeFileAtomic(path, `${JSON.stringify(parsed.output, null, 2)}\n`);
  return generation;
}

/** Until the server reports this generation (or a later one) applied; its status, or null after timeoutMs. */
export async function waitForDnsStatus(configPath: string, generation: number, timeoutMs = 5000): Promise<DnsStatus | null> {
  const deadline = performance.now() + timeoutMs;
  // a reload takes about a millisecond: look every millisecond for the first 20, then every 5
  const start = performance.now();
  for (;;) {
    const status = readDnsStatus(configPath);
    if (status && status.generation >= generation) return status;
    const now = performance.now();
    if (now >= deadline) return null;
    await Bun.sleep(now - start < 20 ? 1 : 5);
  }
}

/**
 * For create, rm, connect, disconnect and alias changes: writes the new configuration, tells the server at pid
 * (SIGHUP) and waits until it serves it, so the next query sees the change. Returns what it applied.
 */
export async function updateDnsServer(configPath: string, pid: number, config: Omit<DnsConfigInput, "generation">): Promise<DnsStatus> {
  const generation = writeDnsConfig(configPath, config);
  try {
    process.kill(pid, "SIGHUP");
  } catch (err) {
    throw new CtrnetError(`DNS server (pid ${pid}) is not running: ${(err as Error).message}`);
  }
  const status = await waitForDnsStatus(configPath, generation);
  if (!status) throw new CtrnetError(`DNS server (pid ${pid}) did not apply ${configPath} within 5 s`);
  return status;
}
