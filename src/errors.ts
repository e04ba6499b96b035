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

/**
 * Several failures from one operation that keeps going past errors (teardown, `rm A B C`). Bad input only
 * when every failure was (exit 2); one runtime failure among them makes it a runtime failure (exit 1).
 */
export class AggregateFailure extends CtrnetError {
  override readonly exitCode: number;
  constructor(
    what: string,
    readonly errors: unknown[],
  ) {
    const messages = errors.map(errorMessage).join("; ");
    super(what ? `${what}: ${messages}` : messages);
    this.name = "AggregateFailure";
    this.exitCode = errors.length > 0 && errors.every((e) => exitCodeOf(e) === 2) ? 2 : 1;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === "object" && "exitCode" in err && typeof err.exitCode === "number") return err.exitCode;
  return 1;
}
