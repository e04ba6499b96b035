// libcni's result cache file (`cachedInfo` in libcni/api.go), so podman, CRI-O and ctrnet can read each
// other's attachments. `config` is Go's []byte, which encoding/json writes as base64. The cache directory is
// shared by every runtime on the host: `ctrnet.owner` marks the attachments one ctrnet made, the only ones
// its gc may collect.
import * as v from "valibot";
import { lazySchemas } from "./lazy.ts";

export const CACHE_KIND = "cniCacheV1";

/** Built at the first use (lazy.ts): a native create reads no cache file. */
export const cacheFileSchema = lazySchemas(() =>
  v.looseObject({
    kind: v.literal(CACHE_KIND),
    containerId: v.string(),
    config: v.nullish(v.pipe(v.string(), v.base64("expected base64"))),
    ifName: v.string(),
    networkName: v.string(),
    netns: v.optional(v.string()),
    cniArgs: v.nullish(v.array(v.tuple([v.string(), v.string()]))),
    capabilityArgs: v.nullish(v.record(v.string(), v.unknown())),
    result: v.nullish(v.record(v.string(), v.unknown())),
    // ctrnet's own addition, which libcni and other runtimes ignore: who made the attachment.
    ctrnet: v.optional(v.looseObject({ owner: v.string() })),
  }),
);
export type CacheFile = v.InferOutput<ReturnType<typeof cacheFileSchema>>;
