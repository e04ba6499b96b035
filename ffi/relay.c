/*
 * Port forwarder engine: listeners in the netns of the calling thread, connections to a target inside another
 * netns. Compiled at run time by bun:ffi's cc (TinyCC), so it declares the few libc functions it needs itself
 * instead of relying on system headers being installed.
 *
 * Network namespaces belong to threads, not processes: the first loop thread enters the target netns with
 * setns and starts the others, so every socket they create lives there, while the JS thread stays where it was.
 * Event loops (as many as the machine has cores, up to MAX_LOOPS), each an epoll of its own and no locks:
 *   TCP: every loop waits on every TCP listener (EPOLLEXCLUSIVE: a connection wakes one loop), and the loop
 *     that accepts a connection serves it to the end. Its socket to the target is opened and connected
 *     without blocking at once, and both sockets join the loop's epoll, edge-triggered, for good (no
 *     epoll_ctl while data flows). Bytes move by non-blocking splice, socket -> pipe -> socket, never
 *     entering user space; each way of a connection holds a pipe only while bytes are in it, taken from the
 *     loop's pool and given back empty, so an idle connection costs two sockets and nothing more. A pipe
 *     starts at the default 64 KiB and grows to 1 MiB when a read fills it (GROWN_MAX of them in all, shared
 *     out among the loops, since the kernel counts pipe pages against the user's pipe-user-pages-soft, 64 MiB
 *     by default, and past it gives every new pipe of the user two pages): a bulk transfer then moves in
 *     fewer, larger splices. End of data from one side (read 0) becomes shutdown(SHUT_WR) of the other once its
 *     pipe is empty (half-close); the connection closes when both ways have ended. An error on either side
 *     (a reset, the target refusing) resets both, as the target or the client would have.
 *   Each loop asks for a short scheduler slice (short_slice), so a busy machine delays its bursts less.
 *   UDP (the first loop only): each client address gets its own socket in the netns (a flow), so replies can
 *     be told apart and sent back to the right client; flows idle for longer than the configured time close.
 * Keeping the client's address (relay_keep_source): the socket to the target is transparent (IP_TRANSPARENT,
 *   which the netns's owner may set), carries its listener's mark and is bound to the client's address and
 *   port, a loopback client's as the gateway's; the netns routes the replies to it by that mark (how, for each
 *   mark: drivers/portfwd/return-path.ts). Three system calls more per connection or flow. A client of
 *   another family than the target, one whose address cannot be had there (link-local, or loopback without a
 *   gateway), or a target on loopback: as before.
 * Bun ignores SIGPIPE, so writing to a socket the peer closed fails with EPIPE instead of killing the process.
 */

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long pthread_t;
typedef unsigned int socklen_t;

/* Opaque libc types, sized for x86_64 and aarch64 alike (pthread_attr_t is 56 and 64 bytes, sem_t 32). */
typedef union { char bytes[64]; long align; } pthread_attr_t;
typedef union { char bytes[32]; long align; } sem_t;
typedef struct { unsigned long bits[16]; } sigset_t;

struct sockaddr_any { unsigned short family; char data[126]; };
struct timespec { long sec; long nsec; };
struct linger { int onoff; int seconds; };

/* The kernel's epoll_event is packed on x86_64 only. */
#if defined(__x86_64__)
struct __attribute__((packed)) epoll_event { unsigned int events; void *ptr; };
#else
struct epoll_event { unsigned int events; void *ptr; };
#endif

extern int *__errno_location(void);
extern void *calloc(size_t n, size_t size);
extern void *realloc(void *p, size_t size);
extern void free(void *p);
extern int memcmp(const void *a, const void *b, size_t n);
extern int inet_pton(int af, const char *src, void *dst);
extern int socket(int domain, int type, int protocol);
extern int setsockopt(int fd, int level, int name, const void *value, socklen_t len);
extern int bind(int fd, const void *addr, socklen_t len);
extern int listen(int fd, int backlog);
extern int accept4(int fd, void *addr, socklen_t *len, int flags);
extern int connect(int fd, const void *addr, socklen_t len);
extern int shutdown(int fd, int how);
extern int close(int fd);
extern ssize_t recvfrom(int fd, void *buf, size_t n, int flags, void *addr, socklen_t *len);
extern ssize_t sendto(int fd, const void *buf, size_t n, int flags, const void *addr, socklen_t len);
extern ssize_t splice(int in, void *off_in, int out, void *off_out, size_t n, unsigned int flags);
extern int pipe2(int *fds, int flags);
extern int fcntl(int fd, int cmd, ...);
extern int epoll_create1(int flags);
extern int epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
extern int epoll_wait(int ep, struct epoll_event *evs, int max, int timeout_ms);
extern int clock_gettime(int clock, struct timespec *ts);
extern int nanosleep(const struct timespec *req, struct timespec *rem);
extern int setns(int fd, int nstype);
extern long sysconf(int name);
extern int pthread_attr_init(pthread_attr_t *attr);
extern int pthread_attr_setdetachstate(pthread_attr_t *attr, int state);
extern int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
extern int sem_init(sem_t *sem, int shared, unsigned int value);
extern int sem_wait(sem_t *sem);
extern int sem_post(sem_t *sem);
extern int sem_destroy(sem_t *sem);
extern int sigfillset(sigset_t *set);
extern long syscall(long number, ...);
extern int getpriority(int which, unsigned who);
extern int pthread_sigmask(int how, const sigset_t *set, sigset_t *old);

#define errno (*__errno_location())
#define EINTR 4
#define EAGAIN 11
#define ENOMEM 12
#define EINVAL 22
#define ENFILE 23
#define EMFILE 24
#define EADDRINUSE 98
#define EADDRNOTAVAIL 99
#define EINPROGRESS 115
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_LINGER 13
#define SO_MARK 36
#define SOL_IP 0
#define IP_TRANSPARENT 19
#define IPV6_TRANSPARENT 75
#define IPPROTO_TCP 6
#define TCP_NODELAY 1
#define IPPROTO_IPV6 41
#define IPV6_V6ONLY 26
#define SHUT_WR 1
#define MSG_DONTWAIT 0x40
#define F_SETPIPE_SZ 1031
#define SPLICE_F_MOVE 1
#define SPLICE_F_NONBLOCK 2
#define EPOLL_CLOEXEC 02000000
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLLIN 0x001
#define EPOLLOUT 0x004
#define EPOLLERR 0x008
#define EPOLLHUP 0x010
#define EPOLLRDHUP 0x2000
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLET (1u << 31)
#define CLOCK_MONOTONIC 1
#define CLONE_NEWNET 0x40000000
#define PTHREAD_CREATE_DETACHED 1
#define SIG_BLOCK 0
#define _SC_NPROCESSORS_ONLN 84
#define PRIO_PROCESS 0
#define SCHED_OTHER 0
#if defined(__x86_64__)
#define SYS_sched_setattr 314
#else
#define SYS_sched_setattr 274
#endif

#define PROTO_TCP 0 /* relay_add's proto; anything else is UDP */
#define BACKLOG 4096
#define MAX_LOOPS 4
/* The slice a loop asks for: the least the kernel grants. */
#define SLICE_NS 100000
/* A new pipe's capacity (16 pages), and what a pipe a read filled grows to. */
#define DEFAULT_PIPE_BYTES (64 * 1024)
#define PIPE_BYTES (1 << 20)
/* Grown pipes the relay may hold (16 MiB of the user's pipe pages), and pipes a loop's pool keeps. */
#define GROWN_MAX 16
#define POOL_MAX 64
/* Reads one way of a connection makes in a row before the loop serves the others (it comes back to it). */
#define ROUNDS 16
#define FLOW_BUCKETS 1024
#define SWEEP_MS 1000
#define MAX_EVENTS 64
#define DATAGRAM_MAX 65536
#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

/* Every epoll registration points at one of these; `kind` says which. */
enum kind { TCP_LISTENER, UDP_LISTENER, UDP_FLOW, TCP_SIDE };

struct endpoint { struct sockaddr_any addr; socklen_t len; };

/* Set before the relay starts, read only after: how connections to the target keep the client's address. */
static struct {
  int on;
  /* What a loopback client of each family becomes; len 0 when there is none. */
  struct endpoint gateway4;
  struct endpoint gateway6;
} keep;

struct listener {
  enum kind kind;
  int fd;
  struct endpoint target;
  /* SO_MARK of its sockets to the target when the client's address is kept */
  unsigned mark;
};

struct flow {
  enum kind kind;
  int fd;
  struct listener *listener;
  struct endpoint client;
  long last_ms;
  struct flow *next;
};

struct pipe { int rd; int wr; int grown; };

/* One way of a connection: bytes read from one side, on their way to the other. */
struct way {
  struct pipe pipe;  /* rd -1 while the way holds none */
  long queued;       /* bytes in the pipe */
  int blocked;       /* the other side took less than the pipe held: waits for it to be writable */
  int eof;           /* the side sent its last byte */
  int shut;          /* ... and the other side has been told (shutdown SHUT_WR) */
};

struct conn;

/* What epoll hands back for a connection's socket: side 0 is the client, 1 the target. */
struct side { enum kind kind; struct conn *conn; int index; };

struct conn {
  struct side side[2];
  int fd[2];
  struct way way[2];  /* way[i] carries what side i sends */
  int connecting;     /* the target has not taken the connection yet */
  int closed;
  int again;          /* bit i: way i stopped after ROUNDS reads, with more to read */
  struct conn *next;  /* on the loop's again or closed list */
};

struct relay;

struct loop {
  struct relay *relay;
  int epoll_fd;
  struct pipe pool[POOL_MAX];
  int pooled;
  int grown;
  int grown_max;  /* its share of GROWN_MAX */
  /* Connections with a way to come back to, and connections closed during this round of events (freed once
   * no event of the round can point at them). */
  struct conn *again;
  struct conn *closed;
};

struct relay {
  int netns_fd;
  long idle_ms;
  struct loop loops[MAX_LOOPS];
  int nloops;
  struct listener **listeners;
  int nlisteners;
  struct flow *flows[FLOW_BUCKETS];
  sem_t started;
  int start_errno;
  char datagram[DATAGRAM_MAX];
};

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.sec * 1000 + ts.nsec / 1000000;
}

static int parse_endpoint(const char *ip, int port, struct endpoint *out) {
  unsigned char *raw = (unsigned char *)&out->addr;
  int v6 = 0;
  for (const char *p = ip; *p; p++) if (*p == ':') v6 = 1;
  for (size_t i = 0; i < sizeof out->addr; i++) raw[i] = 0;
  out->addr.family = v6 ? AF_INET6 : AF_INET;
  raw[2] = (unsigned char)(port >> 8);
  raw[3] = (unsigned char)port;
  /* sin_addr sits at offset 4, sin6_addr at offset 8 (after sin6_flowinfo). */
  if (inet_pton(out->addr.family, ip, raw + (v6 ? 8 : 4)) != 1) return -EINVAL;
  out->len = v6 ? 28 : 16;
  return 0;
}

static void set_int(int fd, int level, int name, int value) {
  setsockopt(fd, level, name, &value, sizeof value);
}

static int is_zero(const unsigned char *b, int n) {
  for (int i = 0; i < n; i++) if (b[i]) return 0;
  return 1;
}

/* Where a connection from peer to target comes from when the client's address is kept: the client itself, a
 * loopback client as the gateway (its port kept). 0 when it cannot be kept. */
static int source_of(const struct endpoint *peer, const struct endpoint *target, struct endpoint *out) {
  const unsigned char *a = (const unsigned char *)&peer->addr;
  const struct endpoint *gateway = 0;
  const unsigned char *t = (const unsigned char *)&target->addr;
  if (!keep.on || peer->addr.family != target->addr.family) return 0;
  if (peer->addr.family == AF_INET) {
    /* The kernel drops a packet to 127/8 from elsewhere: a server on loopback sees loopback. */
    if (t[4] == 127) return 0;
    if (a[4] == 127) gateway = &keep.gateway4;
  } else {
    if (is_zero(t + 8, 15) && t[23] == 1) return 0;
    if (a[8] == 0xfe && (a[9] & 0xc0) == 0x80) return 0; /* fe80::/10 means nothing in the netns */
    if (is_zero(a + 8, 15) && a[23] == 1) gateway = &keep.gateway6;
  }
  if (gateway && gateway->len == 0) return 0;
  *out = *peer;
  unsigned char *o = (unsigned char *)&out->addr;
  if (gateway) {
    /* The gateway's address with the client's port: sin_addr at 4 (4 bytes), sin6_addr at 8 (16 bytes). */
    int at = peer->addr.family == AF_INET ? 4 : 8;
    const unsigned char *g = (const unsigned char *)&gateway->addr;
    for (int i = at; i < at + (at == 4 ? 4 : 16); i++) o[i] = g[i];
  }
  if (peer->addr.family == AF_INET6) for (int i = 4; i < 8; i++) o[i] = 0; /* sin6_flowinfo */
  return 1;
}

/* A socket for the target, bound to source when it is given (then transparent and marked with mark); with
 * anyport, or when source's port is taken, the kernel picks the port. -1 with errno when none could be had. */
static int socket_from(int family, int type, const struct endpoint *source, int anyport, unsigned mark) {
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0 || !source) return fd;
  int one = 1;
  int transparent = family == AF_INET ? setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one)
                                      : setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
  if (transparent < 0 || setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) return fd;
  struct endpoint from = *source;
  unsigned char *port = (unsigned char *)&from.addr + 2;
  if (anyport) port[0] = port[1] = 0;
  if (bind(fd, &from.addr, from.len) == 0) return fd;
  if (errno == EADDRINUSE && !anyport) {
    port[0] = port[1] = 0;
    if (bind(fd, &from.addr, from.len) == 0) return fd;
  }
  close(fd);
  return -1;
}

/* A non-blocking socket connecting (*connecting 1) or connected to target, from source when given; the
 * client's own port first, then any. -1 when the connection failed at once. */
static int connect_from(const struct endpoint *target, const struct endpoint *source, unsigned mark, int *connecting) {
  for (int anyport = 0; anyport < 2; anyport++) {
    int fd = socket_from(target->addr.family, SOCK_STREAM | SOCK_NONBLOCK, source, anyport, mark);
    if (fd < 0) return -1;
    int done = connect(fd, &target->addr, target->len) == 0;
    if (done || errno == EINPROGRESS) {
      set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
      *connecting = !done;
      return fd;
    }
    int err = errno;
    close(fd);
    /* The client's port is in a connection to the target still (TIME_WAIT): any other will do. */
    if (!source || err != EADDRNOTAVAIL) return -1;
  }
  return -1;
}

static void close_pipe(struct loop *lp, struct pipe *p) {
  close(p->rd);
  close(p->wr);
  if (p->grown) lp->grown--;
  p->rd = p->wr = -1;
}

/* The way's pipe back to the pool; only an empty one goes there. */
static void release_pipe(struct loop *lp, struct way *w) {
  if (w->pipe.rd < 0) return;
  if (w->queued == 0 && lp->pooled < POOL_MAX) lp->pool[lp->pooled++] = w->pipe;
  else close_pipe(lp, &w->pipe);
  w->pipe.rd = w->pipe.wr = -1;
  w->queued = 0;
}

static int take_pipe(struct loop *lp, struct way *w) {
  if (lp->pooled > 0) {
    w->pipe = lp->pool[--lp->pooled];
    return 0;
  }
  int fd[2];
  if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
  w->pipe.rd = fd[0];
  w->pipe.wr = fd[1];
  w->pipe.grown = 0;
  return 0;
}

/* A read that filled a pipe is a bulk transfer: a larger pipe moves it in fewer, larger splices. */
static void grow_pipe(struct loop *lp, struct pipe *p) {
  if (p->grown || lp->grown >= lp->grown_max) return;
  if (fcntl(p->wr, F_SETPIPE_SZ, PIPE_BYTES) < 0) return;
  p->grown = 1;
  lp->grown++;
}

/* Moves what side i has sent to the other side, until neither can go on. 0, or -1 when the connection failed. */
static int move(struct loop *lp, struct conn *c, int i) {
  struct way *w = &c->way[i];
  int from = c->fd[i];
  int to = c->fd[!i];
  for (int rounds = 0;; rounds++) {
    while (w->queued > 0) {
      ssize_t n = splice(w->pipe.rd, 0, to, 0, (size_t)w->queued, SPLICE_FLAGS);
      if (n > 0) {
        w->queued -= n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        /* Edge-triggered: the socket's next room for data wakes the loop (EPOLLOUT). */
        w->blocked = 1;
        return 0;
      }
      return -1;
    }
    w->blocked = 0;
    if (w->eof) {
      release_pipe(lp, w);
      /* Shut down while still connecting, the socket would drop the connection: the end waits for it. */
      if (i == 0 && c->connecting) return 0;
      if (!w->shut) shutdown(to, SHUT_WR);
      w->shut = 1;
      return 0;
    }
    if (rounds == ROUNDS) {
      release_pipe(lp, w);
      if (!c->again) {
        c->next = lp->again;
        lp->again = c;
      }
      c->again |= 1 << i;
      return 0;
    }
    if (w->pipe.rd < 0 && take_pipe(lp, w) < 0) return -1;
    ssize_t n = splice(from, 0, w->pipe.wr, 0, PIPE_BYTES, SPLICE_FLAGS);
    if (n > 0) {
      w->queued = n;
      if (n >= DEFAULT_PIPE_BYTES) grow_pipe(lp, &w->pipe);
    } else if (n == 0) {
      w->eof = 1;
    } else if (errno == EAGAIN) {
      /* Read to the end: the next bytes from the side wake the loop (EPOLLIN). */
      release_pipe(lp, w);
      return 0;
    } else if (errno != EINTR) {
      return -1;
    }
  }
}

/* Closes both sockets, resetting them when the connection failed; freed at the end of the round of events. */
static void close_conn(struct loop *lp, struct conn *c, int reset) {
  struct linger now = { 1, 0 };
  for (int i = 0; i < 2; i++) {
    if (reset) setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &now, sizeof now);
    close(c->fd[i]);
    release_pipe(lp, &c->way[i]);
  }
  c->closed = 1;
  if (!c->again) {
    c->next = lp->closed;
    lp->closed = c;
  }
}

static void after_move(struct loop *lp, struct conn *c, int failed) {
  if (failed) close_conn(lp, c, 1);
  else if (c->way[0].shut && c->way[1].shut) close_conn(lp, c, 0);
}

static void on_side(struct loop *lp, struct side *s, unsigned events) {
  struct conn *c = s->conn;
  int i = s->index;
  if (c->closed) return;
  /* A reset, or the target refusing the connection. */
  if (events & EPOLLERR) {
    close_conn(lp, c, 1);
    return;
  }
  int failed = 0;
  if (i == 1 && c->connecting && (events & EPOLLOUT)) {
    c->connecting = 0;
    /* A client that ended before the target took the connection: its end goes through now. */
    if (c->way[0].eof && !c->way[0].blocked) failed = move(lp, c, 0) < 0;
  }
  /* The other side's bytes wait for this one to take them. */
  if (c->way[!i].blocked && (events & (EPOLLOUT | EPOLLHUP))) failed = move(lp, c, !i) < 0;
  if (!failed && !c->way[i].blocked && !c->way[i].eof && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) failed = move(lp, c, i) < 0;
  after_move(lp, c, failed);
}

/* The ways that stopped after ROUNDS reads, read on. */
static void come_back(struct loop *lp) {
  struct conn *list = lp->again;
  lp->again = 0;
  while (list) {
    struct conn *c = list;
    list = c->next;
    int ways = c->again;
    c->again = 0;
    if (c->closed) {
      c->next = lp->closed;
      lp->closed = c;
      continue;
    }
    int failed = 0;
    for (int i = 0; i < 2 && !failed && !c->closed; i++) {
      if ((ways & (1 << i)) && !c->way[i].blocked && !c->way[i].eof) failed = move(lp, c, i) < 0;
    }
    if (!c->closed) after_move(lp, c, failed);
  }
}

static void open_conn(struct loop *lp, struct listener *l, int client, struct endpoint *peer) {
  struct endpoint source;
  int connecting = 0;
  int target = connect_from(&l->target, source_of(peer, &l->target, &source) ? &source : 0, l->mark, &connecting);
  struct conn *c = target >= 0 ? calloc(1, sizeof *c) : 0;
  if (c) {
    c->connecting = connecting;
    c->fd[0] = client;
    c->fd[1] = target;
    for (int i = 0; i < 2; i++) {
      c->side[i].kind = TCP_SIDE;
      c->side[i].conn = c;
      c->side[i].index = i;
      c->way[i].pipe.rd = c->way[i].pipe.wr = -1;
    }
    struct epoll_event ev = { EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->side[0] };
    if (epoll_ctl(lp->epoll_fd, EPOLL_CTL_ADD, client, &ev) == 0) {
      ev.ptr = &c->side[1];
      if (epoll_ctl(lp->epoll_fd, EPOLL_CTL_ADD, target, &ev) == 0) return;
    }
    free(c);
  }
  /* The target refused (or we ran out of something): reset the client as the target would have. */
  struct linger reset = { 1, 0 };
  setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close(client);
  if (target >= 0) close(target);
}

static void accept_all(struct loop *lp, struct listener *l) {
  for (;;) {
    struct endpoint peer;
    peer.len = sizeof peer.addr;
    int fd = accept4(l->fd, &peer.addr, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        /* Level-triggered epoll would wake at once again; give closing connections a moment. */
        struct timespec pause = { 0, 10 * 1000000 };
        nanosleep(&pause, 0);
      }
      return;
    }
    open_conn(lp, l, fd, &peer);
  }
}

/* Keeps the client's address from here on, each listener's sockets carrying its mark; gateway4/6 "" when
 * there is none. Returns 0 or -EINVAL. */
int relay_keep_source(struct relay *r, const char *gateway4, const char *gateway6) {
  (void)r;
  keep.gateway4.len = keep.gateway6.len = 0;
  if (*gateway4 && (parse_endpoint(gateway4, 0, &keep.gateway4) < 0 || keep.gateway4.addr.family != AF_INET)) return -EINVAL;
  if (*gateway6 && (parse_endpoint(gateway6, 0, &keep.gateway6) < 0 || keep.gateway6.addr.family != AF_INET6)) return -EINVAL;
  keep.on = 1;
  return 0;
}

/* Lives until the process exits: the forwarder has no use for a relay it stopped. NULL means out of memory. */
struct relay *relay_new(int netns_fd, int idle_seconds) {
  struct relay *r = calloc(1, sizeof *r);
  if (!r) return 0;
  r->netns_fd = netns_fd;
  r->idle_ms = (long)idle_seconds * 1000;
  return r;
}

/* Binds one listener in the caller's netns; returns 0 or -errno. Only the exact address asked for: a v6
 * wildcard stays v6-only, so "::" never also takes the IPv4 port. mark: its sockets' SO_MARK once the client's
 * address is kept (relay_keep_source). */
int relay_add(struct relay *r, int proto, const char *host_ip, int host_port, const char *child_ip, int child_port, unsigned mark) {
  struct listener *l = calloc(1, sizeof *l);
  struct listener **grown = realloc(r->listeners, (r->nlisteners + 1) * sizeof *grown);
  struct endpoint host;
  int err = 0;
  if (!l || !grown) {
    free(l);
    return -ENOMEM;
  }
  r->listeners = grown;
  if ((err = parse_endpoint(host_ip, host_port, &host)) || (err = parse_endpoint(child_ip, child_port, &l->target))) {
    free(l);
    return err;
  }
  l->kind = proto == PROTO_TCP ? TCP_LISTENER : UDP_LISTENER;
  l->mark = mark;
  l->fd = socket(host.addr.family, (proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l->fd < 0) {
    err = -errno;
    free(l);
    return err;
  }
  set_int(l->fd, SOL_SOCKET, SO_REUSEADDR, 1);
  /* Accepted connections inherit it from the listener: one system call less per connection. */
  if (proto == PROTO_TCP) set_int(l->fd, IPPROTO_TCP, TCP_NODELAY, 1);
  if (host.addr.family == AF_INET6) set_int(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (bind(l->fd, &host.addr, host.len) < 0 || (proto == PROTO_TCP && listen(l->fd, BACKLOG) < 0)) {
    err = -errno;
    close(l->fd);
    free(l);
    return err;
  }
  r->listeners[r->nlisteners++] = l;
  return 0;
}

static unsigned bucket_of(struct listener *l, struct endpoint *client) {
  unsigned h = (unsigned)(unsigned long)l;
  unsigned char *b = (unsigned char *)&client->addr;
  for (socklen_t i = 0; i < client->len; i++) h = h * 31 + b[i];
  return h % FLOW_BUCKETS;
}

static struct flow *flow_for(struct relay *r, struct listener *l, struct endpoint *client) {
  unsigned b = bucket_of(l, client);
  for (struct flow *f = r->flows[b]; f; f = f->next) {
    if (f->listener == l && f->client.len == client->len && memcmp(&f->client.addr, &client->addr, client->len) == 0) return f;
  }
  struct flow *f = calloc(1, sizeof *f);
  if (!f) return 0;
  f->kind = UDP_FLOW;
  f->listener = l;
  f->client = *client;
  struct endpoint source;
  f->fd = socket_from(l->target.addr.family, SOCK_DGRAM | SOCK_NONBLOCK, source_of(client, &l->target, &source) ? &source : 0, 0, l->mark);
  struct epoll_event ev = { EPOLLIN, f };
  if (f->fd < 0 || connect(f->fd, &l->target.addr, l->target.len) < 0 || epoll_ctl(r->loops[0].epoll_fd, EPOLL_CTL_ADD, f->fd, &ev) < 0) {
    if (f->fd >= 0) close(f->fd);
    free(f);
    return 0;
  }
  f->next = r->flows[b];
  r->flows[b] = f;
  return f;
}

static void udp_from_clients(struct relay *r, struct listener *l) {
  for (;;) {
    struct endpoint client;
    client.len = sizeof client.addr;
    ssize_t n = recvfrom(l->fd, r->datagram, DATAGRAM_MAX, MSG_DONTWAIT, &client.addr, &client.len);
    if (n < 0) return;
    struct flow *f = flow_for(r, l, &client);
    if (!f) continue;
    f->last_ms = now_ms();
    sendto(f->fd, r->datagram, (size_t)n, MSG_DONTWAIT, 0, 0);
  }
}

static void udp_from_target(struct relay *r, struct flow *f) {
  for (;;) {
    ssize_t n = recvfrom(f->fd, r->datagram, DATAGRAM_MAX, MSG_DONTWAIT, 0, 0);
    /* ECONNREFUSED (an ICMP error for an earlier datagram) is not the end of the flow; only EAGAIN is. */
    if (n < 0 && errno != EAGAIN) continue;
    if (n < 0) return;
    f->last_ms = now_ms();
    sendto(f->listener->fd, r->datagram, (size_t)n, MSG_DONTWAIT, &f->client.addr, f->client.len);
  }
}

static void expire_flows(struct relay *r, long now) {
  for (int b = 0; b < FLOW_BUCKETS; b++) {
    for (struct flow **link = &r->flows[b]; *link;) {
      struct flow *f = *link;
      if (now - f->last_ms < r->idle_ms) {
        link = &f->next;
        continue;
      }
      *link = f->next;
      epoll_ctl(r->loops[0].epoll_fd, EPOLL_CTL_DEL, f->fd, 0);
      close(f->fd);
      free(f);
    }
  }
}

static void run_loop(struct loop *lp) {
  struct relay *r = lp->relay;
  struct epoll_event events[MAX_EVENTS];
  int udp = lp == &r->loops[0];
  long last_sweep = now_ms();
  for (;;) {
    int n = epoll_wait(lp->epoll_fd, events, MAX_EVENTS, lp->again ? 0 : udp ? SWEEP_MS : -1);
    for (int i = 0; i < n; i++) {
      enum kind *kind = events[i].ptr;
      if (*kind == TCP_SIDE) on_side(lp, (struct side *)kind, events[i].events);
      else if (*kind == TCP_LISTENER) accept_all(lp, (struct listener *)kind);
      else if (*kind == UDP_LISTENER) udp_from_clients(r, (struct listener *)kind);
      else udp_from_target(r, (struct flow *)kind);
    }
    if (lp->again) come_back(lp);
    while (lp->closed) {
      struct conn *c = lp->closed;
      lp->closed = c->next;
      free(c);
    }
    if (udp) {
      long now = now_ms();
      if (now - last_sweep >= SWEEP_MS) {
        expire_flows(r, now);
        last_sweep = now;
      }
    }
  }
}

/* struct sched_attr as of Linux 3.14 (SCHED_ATTR_SIZE_VER0). */
struct sched_attr {
  unsigned size;
  unsigned policy;
  unsigned long flags;
  int nice;
  unsigned priority;
  unsigned long runtime;
  unsigned long deadline;
  unsigned long period;
};

/* Each wakeup of a loop is a short burst of work (moving what a socket holds): asks the scheduler for a short
 * slice (EEVDF's custom slice, Linux 6.12 and later; older kernels ignore it), so that under load a loop runs
 * soon after its data arrives instead of waiting behind longer-running tasks. Its share of the CPU stays the
 * same, and so does its nice value; no privilege is needed. */
static void short_slice(void) {
  struct sched_attr a = { sizeof a, SCHED_OTHER, 0, getpriority(PRIO_PROCESS, 0), 0, SLICE_NS, 0, 0 };
  syscall(SYS_sched_setattr, 0, &a, 0);
}

static void *loop_thread(void *arg) {
  short_slice();
  run_loop(arg);
  return 0;
}

/* The first loop: enters the target netns, starts the other loops there (a thread inherits its creator's
 * namespaces), says how that went, and serves. */
static void *first_loop(void *arg) {
  struct relay *r = arg;
  sigset_t all;
  /* Signals are the JS thread's business; the other loops inherit this mask. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, 0);
  r->start_errno = setns(r->netns_fd, CLONE_NEWNET) < 0 ? errno : 0;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 1; i < r->nloops && !r->start_errno; i++) {
    pthread_t t;
    int err = pthread_create(&t, &attr, loop_thread, &r->loops[i]);
    /* Fewer loops then: the ones running serve every TCP listener. */
    if (err) break;
  }
  int failed = r->start_errno != 0;
  sem_post(&r->started);
  short_slice();
  if (!failed) run_loop(&r->loops[0]);
  return 0;
}

static int loop_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > MAX_LOOPS ? MAX_LOOPS : (int)n;
}

/* Starts the loops and waits until they are inside the target netns; returns 0 or -errno. */
int relay_start(struct relay *r) {
  r->nloops = loop_count();
  for (int i = 0; i < r->nloops; i++) {
    struct loop *lp = &r->loops[i];
    lp->relay = r;
    lp->grown_max = GROWN_MAX / r->nloops;
    lp->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (lp->epoll_fd < 0) return -errno;
    for (int j = 0; j < r->nlisteners; j++) {
      struct listener *l = r->listeners[j];
      if (l->kind != TCP_LISTENER && i > 0) continue;
      struct epoll_event ev = { EPOLLIN | (l->kind == TCP_LISTENER ? EPOLLEXCLUSIVE : 0), l };
      if (epoll_ctl(lp->epoll_fd, EPOLL_CTL_ADD, l->fd, &ev) < 0) return -errno;
    }
  }
  sem_init(&r->started, 0, 0);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&t, &attr, first_loop, r);
  if (err) return -err;
  while (sem_wait(&r->started) < 0 && errno == EINTR) {}
  sem_destroy(&r->started);
  return -r->start_errno;
}
