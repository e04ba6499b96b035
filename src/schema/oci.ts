// What an OCI runtime hands a hook: the container's state on stdin (runtime-spec runtime.md, "State"),
// and the bundle's config.json, of which the hook reads only the root, the hostname, the namespaces and the
// createContainer hooks.
// Both are objects (not strict ones): newer runtime-spec versions add fields a hook can ignore.
import * as v from "valibot";

/** runtime-spec's statuses, and `paused`, which runc also reports. */
export const OCI_STATUSES = ["creating", "created", "running", "stopped", "paused"] as const;

export const OciState = v.object({
  ociVersion: v.pipe(v.string(), v.nonEmpty("expected a version, e.g. 1.0.2")),
  id: v.pipe(v.string(), v.nonEmpty("expected the container id")),
  status: v.picklist(OCI_STATUSES),
  /** Required by the spec only while the container is created or running; runtimes send 0 once it is gone. */
  pid: v.optional(v.pipe(v.number(), v.integer("expected a process id"), v.minValue(0, "expected a process id"))),
  bundle: v.pipe(v.string(), v.startsWith("/", "expected an absolute path")),
  annotations: v.optional(v.record(v.string(), v.string()), {}),
});
export type OciState = v.InferOutput<typeof OciState>;

export const OciNamespace = v.object({
  type: v.string(),
  /** An existing namespace to join; absent or "" means a new one. */
  path: v.optional(v.string()),
});
export type OciNamespace = v.InferOutput<typeof OciNamespace>;

export const BundleConfig = v.object({
  root: v.optional(v.object({ path: v.pipe(v.string(), v.nonEmpty("expected the root filesystem's path")) })),
  hostname: v.optional(v.string()),
  linux: v.optional(v.object({ namespaces: v.optional(v.array(OciNamespace)) })),
  /** Read only to see whether ctrnet's createContainer hook is there (see hook/rendezvous.ts). */
  hooks: v.optional(
    v.object({ createContainer: v.optional(v.array(v.object({ path: v.string(), args: v.optional(v.array(v.string())) }))) }),
  ),
});
export type BundleConfig = v.InferOutput<typeof BundleConfig>;

/** One entry of a config.json's `hooks.<stage>` list (runtime-spec config.md, "POSIX-platform Hooks"). */
export interface OciHook {
  path: string;
  args: string[];
  env?: string[];
  timeout?: number;
}
