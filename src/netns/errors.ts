import { UsageError } from "../errors.ts";

/** A namespace path that does not exist (pkg/ns NSPathNotExistErr). */
export class NetnsNotFoundError extends UsageError {
  /** label: how the user named it, e.g. `"demo"`, when that was not the path. */
  constructor(
    readonly path: string,
    label = path,
  ) {
    super(`network namespace ${label} does not exist`);
    this.name = "NetnsNotFoundError";
  }
}

/** A path that exists but is not a network namespace (pkg/ns NSPathNotNSErr). */
export class NotANetnsError extends UsageError {
  constructor(
    readonly path: string,
    what: string,
  ) {
    super(`${path} is not a network namespace: ${what}`);
    this.name = "NotANetnsError";
  }
}
