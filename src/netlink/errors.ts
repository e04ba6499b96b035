import { errnoDescription, errnoName } from "../../ffi/errno.ts";
import { CtrnetError } from "../errors.ts";

/**
 * The kernel refused a request (or did not answer it). `operation` names what was asked and on what,
 * e.g. `add link "veth0"`; `kernelMessage` is the extended-ack text when the kernel sent one.
 */
export class NetlinkError extends CtrnetError {
  readonly code: string;
  constructor(
    readonly operation: string,
    readonly errno: number,
    readonly kernelMessage?: string,
  ) {
    super(`netlink: ${operation}: ${errnoDescription(errno)} (${errnoName(errno)})${kernelMessage ? `: ${kernelMessage}` : ""}`);
    this.name = "NetlinkError";
    this.code = errnoName(errno);
  }
}

const EINTR = 4;

/**
 * The kernel flagged a dump with NLM_F_DUMP_INTR: the table changed while it was being read, so the
 * listing may be inconsistent. Running the same dump again is safe.
 */
export class NetlinkDumpInterruptedError extends NetlinkError {
  readonly retryable = true;
  constructor(operation: string) {
    super(operation, EINTR);
    this.name = "NetlinkDumpInterruptedError";
    this.message = `netlink: ${operation}: the kernel's table changed during the dump (retry)`;
  }
}

/** A reply that does not parse: a kernel or codec bug, never a user error. */
export class NetlinkMalformedError extends CtrnetError {
  constructor(what: string) {
    super(`netlink: malformed message: ${what}`);
    this.name = "NetlinkMalformedError";
  }
}

export function isNetlinkError(err: unknown, ...codes: string[]): err is NetlinkError {
  return err instanceof NetlinkError && (codes.length === 0 || codes.includes(err.code));
}
