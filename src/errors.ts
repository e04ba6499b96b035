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

/**
 * A container, network or published port that is not there. Bad input (exit 2) where it names what a new
 * container is to use (`create --network NAME`, `container:ID`); where a command acts on it (port, stats,
 * reload, connect, disconnect), a runtime failure (exit 1), as rm's and inspect's "no such container"
 * (podman exits 125 for all): those commands pass their work through notFoundIsRuntime.
 */
export class NotFoundError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
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
 * "These N things failed", from an operation that keeps going past errors (teardown, `rm A B C`, a DEL
 * over a plugin chain), as one line: `WHAT: first; second[; OUTCOME]`. Bad input (exit 2) only when
 * every failure was; one runtime failure among them makes it a runtime failure (exit 1).
 */
export class ErrorList extends CtrnetError {
  override readonly exitCode: number;
  constructor(
    what: string,
    readonly errors: readonly unknown[],
    options: { outcome?: string; exitCode?: number } = {},
  ) {
    const messages = errors.map(errorMessage).join("; ");
    super(`${what ? `${what}: ` : ""}${messages}${options.outcome ? `; ${options.outcome}` : ""}`);
    this.name = "ErrorList";
    this.exitCode = options.exitCode ?? (errors.length > 0 && errors.every((e) => exitCodeOf(e) === 2) ? 2 : 1);
  }

  /** Nothing for no error, the error itself for one, an ErrorList for several. */
  static throwIfAny(what: string, errors: readonly unknown[]): void {
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new ErrorList(what, errors);
  }

  /** A step failed and undoing what was done before failed too: told in one line, with the step's exit code. */
  static undoing(cause: unknown, undoErrors: readonly unknown[], undone = "what was set up"): ErrorList {
    const list = new ErrorList("", [cause, ...undoErrors], { exitCode: exitCodeOf(cause) });
    list.message = `${errorMessage(cause)}; undoing ${undone} failed too: ${undoErrors.map(errorMessage).join("; ")}`;
    list.cause = cause;
    return list;
  }
}

/** Control characters (newlines above all) as escapes, so a value quoted into a message keeps it one line. */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named = JSON.stringify(c).slice(1, -1);
    return named.length > 1 ? named : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** A value a user gave, in double quotes, with control characters escaped: `"a\nb"` as JSON writes it. */
export function quote(value: string): string {
  return escapeControl(JSON.stringify(value));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === "object" && "exitCode" in err && typeof err.exitCode === "number") return err.exitCode;
  return 1;
}

/** The work of a command acting on existing objects: one that is not there fails it with exit 1, not 2. */
export async function notFoundIsRuntime<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const notFound = (e: unknown) => e instanceof NotFoundError;
    if (notFound(err)) throw new CtrnetError(errorMessage(err), { cause: err });
    // several ids: exit 2 only when every failure is bad input other than a missing object
    if (err instanceof ErrorList && err.exitCode === 2 && err.errors.some(notFound)) throw new CtrnetError(err.message, { cause: err });
    throw err;
  }
}
