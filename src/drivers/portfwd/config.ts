// Reading and checking the forwarder's JSON configuration, the same way on both ends of the stdin pipe.
import * as v from "valibot";
import { UsageError } from "../../errors.ts";
import { describeIssues } from "../../schema/issues.ts";
import { PortForwarderConfig, type PortForwarderConfigInput } from "../../schema/portfwd.ts";

export function validateConfig(input: unknown): PortForwarderConfig {
  const parsed = v.safeParse(PortForwarderConfig, input);
  if (!parsed.success) throw new UsageError(`invalid port forwarder config: ${describeIssues(parsed.issues)}`);
  return parsed.output;
}

export function parseConfig(text: string): PortForwarderConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid port forwarder config: not JSON (${(err as Error).message})`);
  }
  return validateConfig(json);
}

export type { PortForwarderConfigInput };
