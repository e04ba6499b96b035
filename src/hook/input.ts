// The two inputs of every hook call, checked at the boundary: the OCI state from stdin and the bundle's
// config.json. Both come from outside ctrnet, so a problem in either is bad input (exit 2).
import { readFileSync } from "../../ffi/fs.ts";
import { isTerminal } from "../../ffi/libc.ts";
import { join } from "node:path";
import * as v from "valibot";
import { UsageError } from "../errors.ts";
import { describeIssues } from "../schema/issues.ts";
import { readStdin } from "./stdin.ts";
import { BundleConfig, OciState } from "../schema/oci.ts";

/** A state with every annotation a container could carry fits many times over; anything bigger is not a state. */
export const MAX_STATE_BYTES = 1 << 20;

function parseJson<T>(schema: v.GenericSchema<unknown, T>, text: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid ${what}: not JSON (${(err as Error).message})`);
  }
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) throw new UsageError(`invalid ${what}: ${describeIssues(parsed.issues)}`);
  return parsed.output;
}

export function parseOciState(text: string): OciState {
  return parseJson(OciState, text, "OCI state on stdin");
}

export function parseBundleConfig(text: string, path: string): BundleConfig {
  return parseJson(BundleConfig, text, path);
}

export function readBundleConfig(bundle: string): BundleConfig {
  const path = join(bundle, "config.json");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read the bundle's ${path}: ${(err as Error).message}`);
  }
  return parseBundleConfig(text, path);
}

/**
 * All of stdin, up to MAX_STATE_BYTES. A terminal on stdin means someone ran the hook by hand, and
 * waiting for input that never comes would look like a hang.
 */
export async function readStateText(stdin: { isTTY?: boolean } = { isTTY: isTerminal(0) }): Promise<string> {
  if (stdin.isTTY) throw new UsageError("ctrnet hook reads the OCI state JSON on stdin, as a runtime gives it; none was piped in");
  const text = await readStdin(MAX_STATE_BYTES);
  if (text === null) throw new UsageError(`invalid OCI state on stdin: larger than ${MAX_STATE_BYTES} bytes`);
  return text.toString("utf8");
}
