/*
 * Starts a program inside new or existing namespaces. Compiled at run time by bun:ffi's cc (TinyCC), so it
 * declares the few libc functions it needs itself instead of relying on system headers being installed.
 *
 * Bun is multithreaded, so it cannot enter a user namespace itself; a new child process is single-threaded
 * and can. Between its start and execve the child only makes async-signal-safe calls (another thread of the
 * parent may have held a lock at that moment). It talks to the parent over close-on-exec pipes:
 *   status (child -> parent): a record {step, index, errno}; step 0 means "namespaces are set up".
 *     STEP_MOUNT_WARNING reports a mount allowed to fail; any other non-zero step is a failure, after which
 *     the child exits. EOF after step 0 means execve succeeded, because the write end closes on exec.
 *   go (parent -> child), only for a held child: one byte releases it, e.g. after the parent wrote its uid/gid
 *     maps. EOF without a byte means the parent gave up; the child exits quietly.
 *
 * A held child must run alongside its parent, so it is forked. Any other is cloned with CLONE_VM | CLONE_VFORK,
 * as posix_spawn does: fork copies the page tables of the whole Bun process (about 1 ms at 50 MB, more as it
 * grows), while this child borrows the memory and the calling thread sleeps until the child has exec'd or
 * exited. Sharing memory, the child runs on a stack of its own and writes nothing but that stack and errno
 * (the sleeping thread's); its file descriptors and signal handlers are its own copies. Its records wait in
 * the status pipe: one per mount and two more, of 12 bytes, fit in the one page even the smallest pipe holds
 * (MAX_MOUNTS in launcher.ts).
 */

typedef long long i64;
typedef unsigned long pthread_t;

extern int *__errno_location(void);
extern int fork(void);
extern int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
extern int getpid(void);
extern int getppid(void);
extern int pipe2(int *fds, int flags);
extern int close(int fd);
extern long read(int fd, void *buf, unsigned long n);
extern long write(int fd, const void *buf, unsigned long n);
extern int dup2(int oldfd, int newfd);
extern int fcntl(int fd, int cmd, ...);
extern int chdir(const char *path);
extern int setns(int fd, int nstype);
extern int unshare(int flags);
extern int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data);
extern int umount2(const char *target, int flags);
extern int sethostname(const char *name, unsigned long len);
extern int setsid(void);
extern int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
extern int execve(const char *path, char *const argv[], char *const envp[]);
extern void _exit(int code);
extern long syscall(long number, ...);
extern void *signal(int sig, void *handler);
extern int sigprocmask(int how, const void *set, void *old);
extern int waitpid(int pid, int *status, int options);
extern int pthread_create(pthread_t *thread, const void *attr, void *(*fn)(void *), void *arg);
extern int pthread_detach(pthread_t thread);

#define errno (*__errno_location())
#define EINTR 4
#define SIGCHLD 17
#define CLONE_VM 0x00000100
#define CLONE_VFORK 0x00004000
#define CHILD_STACK_BYTES 32768
#define E2BIG 7
#define O_CLOEXEC 02000000
#define F_SETFD 2
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1
#define PR_SET_PDEATHSIG 1
#define MS_RDONLY 1
#define MNT_DETACH 2
#define SIG_SETMASK 2
#define SIGSET_LONGS 16 /* glibc's sigset_t is 1024 bits */
#define NSIG 65
#define MAX_FD_SCAN 4096
#define MAX_PASSED_FDS 64 /* MAX_FDS in launcher.ts */
/* Numbers shared by x86_64 and aarch64: syscalls from 424 on were allocated for every architecture at once. */
#define SYS_pidfd_send_signal 424
#define SYS_pidfd_open 434
#define SYS_close_range 436
#define CLOSE_RANGE_CLOEXEC 4

/* Steps a child can fail in; ffi/launcher.ts names them in its errors. */
#define STEP_READY 0
#define STEP_PDEATHSIG 1
#define STEP_SETNS 2
#define STEP_UNSHARE 3
#define STEP_FDS 4
#define STEP_CHDIR 5
#define STEP_EXECVE 6
#define STEP_SETSID 7
#define STEP_MOUNT 8
#define STEP_MOUNT_WARNING 9 /* not a failure: the child goes on */
#define STEP_HOSTNAME 10

/* Every field 8 bytes wide, as in launch_spec. */
struct mount_op {
  const char *source;
  const char *target;
  const char *fstype;
  i64 flags;
  i64 replace; /* detach what is mounted at target first; if that fails, mount read-only over it */
  i64 fatal;   /* a failure stops the launch; otherwise it is reported and the launch goes on */
};

/* Every field 8 bytes wide so ffi/launcher.ts can fill it as one BigInt64Array. */
struct launch_spec {
  const char *path;
  char *const *argv;
  char *const *envp;
  const char *cwd;   /* NULL: stay in the parent's cwd */
  const i64 *ns;     /* pairs {fd, nstype}, entered in this order */
  i64 nns;
  i64 unshare_flags; /* 0: none */
  const i64 *fds;    /* pairs {parent fd, child fd} */
  i64 nfds;
  i64 pdeathsig;     /* 0: none */
  i64 setsid;        /* non-zero: leave the parent's session and process group */
  const struct mount_op *mounts; /* made in this order, after unsharing */
  i64 nmounts;
  i64 hold;          /* non-zero: wait for the go-ahead after the namespaces are set up */
  const char *hostname; /* NULL: none; else set after unsharing (in a new uts namespace) */
  i64 hostname_len;
};

static void report(int fd, int step, int index, int err) {
  int rec[3];
  rec[0] = step;
  rec[1] = index;
  rec[2] = err;
  while (write(fd, rec, sizeof rec) < 0 && errno == EINTR) {
  }
}

static void fail(int fd, int step, int index) {
  report(fd, step, index, errno);
  _exit(127);
}

/*
 * Runs with every signal blocked (see launcher_spawn), so no handler of the parent's can run in the child.
 * Ignored signals would stay ignored across execve (Bun ignores SIGPIPE and SIGXFSZ), and so would the mask.
 */
static void reset_signals(void) {
  unsigned long empty[SIGSET_LONGS];
  int i;
  for (i = 1; i < NSIG; i++) signal(i, (void *)0);
  for (i = 0; i < SIGSET_LONGS; i++) empty[i] = 0;
  sigprocmask(SIG_SETMASK, empty, (void *)0);
}

/*
 * Moves every source fd above all numbers in play first, so that placing one fd can never overwrite the
 * source of another; marks everything else close-on-exec; then places each at its number (dup2 clears
 * close-on-exec on the copy).
 */
static int pass_fds(const struct launch_spec *s, int *status_fd) {
  int tmp[MAX_PASSED_FDS];
  int floor = *status_fd + 1;
  int i, fd;
  if (s->nfds > MAX_PASSED_FDS) {
    errno = E2BIG;
    return -1;
  }
  for (i = 0; i < s->nfds * 2; i++)
    if (s->fds[i] >= floor) floor = (int)s->fds[i] + 1;
  fd = fcntl(*status_fd, F_DUPFD_CLOEXEC, floor);
  if (fd < 0) return -1;
  *status_fd = fd;
  for (i = 0; i < s->nfds; i++) {
    tmp[i] = fcntl((int)s->fds[2 * i], F_DUPFD_CLOEXEC, floor);
    if (tmp[i] < 0) return -1;
  }
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (fd = 3; fd < MAX_FD_SCAN; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  for (i = 0; i < s->nfds; i++)
    if (dup2(tmp[i], (int)s->fds[2 * i + 1]) < 0) return -1;
  return 0;
}

/*
 * What a replacing mount cannot detach stays underneath, so the new mount goes over it read-only: a read-only
 * /sys, say, must not be shadowed by a writable one.
 */
static void make_mounts(const struct launch_spec *s, int status_fd) {
  int i;
  for (i = 0; i < s->nmounts; i++) {
    const struct mount_op *m = &s->mounts[i];
    unsigned long flags = (unsigned long)m->flags;
    if (m->replace && umount2(m->target, MNT_DETACH) < 0) flags |= MS_RDONLY;
    if (mount(m->source, m->target, m->fstype, flags, (void *)0) == 0) continue;
    if (m->fatal) fail(status_fd, STEP_MOUNT, i);
    report(status_fd, STEP_MOUNT_WARNING, i, errno);
  }
}

/* go_fd < 0: go on without waiting. */
static void child(const struct launch_spec *s, int status_fd, int go_fd, int parent) {
  char go;
  long n;
  int i;
  reset_signals();
  if (s->setsid && setsid() < 0) fail(status_fd, STEP_SETSID, 0);
  if (s->pdeathsig) {
    if (prctl(PR_SET_PDEATHSIG, (unsigned long)s->pdeathsig, 0, 0, 0) < 0) fail(status_fd, STEP_PDEATHSIG, 0);
    /* The parent may have died before prctl took effect; then nobody would ever send the signal. */
    if (getppid() != parent) _exit(127);
  }
  for (i = 0; i < s->nns; i++)
    if (setns((int)s->ns[2 * i], (int)s->ns[2 * i + 1]) < 0) fail(status_fd, STEP_SETNS, i);
  if (s->unshare_flags && unshare((int)s->unshare_flags) < 0) fail(status_fd, STEP_UNSHARE, 0);
  if (s->hostname && sethostname(s->hostname, (unsigned long)s->hostname_len) < 0) fail(status_fd, STEP_HOSTNAME, 0);
  make_mounts(s, status_fd);
  report(status_fd, STEP_READY, 0, 0);
  if (go_fd >= 0) {
    do n = read(go_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);
    close(go_fd);
  }
  if (pass_fds(s, &status_fd) < 0) fail(status_fd, STEP_FDS, 0);
  if (s->cwd && chdir(s->cwd) < 0) fail(status_fd, STEP_CHDIR, 0);
  execve(s->path, s->argv, s->envp);
  fail(status_fd, STEP_EXECVE, 0);
}

struct vfork_start {
  const struct launch_spec *spec;
  int status_fd;
  int parent;
};

static int vfork_child(void *arg) {
  struct vfork_start *start = arg;
  child(start->spec, start->status_fd, -1, start->parent);
  return 127; /* not reached: child() execs or exits */
}

/*
 * Returns the child's pid, or -errno if no child was started. out receives {status read fd, go write fd or -1
 * when not held, pidfd or -errno}; all are close-on-exec.
 */
int launcher_spawn(const struct launch_spec *s, int *out) {
  int status[2], go[2] = {-1, -1};
  unsigned long all[SIGSET_LONGS], old[SIGSET_LONGS];
  /* The vfork child's stack: this frame outlives the child's use of it, as this thread sleeps meanwhile. */
  char stack[CHILD_STACK_BYTES];
  struct vfork_start start;
  int parent = getpid();
  int pid, err, i;
  if (pipe2(status, O_CLOEXEC) < 0) return -errno;
  if (s->hold && pipe2(go, O_CLOEXEC) < 0) {
    err = errno;
    close(status[0]);
    close(status[1]);
    return -err;
  }
  for (i = 0; i < SIGSET_LONGS; i++) all[i] = ~0UL;
  sigprocmask(SIG_SETMASK, all, old);
  if (s->hold) {
    pid = fork();
    if (pid == 0) {
      close(status[0]);
      close(go[1]);
      child(s, status[1], go[0], parent);
    }
  } else {
    start.spec = s;
    start.status_fd = status[1];
    start.parent = parent;
    /* The stack grows down from the end of the buffer, kept 16-byte aligned as both ABIs require. */
    pid = clone(vfork_child, (void *)((unsigned long)(stack + sizeof stack) & ~15UL), CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
  }
  err = errno;
  sigprocmask(SIG_SETMASK, old, (void *)0);
  close(status[1]);
  if (go[0] >= 0) close(go[0]);
  if (pid < 0) {
    close(status[0]);
    if (go[1] >= 0) close(go[1]);
    return -err;
  }
  out[0] = status[0];
  out[1] = go[1];
  out[2] = (int)syscall(SYS_pidfd_open, pid, 0);
  if (out[2] < 0) out[2] = -errno;
  return pid;
}

/* Blocks until the child exits; only for a child that already reported a failure and is on its way out. */
int launcher_reap(int pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -errno;
  return status;
}

static void *watch(void *arg) {
  i64 packed = (i64)arg;
  int pid = (int)(packed >> 32);
  int fd = (int)(packed & 0xffffffff);
  int status = launcher_reap(pid);
  write(fd, &status, sizeof status);
  close(fd);
  return (void *)0;
}

/*
 * Reaps pid on a thread of its own and writes its wait status (4 bytes, or -errno) to fd, then closes fd:
 * Bun's event loop does not know this child, so JS reads the status from the other end of a pipe.
 */
int launcher_watch(int pid, int fd) {
  pthread_t t;
  int err = pthread_create(&t, (void *)0, watch, (void *)(((i64)pid << 32) | (unsigned)fd));
  if (err) return -err;
  pthread_detach(t);
  return 0;
}

/* pidfd_send_signal cannot hit a recycled pid, unlike kill(2) after the watcher reaped the child. */
int launcher_signal(int pidfd, int sig) {
  return syscall(SYS_pidfd_send_signal, pidfd, sig, (void *)0, 0) < 0 ? -errno : 0;
}
