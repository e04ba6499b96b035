// Changes to a few directories, through one inotify descriptor that a poll(2) set can hold (the helper
// supervisor's wait): a directory is watched for the names it cares about, and reading the events says
// whether any of them changed. No polling of the file system.
import * as libc from "../../ffi/libc.ts";
import { isSysError } from "../../ffi/errno.ts";

export interface WatchedDir {
  path: string;
  /** IN_* events of files in it. */
  mask: number;
  /** Whether an event of this name matters; any by default. */
  names?: (name: string) => boolean;
}

const SELF = libc.IN_DELETE_SELF | libc.IN_MOVE_SELF | libc.IN_IGNORED;

export class DirWatch {
  readonly fd: number;
  /**
   * What the last drain() saw that matters: the names changed in each watched directory (by its path), or
   * "all" when a watched directory itself went or was moved (a caller must then look at everything).
   */
  lastChanges: Map<string, Set<string>> | "all" = new Map();
  private readonly byWd = new Map<number, WatchedDir>();
  private readonly buf = new Uint8Array(16 * 1024);

  constructor() {
    this.fd = libc.inotifyInit();
  }

  /**
   * Watches each directory that exists now (again, for one removed and made since); true when all of
   * them exist. Call before reading what they hold, so that a change after the read is an event.
   */
  watch(dirs: readonly WatchedDir[]): boolean {
    let all = true;
    for (const dir of dirs) {
      try {
        this.byWd.set(libc.inotifyAddWatch(this.fd, dir.path, dir.mask | libc.IN_ONLYDIR | libc.IN_DELETE_SELF | libc.IN_MOVE_SELF), dir);
      } catch (err) {
        if (!isSysError(err, "ENOENT", "ENOTDIR")) throw err;
        all = false;
      }
    }
    return all;
  }

  /** Reads every pending event; true when one matters (a watched name, or a watched directory itself gone). */
  drain(): boolean {
    let changed = false;
    const seen = new Map<string, Set<string>>();
    let all = false;
    this.lastChanges = seen;
    for (;;) {
      const n = libc.readNonBlocking(this.fd, this.buf);
      if (n <= 0) {
        if (all) this.lastChanges = "all";
        return changed;
      }
      const view = new DataView(this.buf.buffer, 0, n);
      // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
      for (let at = 0; at + 16 <= n; ) {
        const wd = view.getInt32(at, true);
        const mask = view.getUint32(at + 4, true);
        const len = view.getUint32(at + 12, true);
        const raw = this.buf.subarray(at + 16, at + 16 + len);
        const end = raw.indexOf(0);
        const name = Buffer.from(end === -1 ? raw : raw.subarray(0, end)).toString("utf8");
        at += 16 + len;
        const dir = this.byWd.get(wd);
        if (mask & SELF) {
          if (mask & libc.IN_IGNORED) this.byWd.delete(wd);
          changed = true;
          all = true;
        } else if (dir && (dir.names?.(name) ?? true)) {
          changed = true;
          const names = seen.get(dir.path) ?? new Set<string>();
          names.add(name);
          seen.set(dir.path, names);
        }
      }
    }
  }

  close(): void {
    libc.close(this.fd);
    this.byWd.clear();
  }
}
