// Where ctrnet's runtime state lives, in a module of its own: every command asks before it opens anything
// (the CNI plugin, where Bun's compiler headers go), and the database module behind it costs a load.
import { join } from "node:path";
import { hostUid } from "../identity.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface StateLocation {
  /** The runtime directory; defaults to $CTRNET_ROOT, then /run/ctrnet (root) or $XDG_RUNTIME_DIR/ctrnet. */
  root?: string;
  env?: Env;
  uid?: number;
}

/**
 * Runtime state lives on tmpfs (/run, $XDG_RUNTIME_DIR), so a reboot, which also drops every netns and
 * helper process, drops the records that described them.
 */
export function runtimeDir({ root, env = process.env, uid = hostUid() }: StateLocation = {}): string {
  if (root) return root;
  if (env.CTRNET_ROOT) return env.CTRNET_ROOT;
  if (uid === 0) return "/run/ctrnet";
  return join(env.XDG_RUNTIME_DIR || `/run/user/${uid}`, "ctrnet");
}
