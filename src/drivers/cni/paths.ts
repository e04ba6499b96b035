// Default locations. Root uses the system-wide places every CNI runtime shares; a rootless user gets
// per-user ones. Every one of them is overridable through the runtime's options.
import { readFileSync } from "../../../ffi/fs.ts";
import { join } from "node:path";
import { CtrnetError } from "../../errors.ts";
import { hostUid, passwdEntry } from "../../identity.ts";

export const DEFAULT_PLUGIN_DIRS: readonly string[] = ["/usr/lib/cni", "/opt/cni/bin"];

type Env = Readonly<Record<string, string | undefined>>;

export function defaultConfigDirs(env: Env = process.env, uid = hostUid()): string[] {
  if (uid === 0) return ["/etc/cni/net.d"];
  return [join(env.XDG_CONFIG_HOME || join(env.HOME || passwdHome(uid), ".config"), "cni", "net.d")];
}

/**
 * Root: libcni's `/var/lib/cni`, so podman and CRI-O tools see ctrnet's attachments. Rootless:
 * `$XDG_RUNTIME_DIR/ctrnet/cni`, a per-user tmpfs next to ctrnet's other runtime state; the netns files
 * the results describe live on tmpfs too, so after a reboot neither exists and no stale result survives.
 */
export function defaultCacheDir(env: Env = process.env, uid = hostUid()): string {
  if (uid === 0) return "/var/lib/cni";
  return join(env.XDG_RUNTIME_DIR || `/run/user/${uid}`, "ctrnet", "cni");
}

/**
 * The home directory /etc/passwd gives uid, where $HOME is unset: as podman's homedir.Get falls back to the
 * user's entry. Not node:os's homedir(), whose import cost every create about 0.35 ms.
 */
export function passwdHome(uid: number, passwd = readPasswd()): string {
  const home = passwdEntry(passwd, uid)?.home;
  if (home) return home;
  throw new CtrnetError(`no home directory: $HOME is unset and /etc/passwd has no entry for uid ${uid}`);
}

function readPasswd(): string {
  try {
    return readFileSync("/etc/passwd", "utf8");
  } catch {
    return "";
  }
}
