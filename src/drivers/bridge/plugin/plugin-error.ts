// Errors as the CNI spec has a plugin report them: JSON on stdout with a well-known code, a message and
// details, and a non-zero exit.
import { errorMessage, exitCodeOf } from "../../../errors.ts";

/** The spec's codes; 100 and up are ctrnet's own. */
export const CNI_CODE = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  io: 5,
  decoding: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  notAvailableContainersImpacted: 51,
  /** The request cannot be met on this host (an address or port taken, a range exhausted). */
  conflict: 100,
  /** Anything else that failed while the plugin worked. */
  failed: 101,
} as const;

export class CniPluginError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = "",
  ) {
    super(message);
    this.name = "CniPluginError";
  }
}

/** ctrnet's own errors keep their wording; bad input becomes a conflict with the host, the rest a failure. */
export function toPluginError(err: unknown): CniPluginError {
  if (err instanceof CniPluginError) return err;
  return new CniPluginError(exitCodeOf(err) === 2 ? CNI_CODE.conflict : CNI_CODE.failed, errorMessage(err));
}

export function errorOutput(err: CniPluginError, cniVersion: string): string {
  return `${JSON.stringify({ cniVersion, code: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) })}\n`;
}
