// The small JSON files ctrnet keeps beside its state database, read back through these schemas: anyone
// with the rights can edit them, and an older ctrnet may have written them.
import * as v from "valibot";

const Pid = v.pipe(v.number(), v.integer(), v.minValue(1));

/** A process known by pid and start time (field 22 of /proc/PID/stat). */
export const TrackedProcessFile = v.object({ pid: Pid, startTime: v.string() });

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** How often the supervisor started a helper again, when it last did (ms since the epoch), and why it last failed to. */
export const HelperRestartsFile = v.object({ count: Count, lastAt: v.optional(Count), error: v.optional(v.string()) });

/**
 * supervisors/USERNS.json: the helper supervisor of a user namespace, and the watchdog that starts it
 * again if it dies (lifecycle/supervisor.ts).
 */
export const SupervisorFile = v.object({ pid: Pid, startTime: v.string(), watchdog: v.optional(TrackedProcessFile) });

/**
 * dns/helper.json: the DNS server's process, and the user namespace (its inode) of the supervisor that
 * restarts it (absent from older ctrnets: then only the next command does).
 */
export const DnsProcessFile = v.object({ pid: Pid, startTime: v.string(), supervisedIn: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))) });

/**
 * helpers/ID.json: a container's helper processes; for a container whose helpers outlive the command that
 * made them, the user namespace (its inode) of the supervisor that restarts them, and their restarts.
 */
export const HelperPidsFile = v.object({
  slirp4netns: v.optional(TrackedProcessFile),
  pasta: v.optional(TrackedProcessFile),
  portForwarder: v.optional(TrackedProcessFile),
  supervisedIn: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  holdsPorts: v.optional(v.boolean()),
  restarts: v.optional(
    v.object({ slirp4netns: v.optional(HelperRestartsFile), pasta: v.optional(HelperRestartsFile), portForwarder: v.optional(HelperRestartsFile) }),
  ),
});
export type HelperPidsFile = v.InferOutput<typeof HelperPidsFile>;

/** processes/ID: the process a container's netns was adopted from (startTime absent from older ctrnets). */
export const AdoptedProcessFile = v.object({ pid: Pid, netnsInode: v.pipe(v.number(), v.integer(), v.minValue(0)), startTime: v.optional(v.string()) });

/** rootless-netns/state.json once its way out is ready. */
export const RootlessNetnsStateFile = v.object({
  /** The way out's process, slirp4netns or pasta (program). */
  slirp4netns: TrackedProcessFile,
  program: v.optional(v.picklist(["slirp4netns", "pasta"])),
  ip: v.string(),
  prefixLength: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(32)),
  gateway: v.string(),
  dns: v.string(),
});

/** rootless-netns/state.json as first written, the moment the way out's process exists. */
export const WayOutProcessFile = v.object({ slirp4netns: TrackedProcessFile, program: v.optional(v.picklist(["slirp4netns", "pasta"])) });

/** Parsed by schema, or undefined for a file that is missing, no JSON, or not of the schema. */
export function readJsonFile<T>(read: () => string, schema: v.GenericSchema<unknown, T>): T | undefined {
  try {
    const parsed = v.safeParse(schema, JSON.parse(read()));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}
