/**
 * Errors that carry their exit code. Everything else that escapes to the CLI is a runtime failure (exit 1).
 * Messages are one line: what failed, on what, and (where useful) what to do.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A runtime failure with a message meant for the user as it is. */
export class CtrnetError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CtrnetError";
  }
}

/** Several failures from one operation that keeps going past errors (teardown). */
export class AggregateFailure extends CtrnetError {
  constructor(
    what: string,
    readonly errors: unknown[],
  ) {
    super(`${what}: ${errors.map(errorMessage).join("; ")}`);
    this.name = "AggregateFailure";
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === "object" && "exitCode" in err && typeof err.exitCode === "number") return err.exitCode;
  return 1;
}
