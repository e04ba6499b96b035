// ctrnet as the bench drives it: a copy of the compiled binary taken when the run starts (so a rebuild of
// dist/ctrnet by someone else's test run can't change it halfway), every path of it under one directory of the
// bench's private /run, so sections can't see each other's containers and nothing outside the sandbox is touched.
import { copyFileSync, mkdirSync } from "node:fs";
import { BINARY } from "../test/helpers/binary.ts";
import { timed, type Timed } from "./processes.ts";
import { WORK } from "./sandbox.ts";

export const CTRNET = `${WORK}/ctrnet`;

/** CTRNET_BENCH_BINARY: another build to measure (an older commit's, for a before/after in one session). */
export function snapshotBinary(): void {
  mkdirSync(WORK, { recursive: true });
  copyFileSync(process.env.CTRNET_BENCH_BINARY ?? BINARY, CTRNET);
}

export interface CtrnetHome {
  dir: string;
  binary: string;
  env: Record<string, string | undefined>;
  run(args: readonly string[], opts?: { stdin?: Uint8Array }): Timed;
}

export function ctrnetHome(dir: string): CtrnetHome {
  mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    CTRNET_ROOT: `${dir}/root`,
    CTRNET_NETNS_DIR: `${dir}/netns`,
    CTRNET_CNI_CONFIG_DIR: `${dir}/net.d`,
    CTRNET_CNI_CACHE_DIR: `${dir}/cni-cache`,
  };
  return { dir, binary: CTRNET, env, run: (args, opts) => timed([CTRNET, ...args], { env, stdin: opts?.stdin }) };
}
