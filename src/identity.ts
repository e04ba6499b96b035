// Who this process is on the host. Inside ctrnet's rootless user namespace the euid is 0, yet the user is
// not root: the defaults (paths, rootless drivers) must follow the uid the namespace maps to, not the euid.
import { readFileSync } from "../ffi/fs.ts";

interface Identity {
  hostUid: number;
  inUserNamespace: boolean;
}

/** The initial user namespace maps every id to itself; any other map means a user namespace. */
const INITIAL_MAP = "0 0 4294967295";

/** The id `id` stands for in the parent user namespace, given the text of /proc/PID/{uid,gid}_map. */
export function parentId(mapText: string, id: number): number | undefined {
  for (const line of mapText.split("\n")) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || outside === undefined || count === undefined || Number.isNaN(count)) continue;
    if (id >= inside && id < inside + count) return outside + (id - inside);
  }
  return undefined;
}

export function isInitialUserNamespace(mapText: string): boolean {
  return mapText.trim().split(/\s+/).join(" ") === INITIAL_MAP;
}

let identity: Identity | undefined;

// Read once: a process never changes user namespace after it starts (Bun cannot setns into one).
function current(): Identity {
  if (identity) return identity;
  const euid = process.geteuid?.() ?? 0;
  let map: string;
  try {
    map = readFileSync("/proc/self/uid_map", "utf8");
  } catch {
    // A kernel without user namespaces has no uid_map.
    map = INITIAL_MAP;
  }
  const inUserNamespace = !isInitialUserNamespace(map);
  identity = { hostUid: inUserNamespace ? (parentId(map, euid) ?? euid) : euid, inUserNamespace };
  return identity;
}

/** The uid on the host: the euid outside a user namespace, the uid it maps to inside one. */
export function hostUid(): number {
  return current().hostUid;
}

export function inUserNamespace(): boolean {
  return current().inUserNamespace;
}

/** True for a user other than root, whether or not inside ctrnet's rootless namespace. */
export function isRootless(): boolean {
  return hostUid() !== 0;
}

/** The entry /etc/passwd (its text) has for uid: the user's name and home directory. */
export function passwdEntry(passwd: string, uid: number): { name: string; home: string } | undefined {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields[0] && fields[2] === String(uid)) return { name: fields[0], home: fields[5] ?? "" };
  }
  return undefined;
}
