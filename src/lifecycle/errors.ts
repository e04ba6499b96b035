import { CtrnetError, errorMessage, exitCodeOf } from "../errors.ts";

/** A step failed and undoing the earlier ones failed too: both are told, with the step's exit code. */
export class UndoFailure extends CtrnetError {
  override readonly exitCode: number;
  constructor(cause: unknown, undoErrors: readonly unknown[]) {
    super(`${errorMessage(cause)}; undoing what was set up failed too: ${undoErrors.map(errorMessage).join("; ")}`, { cause });
    this.name = "UndoFailure";
    this.exitCode = exitCodeOf(cause);
  }
}

/** Errors collected past each other: one is thrown as it is, several as one line. */
export function throwCollected(what: string, errors: readonly unknown[]): void {
  if (errors.length === 0) return;
  if (errors.length === 1) throw errors[0];
  throw new CtrnetError(`${what}: ${errors.map(errorMessage).join("; ")}`);
}

/** A teardown that went on past errors: all of them, and what became of the container. */
export class TeardownFailure extends CtrnetError {
  constructor(id: string, errors: readonly unknown[], outcome: string) {
    super(`removing container "${id}": ${errors.map(errorMessage).join("; ")}; ${outcome}`);
    this.name = "TeardownFailure";
  }
}
