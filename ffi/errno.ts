// Linux x86_64/aarch64 errno numbers (asm-generic) to their names, for error messages and typed checks.
const NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
  9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY",
  17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE",
  24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 30: "EROFS", 31: "EMLINK",
  32: "EPIPE", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY",
  40: "ELOOP", 61: "ENODATA", 62: "ETIME", 71: "EPROTO", 74: "EBADMSG", 75: "EOVERFLOW", 85: "ERESTART",
  88: "ENOTSOCK", 90: "EMSGSIZE", 92: "ENOPROTOOPT", 93: "EPROTONOSUPPORT", 95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 100: "ENETDOWN", 101: "ENETUNREACH",
  103: "ECONNABORTED", 104: "ECONNRESET", 105: "ENOBUFS", 106: "EISCONN", 107: "ENOTCONN",
  110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH", 114: "EALREADY", 115: "EINPROGRESS",
  122: "EDQUOT", 125: "ECANCELED",
};

const DESCRIPTIONS: Record<string, string> = {
  EPERM: "operation not permitted", ENOENT: "no such file or directory", ESRCH: "no such process",
  EINTR: "interrupted system call", EBADF: "bad file descriptor", EAGAIN: "resource temporarily unavailable",
  ENOMEM: "out of memory", EACCES: "permission denied", EBUSY: "device or resource busy", EEXIST: "file exists",
  ENODEV: "no such device", ENOTDIR: "not a directory", EINVAL: "invalid argument", ETXTBSY: "text file busy",
  ENOSPC: "no space left on device", EROFS: "read-only file system", ENAMETOOLONG: "file name too long",
  ENOSYS: "function not implemented", ENOTEMPTY: "directory not empty", EOPNOTSUPP: "operation not supported",
  EAFNOSUPPORT: "address family not supported", EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address", ENETUNREACH: "network is unreachable",
  ECONNREFUSED: "connection refused", ETIMEDOUT: "timed out", ENOBUFS: "no buffer space available",
  ERANGE: "numerical result out of range", EPROTONOSUPPORT: "protocol not supported",
  EMSGSIZE: "message too long", EHOSTUNREACH: "no route to host", ENOTSUP: "not supported",
  ERESTART: "interrupted system call should be restarted",
};

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `E${errno}`;
}

export function errnoDescription(errno: number): string {
  return DESCRIPTIONS[errnoName(errno)] ?? `error ${errno}`;
}

/** Reverse lookup used by callers that match on a specific errno, e.g. `errnoNumber("EEXIST")`. */
export function errnoNumber(name: string): number {
  for (const [num, n] of Object.entries(NAMES)) if (n === name) return Number(num);
  throw new Error(`unknown errno name ${name}`);
}

/**
 * A failed system call: which call, the errno by name, and the argument it failed on.
 * `code` mirrors Node's convention so `err.code === "ENOENT"` works for both kinds of errors.
 */
export class SysError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly detail?: string,
  ) {
    const name = errnoName(errno);
    super(`${syscall}${detail ? ` ${detail}` : ""}: ${errnoDescription(errno)} (${name})`);
    this.name = "SysError";
    this.code = name;
  }
}

export function isSysError(err: unknown, ...codes: string[]): err is SysError {
  return err instanceof SysError && (codes.length === 0 || codes.includes(err.code));
}
