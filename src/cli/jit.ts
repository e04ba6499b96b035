// The JIT policy of this process: JavaScriptCore's tier-up thresholds times a scale (Bun.unsafe.setJITPolicy).
// The compiled binary starts interpreter-only for a command's few tens of ms (build.ts jitPolicy); a command
// that turns out to loop over many containers or records lowers it, so that its hot functions are compiled.
// Only ever lowered: a daemon's normal policy (1) is never raised again.
declare const CTRNET_JIT_POLICY: number | undefined;

/** What the process started with: build.ts's value in the binary, the normal policy (1) under `bun`. */
let current = typeof CTRNET_JIT_POLICY === "number" ? CTRNET_JIT_POLICY : 1;

export function lowerJitPolicy(scale: number): void {
  if (scale >= current) return;
  Bun.unsafe.setJITPolicy(scale);
  current = scale;
}

/** For a loop over many containers or records: the JIT pays back there. */
export const LOOPING_POLICY = 8;
