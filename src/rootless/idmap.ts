// The id maps of the rootless user namespace: the user becomes root inside, and the ranges /etc/subuid
// and /etc/subgid grant it become uids and gids 1… (through the setuid helpers newuidmap and newgidmap,
// the only way an unprivileged process may map ids other than its own).
import { readFileSync } from "../../ffi/fs.ts";
import { type IdMapping, newIdMap, writeIdMaps } from "../../ffi/launcher.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { passwdEntry } from "../identity.ts";

export interface SubIdRange {
  start: number;
  count: number;
}

/** The ranges a subordinate id file (`name-or-id:start:count` lines) grants a user, in file order. */
export function subIdRanges(text: string, user: string | undefined, id: number): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const line of text.split("\n")) {
    const [owner, start, count, ...rest] = line.trim().split(":");
    if (rest.length || owner === undefined || start === undefined || count === undefined) continue;
    if (owner !== user && owner !== String(id)) continue;
    if (!/^\d+$/.test(start) || !/^[1-9]\d*$/.test(count)) continue;
    out.push({ start: Number(start), count: Number(count) });
  }
  return out;
}

/** The user's own id as 0, then each range, one after another from 1. */
export function namespaceMappings(id: number, ranges: readonly SubIdRange[]): IdMapping[] {
  const out: IdMapping[] = [{ inside: 0, outside: id, count: 1 }];
  let next = 1;
  for (const r of ranges) {
    out.push({ inside: next, outside: r.start, count: r.count });
    next += r.count;
  }
  return out;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/**
 * The name /etc/passwd gives uid, as newuidmap looks it up. Not os.userInfo(): Bun's takes $USER,
 * which the caller sets as it likes.
 */
export function passwdName(passwd: string, uid: number): string | undefined {
  // no entry: subordinate ids can still be granted by number
  return passwdEntry(passwd, uid)?.name;
}

const HELPER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface Ranged {
  helper: string;
  ranges: SubIdRange[];
}

async function mapIds(pid: number, kind: "uid" | "gid", id: number, ranged: Ranged | undefined): Promise<void> {
  if (ranged) {
    try {
      await newIdMap(ranged.helper, pid, namespaceMappings(id, ranged.ranges));
      return;
    } catch (err) {
      log.warn(`${errorMessage(err)}; mapping only ${kind} ${id} into the rootless namespace`);
    }
  }
  const single = [{ inside: 0, outside: id, count: 1 }];
  // An unprivileged process may write gid_map only after giving up setgroups(2) in the namespace.
  writeIdMaps(pid, kind === "uid" ? { uidMap: single } : { setgroups: "deny", gidMap: single });
}

/**
 * Writes the uid and gid maps of the user namespace of a held child of this (unprivileged) process:
 * ranges when both files grant some and both helpers exist, the user alone otherwise.
 */
export async function writeNamespaceMaps(pid: number): Promise<void> {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  const name = passwdName(readOrEmpty("/etc/passwd"), uid);
  const uids = subIdRanges(readOrEmpty("/etc/subuid"), name, uid);
  const gids = subIdRanges(readOrEmpty("/etc/subgid"), name, uid);
  const newuidmap = Bun.which("newuidmap", { PATH: `${process.env.PATH ?? ""}:${HELPER_PATH}` });
  const newgidmap = Bun.which("newgidmap", { PATH: `${process.env.PATH ?? ""}:${HELPER_PATH}` });
  const ranged =
    newuidmap && newgidmap && uids.length > 0 && gids.length > 0
      ? { uid: { helper: newuidmap, ranges: uids }, gid: { helper: newgidmap, ranges: gids } }
      : undefined;
  if (!ranged) {
    log.debug(`no subordinate ids for ${name ?? uid} in /etc/subuid and /etc/subgid, or no newuidmap/newgidmap: mapping the user alone`);
  }
  await mapIds(pid, "uid", uid, ranged?.uid);
  await mapIds(pid, "gid", gid, ranged?.gid);
}
