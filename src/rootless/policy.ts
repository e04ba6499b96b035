// Which invocations move into the rootless namespace before their command runs (see reexec.ts).
import { inUserNamespace } from "../identity.ts";

/**
 * Commands that run where they start: they touch no namespace (doctor looks at the user as the host sees
 * it), are children of a ctrnet already inside, or (`hook`) run where an OCI runtime put them: a rootless runtime's container netns belongs to the
 * runtime's user namespace, out of reach from ctrnet's own.
 */
const STAY_OUTSIDE = new Set(["version", "help", "completion", "doctor", "hook", "_hook-wait", "_pause", "_rootlessport", "_supervise"]);

/**
 * A user other than root, outside any user namespace, cannot create or enter network namespaces, mount,
 * or own the files ctrnet makes; inside a user namespace where it is root, it can.
 */
export function needsRootlessNamespace(command: string): boolean {
  return !STAY_OUTSIDE.has(command) && (process.geteuid?.() ?? 0) !== 0 && !inUserNamespace();
}
