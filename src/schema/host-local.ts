// The `ipam` section of a network configuration that names CNI's host-local plugin, as host-local reads
// it (plugins/ipam/host-local/backend/allocator/config.go). Only the shape is checked here; what the
// addresses mean (inside the subnet, host bits, overlaps) is the allocator's to judge.
import * as v from "valibot";

/** Go's JSON decoder leaves a field unset for null, so host-local takes null where a value may be absent. */
const OptionalText = v.nullish(v.string());

export const HostLocalRange = v.looseObject({
  subnet: v.string(),
  rangeStart: OptionalText,
  rangeEnd: OptionalText,
  gateway: OptionalText,
});
export type HostLocalRange = v.InferOutput<typeof HostLocalRange>;

/** Ranges of one address family; an attachment gets one address from each set. */
export const HostLocalRangeSet = v.array(HostLocalRange);
export type HostLocalRangeSet = v.InferOutput<typeof HostLocalRangeSet>;

export const HostLocalIpam = v.looseObject({
  type: v.literal("host-local"),
  ranges: v.nullish(v.array(HostLocalRangeSet)),
  // The older spelling: one range's keys directly in the section, used before `ranges`.
  subnet: OptionalText,
  rangeStart: OptionalText,
  rangeEnd: OptionalText,
  gateway: OptionalText,
  dataDir: OptionalText,
});
export type HostLocalIpam = v.InferOutput<typeof HostLocalIpam>;
