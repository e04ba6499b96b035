/*
 * Network namespace work on a disposable thread. Compiled at run time by bun:ffi's cc (TinyCC), so it
 * declares the few libc functions it needs itself instead of relying on system headers being installed.
 *
 * Network namespaces belong to threads. Entering one on the JS thread means having to come back, and inside a
 * user namespace that cannot be done: setns into the host's network namespace needs CAP_SYS_ADMIN in the
 * initial user namespace. So each operation starts a thread that enters, does its one thing, and exits
 * without ever coming back; the caller joins it. What it made outlives it: a socket keeps the namespace it
 * was created in, and a bind mount keeps the namespace it names.
 */

typedef unsigned long pthread_t;
typedef struct { unsigned long bits[16]; } sigset_t;

extern int *__errno_location(void);
extern int pthread_create(pthread_t *t, const void *attr, void *(*fn)(void *), void *arg);
extern int pthread_join(pthread_t t, void **ret);
extern int pthread_sigmask(int how, const sigset_t *set, sigset_t *old);
extern int sigfillset(sigset_t *set);
extern int setns(int fd, int nstype);
extern int unshare(int flags);
extern int socket(int domain, int type, int protocol);
extern int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data);
extern int open(const char *path, int flags, ...);
extern int close(int fd);
extern int ioctl(int fd, unsigned long request, ...);
extern long write(int fd, const void *buf, unsigned long count);

#define errno (*__errno_location())
#define SIG_SETMASK 2
#define CLONE_NEWNET 0x40000000
#define SOCK_CLOEXEC 02000000
#define MS_BIND 0x1000
#define O_CLOEXEC 02000000
#define O_WRONLY 1
#define AF_INET 2
#define SOCK_DGRAM 2
#define SIOCGIFFLAGS 0x8913
#define SIOCSIFFLAGS 0x8914
#define IFF_UP 0x1
#define ENOENT 2
#define EROFS 30

/* Steps an operation can fail in; ffi/nsthread.ts names them in its errors. */
#define STEP_THREAD 1
#define STEP_SETNS 2
#define STEP_SOCKET 3
#define STEP_UNSHARE 4
#define STEP_MOUNT 5
#define STEP_OPEN 6
#define STEP_IOCTL 7
#define STEP_WRITE 8

/* What OP_CREATE does in the new namespace before it is mounted (nsthread.ts NEW_NETNS_*). */
#define NEW_LOOPBACK_UP 1
#define NEW_IPV6_AUTOCONF_OFF 2

#define OP_SOCKET 0
#define OP_CREATE 1
#define OP_OPEN 2

struct job {
  int op;
  int nsfd, domain, type, protocol; /* OP_SOCKET, OP_OPEN (nsfd; type holds open's flags); OP_CREATE: type holds NEW_* */
  const char *path;                 /* OP_CREATE, OP_OPEN */
  int result;
  int step;
  int err;
};

static void failed(struct job *j, int step) {
  j->step = step;
  j->err = errno;
}

/* struct ifreq as SIOCGIFFLAGS and SIOCSIFFLAGS read it: the name, then ifr_flags, in 40 bytes. */
struct ifreq_flags {
  char name[16];
  short flags;
  char pad[22];
};

/* lo up, as `ip link set lo up`: its flags with IFF_UP added. */
static int loopback_up(struct job *j) {
  struct ifreq_flags ifr = {{'l', 'o', 0}, 0, {0}};
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    failed(j, STEP_SOCKET);
    return -1;
  }
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    failed(j, STEP_IOCTL);
    close(s);
    return -1;
  }
  ifr.flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
    failed(j, STEP_IOCTL);
    close(s);
    return -1;
  }
  close(s);
  return 0;
}

/* net.ipv6.conf.default.autoconf = 0 for the interfaces made here later; no IPv6 (ENOENT) or a read-only /proc/sys (EROFS) is no error, as with netavark. */
static int ipv6_autoconf_off(struct job *j) {
  int fd = open("/proc/sys/net/ipv6/conf/default/autoconf", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == EROFS) return 0;
    failed(j, STEP_OPEN);
    return -1;
  }
  if (write(fd, "0", 1) != 1) {
    failed(j, STEP_WRITE);
    close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

static void *run(void *arg) {
  struct job *j = arg;
  if (j->op == OP_SOCKET || j->op == OP_OPEN) {
    if (setns(j->nsfd, CLONE_NEWNET) < 0) {
      failed(j, STEP_SETNS);
      return (void *)0;
    }
    if (j->op == OP_OPEN) {
      /* /proc/sys/net resolves against the opener's netns at open(); the fd keeps that netns's entry */
      j->result = open(j->path, j->type | O_CLOEXEC);
      if (j->result < 0) failed(j, STEP_OPEN);
      return (void *)0;
    }
    j->result = socket(j->domain, j->type | SOCK_CLOEXEC, j->protocol);
    if (j->result < 0) failed(j, STEP_SOCKET);
    return (void *)0;
  }
  if (unshare(CLONE_NEWNET) < 0) {
    failed(j, STEP_UNSHARE);
    return (void *)0;
  }
  /* before the mount, so a failure leaves nothing behind: the namespace ends with this thread */
  if ((j->type & NEW_LOOPBACK_UP) && loopback_up(j) < 0) return (void *)0;
  if ((j->type & NEW_IPV6_AUTOCONF_OFF) && ipv6_autoconf_off(j) < 0) return (void *)0;
  if (mount("/proc/thread-self/ns/net", j->path, (void *)0, MS_BIND, (void *)0) < 0) failed(j, STEP_MOUNT);
  return (void *)0;
}

/*
 * Runs the job on a new thread and waits for it. The thread starts with every signal blocked, so no handler
 * of the process ever runs in a foreign namespace. Returns the result, or -errno with *step set.
 */
static int in_thread(struct job *j, int *step) {
  sigset_t all, old;
  pthread_t t;
  int err;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  err = pthread_create(&t, (void *)0, run, j);
  pthread_sigmask(SIG_SETMASK, &old, (void *)0);
  if (err) {
    *step = STEP_THREAD;
    return -err;
  }
  pthread_join(t, (void **)0);
  *step = j->step;
  return j->step ? -j->err : j->result;
}

/* A close-on-exec socket(domain, type, protocol) in the network namespace nsfd refers to. */
int nsthread_socket(int nsfd, int domain, int type, int protocol, int *step) {
  struct job j = {OP_SOCKET, nsfd, domain, type, protocol, (void *)0, -1, 0, 0};
  return in_thread(&j, step);
}

/* open(path, flags | O_CLOEXEC) from inside the network namespace nsfd refers to. */
int nsthread_open(int nsfd, const char *path, int flags, int *step) {
  struct job j = {OP_OPEN, nsfd, 0, flags, 0, path, -1, 0, 0};
  return in_thread(&j, step);
}

/* A new network namespace, set up as setup (NEW_* bits) says, bind-mounted onto the existing file path. */
int nsthread_create_netns(const char *path, int setup, int *step) {
  struct job j = {OP_CREATE, -1, 0, setup, 0, path, 0, 0, 0};
  return in_thread(&j, step);
}
