// The one libc table. Every wrapper checks the return value and reads errno before anything else can
// run on this thread, then throws a SysError naming the call and the argument it failed on.
import { dlopen, read as peek, ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { SysError } from "./errno.ts";

// What a native create or rm calls is bound at load (write too: the new netns's autoconf, an IPv6 attach's
// accept_dad); the rest at its first use. Bun compiles a trampoline for every symbol a dlopen() binds (about
// 3 µs each), and most of these only the helpers and rarer commands call.
const { symbols: c } = dlopen("libc.so.6", {
  __errno_location: { args: [], returns: "ptr" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  unshare: { args: ["i32"], returns: "i32" },
  mount: { args: ["ptr", "ptr", "ptr", "u64", "ptr"], returns: "i32" },
  umount2: { args: ["ptr", "i32"], returns: "i32" },
  open: { args: ["ptr", "i32", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  write: { args: ["i32", "ptr", "u64"], returns: "i64" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  fstatfs: { args: ["i32", "ptr"], returns: "i32" },
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  connect: { args: ["i32", "ptr", "u32"], returns: "i32" },
  listen: { args: ["i32", "i32"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i64" },
  recvfrom: { args: ["i32", "ptr", "u64", "i32", "ptr", "ptr"], returns: "i64" },
  sendmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
  geteuid: { args: [], returns: "u32" },
  ioctl: { args: ["i32", "u64", "u64"], returns: "i32" },
  // ffi/fs.ts: the file calls of every command, in place of node:fs (whose load alone costs about 0.7 ms)
  read: { args: ["i32", "ptr", "u64"], returns: "i64" },
  pread: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
  rename: { args: ["ptr", "ptr"], returns: "i32" },
  mkdir: { args: ["ptr", "u32"], returns: "i32" },
  unlink: { args: ["ptr"], returns: "i32" },
  rmdir: { args: ["ptr"], returns: "i32" },
  access: { args: ["ptr", "i32"], returns: "i32" },
  chmod: { args: ["ptr", "u32"], returns: "i32" },
  fsync: { args: ["i32"], returns: "i32" },
  statx: { args: ["i32", "ptr", "i32", "u32", "ptr"], returns: "i32" },
  opendir: { args: ["ptr"], returns: "ptr" },
  readdir: { args: ["ptr"], returns: "ptr" },
  closedir: { args: ["ptr"], returns: "i32" },
  statfs: { args: ["ptr", "ptr"], returns: "i32" },
  readlink: { args: ["ptr", "ptr", "u64"], returns: "i64" },
  link: { args: ["ptr", "ptr"], returns: "i32" },
});

const MORE = {
  pipe2: { args: ["ptr", "i32"], returns: "i32" },
  memfd_create: { args: ["ptr", "u32"], returns: "i32" },
  fcntl: { args: ["i32", "i32", "i64"], returns: "i32" },
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  accept4: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
  getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
  recvmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
  kill: { args: ["i32", "i32"], returns: "i32" },
  getpriority: { args: ["i32", "u32"], returns: "i32" },
  setpriority: { args: ["i32", "u32", "i32"], returns: "i32" },
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
  getpid: { args: [], returns: "i32" },
  getpgrp: { args: [], returns: "i32" },
  getpgid: { args: ["i32"], returns: "i32" },
  tcgetpgrp: { args: ["i32"], returns: "i32" },
  gettid: { args: [], returns: "i32" },
  getuid: { args: [], returns: "u32" },
  getgid: { args: [], returns: "u32" },
  getegid: { args: [], returns: "u32" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  inotify_init1: { args: ["i32"], returns: "i32" },
  inotify_add_watch: { args: ["i32", "ptr", "u32"], returns: "i32" },
  setenv: { args: ["ptr", "ptr", "i32"], returns: "i32" },
  unsetenv: { args: ["ptr"], returns: "i32" },
  // variadic in C; glibc's is assembly that only moves registers, so fixed integer arguments are safe
  syscall: { args: ["i64", "i64", "u64"], returns: "i64" },
} as const;
let more: ReturnType<typeof dlopen<typeof MORE>>["symbols"] | undefined;
/** The symbols bound at their first use. */
const m = () => (more ??= dlopen("libc.so.6", MORE).symbols);

function errno(): number {
  return peek.i32(c.__errno_location() as Pointer, 0);
}

/**
 * The file calls as bound, returning -1 (or null) with the errno left for lastErrno: for ffi/fs.ts, which
 * builds node:fs's errors itself. Paths are NUL-terminated buffers.
 */
export const fileCalls = {
  open: c.open,
  close: c.close,
  read: c.read,
  pread: c.pread,
  write: c.write,
  rename: c.rename,
  mkdir: c.mkdir,
  unlink: c.unlink,
  rmdir: c.rmdir,
  access: c.access,
  chmod: c.chmod,
  fsync: c.fsync,
  statx: c.statx,
  opendir: c.opendir,
  readdir: c.readdir,
  closedir: c.closedir,
  statfs: c.statfs,
  readlink: c.readlink,
  link: c.link,
};

export const lastErrno = errno;

/** Throws a SysError when a call returned -1; returns the (non-negative) result otherwise. */
function check<T extends number | bigint>(ret: T, syscall: string, detail?: string): T {
  if (ret === -1 || ret === -1n) throw new SysError(syscall, errno(), detail);
  return ret;
}

/** A string as a NUL-terminated C string. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

// Namespace clone flags (linux/sched.h).
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

// mount(2) flags (linux/mount.h).
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MNT_DETACH = 0x2;

// open(2) flags (asm-generic/fcntl.h, x86_64 and aarch64 alike).
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;

export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_REUSEPORT = 15;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_SNDBUF = 7;
export const SO_RCVTIMEO = 20;
export const SO_PEERCRED = 17;
export const SOL_NETLINK = 270;
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;
export const MSG_DONTWAIT = 0x40;
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const MSG_NOSIGNAL = 0x4000;

export const PR_SET_PDEATHSIG = 1;
export const PR_SET_NAME = 15;
export const PR_SET_CHILD_SUBREAPER = 36;

export const NSFS_MAGIC = 0x6e736673;
export const PROC_SUPER_MAGIC = 0x9fa0;

export function setns(fd: number, nstype: number): void {
  check(c.setns(fd, nstype), "setns", `fd ${fd}`);
}

export function unshare(flags: number): void {
  check(c.unshare(flags), "unshare", `flags 0x${flags.toString(16)}`);
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  const src = source === null ? null : cstr(source);
  const fs = fstype === null ? null : cstr(fstype);
  const d = data === null ? null : cstr(data);
  check(c.mount(src, cstr(target), fs, flags, d), "mount", `${source ?? "none"} on ${target}`);
}

export function umount2(target: string, flags = 0): void {
  check(c.umount2(cstr(target), flags), "umount2", target);
}

export function open(path: string, flags: number, mode = 0): number {
  return check(c.open(cstr(path), flags | O_CLOEXEC, mode), "open", path);
}

export function close(fd: number): void {
  check(c.close(fd), "close", `fd ${fd}`);
}

export function read(fd: number, buf: Uint8Array): number {
  return Number(check(c.read(fd, buf, buf.byteLength), "read", `fd ${fd}`));
}

export function write(fd: number, buf: Uint8Array): number {
  return Number(check(c.write(fd, buf, buf.byteLength), "write", `fd ${fd}`));
}

/** Returns [readEnd, writeEnd]. */
export function pipe2(flags = O_CLOEXEC): [number, number] {
  const fds = new Int32Array(2);
  check(m().pipe2(fds, flags), "pipe2");
  return [fds[0]!, fds[1]!];
}

export const MFD_CLOEXEC = 1;

/** An anonymous in-memory file; name only shows in /proc/PID/fd. */
/**
 * The C environment, which is not process.env: Bun copies it at start-up, yet reads some variables from
 * it on first use (compile.ts). glibc's getenv on another thread is not safe against it: only for a
 * moment when no thread of ctrnet's own reads the environment.
 */
export function setenv(name: string, value: string): void {
  check(m().setenv(ptr(cstr(name)), ptr(cstr(value)), 1), "setenv", name);
}

export function unsetenv(name: string): void {
  check(m().unsetenv(ptr(cstr(name))), "unsetenv", name);
}

export function memfdCreate(name: string, flags = MFD_CLOEXEC): number {
  return check(m().memfd_create(cstr(name), flags), "memfd_create", name);
}

export function fcntl(fd: number, cmd: number, arg = 0): number {
  return check(m().fcntl(fd, cmd, arg), "fcntl", `fd ${fd}`);
}

/** Clears FD_CLOEXEC so a child started by exec inherits the descriptor. */
export function setInheritable(fd: number, inheritable: boolean): void {
  const flags = fcntl(fd, F_GETFD);
  fcntl(fd, F_SETFD, inheritable ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC);
}

export function flock(fd: number, op: number): void {
  check(c.flock(fd, op), "flock", `fd ${fd}`);
}

/** f_type of the filesystem holding fd: compare with NSFS_MAGIC / PROC_SUPER_MAGIC. */
export function fstatfsType(fd: number): number {
  const st = new BigInt64Array(15); // struct statfs is 120 bytes on 64-bit Linux; f_type comes first
  check(c.fstatfs(fd, st), "fstatfs", `fd ${fd}`);
  return Number(st[0]!);
}

export function socket(domain: number, type: number, protocol: number): number {
  return check(c.socket(domain, type | SOCK_CLOEXEC, protocol), "socket", `domain ${domain} protocol ${protocol}`);
}

export function bind(fd: number, addr: Uint8Array): void {
  check(c.bind(fd, addr, addr.byteLength), "bind", `fd ${fd}`);
}

export function connect(fd: number, addr: Uint8Array): void {
  check(c.connect(fd, addr, addr.byteLength), "connect", `fd ${fd}`);
}

/** Fills addr with the socket's own address and returns the length the kernel wrote. */
export function getsockname(fd: number, addr: Uint8Array): number {
  const len = new Uint32Array([addr.byteLength]);
  check(m().getsockname(fd, addr, len), "getsockname", `fd ${fd}`);
  return len[0]!;
}

export function listen(fd: number, backlog: number): void {
  check(c.listen(fd, backlog), "listen", `fd ${fd}`);
}

/** A connection's fd (close-on-exec), the peer's address left unread. */
export function accept(fd: number): number {
  return check(m().accept4(fd, null, null, SOCK_CLOEXEC), "accept4", `fd ${fd}`);
}

/** SO_PEERCRED of a connected unix socket: the peer's pid and ids as this process's namespaces see them. */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  const cred = new Int32Array(3);
  const len = new Uint32Array([cred.byteLength]);
  check(m().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len), "getsockopt", `fd ${fd} SO_PEERCRED`);
  return { pid: cred[0]!, uid: cred[1]! >>> 0, gid: cred[2]! >>> 0 };
}

/** getsockopt into `buf`; returns how many bytes the kernel wrote. */
export function getsockoptInto(fd: number, level: number, name: number, buf: Uint8Array, detail: string): number {
  const len = new Uint32Array([buf.byteLength]);
  check(m().getsockopt(fd, level, name, buf, len), "getsockopt", detail);
  return len[0]!;
}

/** struct sockaddr_un for a path; throws when the path does not fit sun_path (108 bytes with its NUL). */
export function unixAddress(path: string): Uint8Array {
  const bytes = Buffer.from(path, "utf8");
  if (bytes.byteLength > 107) throw new SysError("bind", 36 /* ENAMETOOLONG */, path);
  const addr = new Uint8Array(2 + bytes.byteLength + 1);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  return addr;
}

export function setsockopt(fd: number, level: number, name: number, value: Uint8Array): void {
  check(c.setsockopt(fd, level, name, value, value.byteLength), "setsockopt", `level ${level} option ${name}`);
}

export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  setsockopt(fd, level, name, new Uint8Array(new Int32Array([value]).buffer));
}

export function sendto(fd: number, buf: Uint8Array, flags = 0, addr: Uint8Array | null = null): number {
  return Number(check(c.sendto(fd, buf, buf.byteLength, flags, addr, addr?.byteLength ?? 0), "sendto", `fd ${fd}`));
}

/** Returns the number of bytes received (with MSG_TRUNC, the real datagram length). */
export function recvfrom(fd: number, buf: Uint8Array, flags = 0): number {
  return Number(check(c.recvfrom(fd, buf, buf.byteLength, flags, null, null), "recvfrom", `fd ${fd}`));
}

/** msg is a struct msghdr the caller built; iovecs must stay referenced by the caller until this returns. */
export function sendmsg(fd: number, msg: Uint8Array, flags = 0): number {
  return Number(check(c.sendmsg(fd, msg, flags), "sendmsg", `fd ${fd}`));
}

export function recvmsg(fd: number, msg: Uint8Array, flags = 0): number {
  return Number(check(m().recvmsg(fd, msg, flags), "recvmsg", `fd ${fd}`));
}

export const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
/** struct cmsghdr on 64-bit Linux: cmsg_len (size_t), cmsg_level, cmsg_type, then the data, 8-aligned. */
const CMSG_HEADER = 16;

/** A msghdr holds only the addresses of its iovec, data and control buffers: they stay reachable until here. */
function keepUntilHere(..._bufs: Uint8Array[]): void {}

/**
 * Bytes at a fixed address: a small typed array made without an ArrayBuffer of its own gets one (and moves
 * its bytes there) when its .buffer is first asked for, which would leave an address taken before stale.
 */
function pinned(length: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(length));
}

/** struct msghdr (56 bytes) over one iovec, with room for `fdCount` descriptors of SCM_RIGHTS control data. */
function fdMessage(buf: Uint8Array, fdCount: number): { msg: Uint8Array; iov: Uint8Array; control: Uint8Array } {
  const iov = pinned(16);
  const iovView = new DataView(iov.buffer);
  iovView.setBigUint64(0, BigInt(ptr(buf)), true);
  iovView.setBigUint64(8, BigInt(buf.byteLength), true);
  const control = pinned(fdCount === 0 ? 0 : CMSG_HEADER + Math.ceil((fdCount * 4) / 8) * 8);
  const msg = pinned(56);
  const view = new DataView(msg.buffer);
  view.setBigUint64(16, BigInt(ptr(iov)), true);
  view.setBigUint64(24, 1n, true);
  if (fdCount > 0) {
    view.setBigUint64(32, BigInt(ptr(control)), true);
    view.setBigUint64(40, BigInt(control.byteLength), true);
  }
  return { msg, iov, control };
}

/** Sends data on a connected unix socket with the descriptors attached (SCM_RIGHTS); returns the bytes sent. */
export function sendWithFds(fd: number, data: Uint8Array, fds: readonly number[], flags = 0): number {
  const buf = pinned(data.byteLength);
  buf.set(data);
  const { msg, iov, control } = fdMessage(buf, fds.length);
  if (fds.length > 0) {
    const view = new DataView(control.buffer);
    view.setBigUint64(0, BigInt(CMSG_HEADER + fds.length * 4), true);
    view.setInt32(8, SOL_SOCKET, true);
    view.setInt32(12, SCM_RIGHTS, true);
    fds.forEach((d, i) => view.setInt32(CMSG_HEADER + i * 4, d, true));
  }
  const sent = sendmsg(fd, msg, flags);
  keepUntilHere(iov, buf, control);
  return sent;
}

/**
 * Receives up to size bytes from a unix socket (none: the end of the stream), with up to maxFds descriptors
 * sent along (close-on-exec; the kernel closes any beyond maxFds).
 */
export function receiveWithFds(fd: number, size: number, maxFds: number, flags = 0): { data: Uint8Array; fds: number[] } {
  const buf = pinned(size);
  const { msg, iov, control } = fdMessage(buf, maxFds);
  const bytes = recvmsg(fd, msg, flags | MSG_CMSG_CLOEXEC);
  keepUntilHere(iov);
  const controlLength = Number(new DataView(msg.buffer).getBigUint64(40, true));
  const view = new DataView(control.buffer);
  const fds: number[] = [];
  for (let at = 0; at + CMSG_HEADER <= controlLength; ) {
    const length = Number(view.getBigUint64(at, true));
    if (length < CMSG_HEADER) break;
    if (view.getInt32(at + 8, true) === SOL_SOCKET && view.getInt32(at + 12, true) === SCM_RIGHTS) {
      for (let i = at + CMSG_HEADER; i + 4 <= at + length; i += 4) fds.push(view.getInt32(i, true));
    }
    at += Math.ceil(length / 8) * 8;
  }
  return { data: buf.subarray(0, bytes), fds };
}

export function kill(pid: number, signal: number): void {
  check(m().kill(pid, signal), "kill", `pid ${pid}`);
}

const PRIO_PROCESS = 0;

/** The nice value of a thread (0: the calling one), as node:os's getPriority gives it. */
export function getpriority(tid = 0): number {
  // -1 is a nice value too: only errno, cleared first, tells a failure (after binding, which may set it)
  const lib = m();
  new Int32Array(toArrayBuffer(c.__errno_location() as Pointer, 0, 4))[0] = 0;
  const ret = lib.getpriority(PRIO_PROCESS, tid);
  if (ret === -1 && errno() !== 0) throw new SysError("getpriority", errno(), `tid ${tid}`);
  return ret;
}

/** Sets the nice value of a thread (0: the calling one), as node:os's setPriority does. */
export function setpriority(tid: number, nice: number): void {
  check(m().setpriority(PRIO_PROCESS, tid, nice), "setpriority", `tid ${tid}`);
}

/** True when a process with this pid exists (even if owned by someone else). */
export function processExists(pid: number): boolean {
  if (m().kill(pid, 0) === 0) return true;
  return errno() === 1; // EPERM: exists, not ours
}

export function prctl(option: number, arg2: number | bigint = 0): void {
  check(m().prctl(option, arg2, 0, 0, 0), "prctl", `option ${option}`);
}

export const getpid = (): number => m().getpid();
export const getpgrp = (): number => m().getpgrp();
/** The process group of pid, or -1 when it is gone. */
export const getpgid = (pid: number): number => m().getpgid(pid);
/** The foreground process group of the terminal on fd, or -1 when fd is no terminal (or has none). */
export const tcgetpgrp = (fd: number): number => m().tcgetpgrp(fd);
export const gettid = (): number => m().gettid();
export const getuid = (): number => m().getuid();
export const geteuid = (): number => c.geteuid();
export const getgid = (): number => m().getgid();
export const getegid = (): number => m().getegid();

/** Address of a buffer, for building structs (msghdr, iovec) that hold pointers. */
export function addressOf(buf: Uint8Array): number {
  return ptr(buf);
}

// ioctl_ns(2): _IO(0xb7, 0x3), kernel 4.11.
const NS_GET_NSTYPE = 0xb703;

/** The CLONE_NEW* flag of the namespace an nsfs fd refers to. */
export function nsType(fd: number): number {
  return check(c.ioctl(fd, NS_GET_NSTYPE, 0), "ioctl", `NS_GET_NSTYPE fd ${fd}`);
}

// linux/sockios.h, linux/if.h
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;

/** `ip link set NAME up` the ioctl way (its flags read, IFF_UP added), through sock, any socket of its netns. */
export function linkUp(sock: number, name: string): void {
  const ifr = new Uint8Array(40); // struct ifreq: the name in 16 bytes, then ifr_flags
  ifr.set(Buffer.from(name, "utf8").subarray(0, 15));
  check(c.ioctl(sock, SIOCGIFFLAGS, ptr(ifr)), "ioctl", `SIOCGIFFLAGS ${name}`);
  const flags = new DataView(ifr.buffer, 16, 2);
  flags.setUint16(0, flags.getUint16(0, true) | IFF_UP, true);
  check(c.ioctl(sock, SIOCSIFFLAGS, ptr(ifr)), "ioctl", `SIOCSIFFLAGS ${name}`);
}

// asm-generic/ioctls.h
const TCGETS = 0x5401;

/**
 * isatty(3): whether fd is a terminal (its termios can be read), without node:tty or process.stdin, each
 * some ms to load in the compiled binary.
 */
export function isTerminal(fd: number): boolean {
  const termios = new Uint8Array(64); // struct termios is 60 bytes
  return c.ioctl(fd, TCGETS, ptr(termios)) === 0;
}

// linux/netlink.h: with NETLINK_CAP_ACK an error reply carries the request's header, not the whole request.
export const NETLINK_CAP_ACK = 10;

/**
 * recvfrom that also fills `from` with the sender's address. `fromLength` is the socklen_t the kernel
 * writes back; the caller owns it so a receive loop allocates nothing.
 */
export function recvfromSender(fd: number, buf: Uint8Array, flags: number, from: Uint8Array, fromLength: Uint32Array): number {
  fromLength[0] = from.byteLength;
  return Number(check(c.recvfrom(fd, buf, buf.byteLength, flags, from, fromLength), "recvfrom", `fd ${fd}`));
}

// asm-generic/unistd.h: the same number on every architecture (Linux 5.3).
const SYS_PIDFD_OPEN = 434;

/** A descriptor of the process that turns readable when it exits; it is never recycled with the pid. */
export function pidfdOpen(pid: number): number {
  return Number(check(m().syscall(SYS_PIDFD_OPEN, pid, 0), "pidfd_open", `pid ${pid}`));
}

const POLLIN = 0x1;
const EINTR = 4;

/**
 * poll(2) for readability, blocking this thread up to timeoutMs: the indexes of fds that are readable
 * (or hung up, or invalid). A signal that interrupts it returns what was ready: none.
 */
export function pollReadable(fds: readonly number[], timeoutMs: number): number[] {
  // struct pollfd { int fd; short events; short revents; }, in this machine's byte order
  const words = new Int32Array(Math.max(fds.length, 1) * 2);
  const halves = new Int16Array(words.buffer);
  fds.forEach((fd, i) => {
    words[i * 2] = fd;
    halves[i * 4 + 2] = POLLIN;
  });
  const ret = m().poll(words, fds.length, timeoutMs);
  if (ret === -1) {
    const err = errno();
    if (err === EINTR) return [];
    throw new SysError("poll", err);
  }
  return fds.flatMap((_, i) => (halves[i * 4 + 3] !== 0 ? [i] : []));
}

// linux/inotify.h
export const IN_MODIFY = 0x2;
export const IN_CLOSE_WRITE = 0x8;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_IGNORED = 0x8000;
export const IN_ONLYDIR = 0x1000000;
const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;

/** A non-blocking, close-on-exec inotify instance. */
export function inotifyInit(): number {
  return check(m().inotify_init1(IN_NONBLOCK | IN_CLOEXEC), "inotify_init1");
}

/** The watch descriptor of path (the same one again for a path already watched). */
export function inotifyAddWatch(fd: number, path: string, mask: number): number {
  return check(m().inotify_add_watch(fd, cstr(path), mask), "inotify_add_watch", path);
}

const EAGAIN = 11;

/** Reads what is there without blocking: the bytes read, 0 when nothing is. */
export function readNonBlocking(fd: number, buf: Uint8Array): number {
  const n = Number(c.read(fd, buf, buf.byteLength));
  if (n === -1) {
    const err = errno();
    if (err === EAGAIN || err === EINTR) return 0;
    throw new SysError("read", err, `fd ${fd}`);
  }
  return n;
}

/** accept4 on a non-blocking listening socket: a connection's fd, or undefined when none waits. */
export function acceptNonBlocking(fd: number): number | undefined {
  const conn = m().accept4(fd, null, null, SOCK_CLOEXEC);
  if (conn === -1) {
    const err = errno();
    if (err === EAGAIN || err === EINTR) return undefined;
    throw new SysError("accept4", err, `fd ${fd}`);
  }
  return conn;
}
