/*
 * Port forwarder engine: listeners in the netns of the calling thread, connections to a target inside another
 * netns. Compiled at run time by bun:ffi's cc (TinyCC), so it declares the few libc functions it needs itself
 * instead of relying on system headers being installed.
 *
 * Network namespaces belong to threads, not processes: one event thread enters the target netns with setns and
 * every socket it (or a thread it starts) creates lives there, while the JS thread stays where it was.
 *   event thread: epoll over TCP listeners (accept, hand the connection to a worker), UDP listeners and flows.
 *   workers: a connection's worker connects to the target, then splices client->target itself and hands
 *     target->client to a second worker, through one pipe per direction, so the bytes never enter user space.
 *     A pipe is the worker's, kept for its next connection while it is left empty; it starts at the default
 *     64 KiB and grows to 1 MiB when a transfer fills it (measured: sizing every pipe up front cost short
 *     connections a third of their rate).
 *     Workers are kept for the next connection when they are done (up to MAX_IDLE of them wait), so a
 *     connection costs no thread creation once the forwarder is warm; a job never waits for a worker: with
 *     none idle, a new one starts (a connection waits on its second half, so a bounded pool could deadlock).
 * UDP has no connections: each client address gets its own socket in the netns (a flow), so replies can be
 * told apart and sent back to the right client; flows idle for longer than the configured time are closed.
 * Keeping the client's address (relay_keep_source): the socket to the target is transparent (IP_TRANSPARENT,
 *   which the netns's owner may set), carries a mark and is bound to the client's address and port, a loopback
 *   client's as the gateway's; rules in the netns (drivers/portfwd/return-path.ts) route the replies to it.
 *   Three system calls more per connection or flow. A client of another family than the target, one whose
 *   address cannot be had there (link-local, or loopback without a gateway), or a target on loopback: as before.
 * Bun ignores SIGPIPE, so writing to a socket the peer closed fails with EPIPE instead of killing the process.
 */

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long pthread_t;
typedef unsigned int socklen_t;

/* Opaque libc types, sized for x86_64 and aarch64 alike (pthread_attr_t is 56 and 64 bytes, sem_t 32). */
typedef union { char bytes[64]; long align; } pthread_attr_t;
typedef union { char bytes[32]; long align; } sem_t;
/* glibc's are 40 (x86_64) or 48 (aarch64) and 48 bytes; all zeros is the default initializer of both. */
typedef union { char bytes[64]; long align; } pthread_mutex_t;
typedef union { char bytes[64]; long align; } pthread_cond_t;
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
extern int pthread_attr_init(pthread_attr_t *attr);
extern int pthread_attr_setstacksize(pthread_attr_t *attr, size_t size);
extern int pthread_attr_setdetachstate(pthread_attr_t *attr, int state);
extern int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
extern int sem_init(sem_t *sem, int shared, unsigned int value);
extern int sem_wait(sem_t *sem);
extern int sem_post(sem_t *sem);
extern int sem_destroy(sem_t *sem);
extern int pthread_mutex_lock(pthread_mutex_t *m);
extern int pthread_mutex_unlock(pthread_mutex_t *m);
extern int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
extern int pthread_cond_signal(pthread_cond_t *c);
extern int sigfillset(sigset_t *set);
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
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
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
#define SHUT_RDWR 2
#define MSG_DONTWAIT 0x40
#define F_SETPIPE_SZ 1031
#define SPLICE_F_MOVE 1
#define EPOLL_CLOEXEC 02000000
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLLIN 1
#define CLOCK_MONOTONIC 1
#define CLONE_NEWNET 0x40000000
#define PTHREAD_CREATE_DETACHED 1
#define SIG_BLOCK 0

#define PROTO_TCP 0 /* relay_add's proto; anything else is UDP */
#define BACKLOG 4096
/* Large enough that one splice moves what a busy socket has queued; pipe pages are only used when filled. */
#define PIPE_BYTES (1 << 20)
/* A new pipe's capacity (16 pages). */
#define DEFAULT_PIPE_BYTES (64 * 1024)
#define CONN_STACK (64 * 1024)
#define MAX_IDLE 64
#define FLOW_BUCKETS 1024
#define SWEEP_MS 1000
#define MAX_EVENTS 64
#define DATAGRAM_MAX 65536

/* Every epoll registration points at one of these; `kind` says which. */
enum kind { TCP_LISTENER, UDP_LISTENER, UDP_FLOW };

struct endpoint { struct sockaddr_any addr; socklen_t len; };

/* Set before the relay starts, read only after: how connections to the target keep the client's address. */
static struct {
  int on;
  unsigned mark;
  /* What a loopback client of each family becomes; len 0 when there is none. */
  struct endpoint gateway4;
  struct endpoint gateway6;
} keep;

struct listener {
  enum kind kind;
  int fd;
  struct endpoint target;
};

struct flow {
  enum kind kind;
  int fd;
  struct listener *listener;
  struct endpoint client;
  long last_ms;
  struct flow *next;
};

struct relay {
  int netns_fd;
  long idle_ms;
  int epoll_fd;
  struct listener **listeners;
  int nlisteners;
  struct flow *flows[FLOW_BUCKETS];
  sem_t started;
  int start_errno;
  char datagram[DATAGRAM_MAX];
};

/* A worker's pipe, kept for its next job as long as a job leaves it empty. */
struct wpipe { int fd[2]; int grown; };

struct pump { int from; int to; struct wpipe *pipe; sem_t done; };

struct conn {
  int client;
  int server;
  struct endpoint peer;
  struct endpoint target;
  struct pump down;
};

/* A unit of work for a worker: fn(arg, the worker's pipe). */
struct job {
  void (*fn)(void *, struct wpipe *);
  void *arg;
  struct job *next;
};

/* Workers waiting for a job; `idle` counts those not yet promised one. Created and only ever used by the
 * event thread and the workers, so every worker is in the target netns with every signal blocked. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  struct job *head;
  struct job *tail;
  int idle;
  pthread_attr_t attr;
} workers;

static void *worker(void *arg);

/* Runs fn(arg) on an idle worker, or on a new one; returns 0, or -1 when no thread could be had. */
static int run_job(void (*fn)(void *, struct wpipe *), void *arg) {
  struct job *j = calloc(1, sizeof *j);
  if (!j) return -1;
  j->fn = fn;
  j->arg = arg;
  pthread_mutex_lock(&workers.lock);
  if (workers.idle > 0) {
    workers.idle--;
    if (workers.tail) workers.tail->next = j;
    else workers.head = j;
    workers.tail = j;
    pthread_cond_signal(&workers.wake);
    pthread_mutex_unlock(&workers.lock);
    return 0;
  }
  pthread_mutex_unlock(&workers.lock);
  pthread_t t;
  if (pthread_create(&t, &workers.attr, worker, j) != 0) {
    free(j);
    return -1;
  }
  return 0;
}

static void drop_pipe(struct wpipe *w) {
  for (int i = 0; i < 2; i++) {
    if (w->fd[i] >= 0) close(w->fd[i]);
    w->fd[i] = -1;
  }
}

static void *worker(void *arg) {
  struct job *j = arg;
  struct wpipe pipe = { { -1, -1 }, 0 };
  for (;;) {
    j->fn(j->arg, &pipe);
    free(j);
    pthread_mutex_lock(&workers.lock);
    if (workers.idle >= MAX_IDLE) {
      pthread_mutex_unlock(&workers.lock);
      drop_pipe(&pipe);
      return 0;
    }
    workers.idle++;
    while (!workers.head) pthread_cond_wait(&workers.wake, &workers.lock);
    j = workers.head;
    workers.head = j->next;
    if (!workers.head) workers.tail = 0;
    pthread_mutex_unlock(&workers.lock);
  }
}

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

/* A socket for the target, bound to source when it is given (then transparent and marked); with anyport, or
 * when source's port is taken, the kernel picks the port. -1 with errno when none could be had. */
static int socket_from(int family, int type, const struct endpoint *source, int anyport) {
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0 || !source) return fd;
  int one = 1;
  int transparent = family == AF_INET ? setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one)
                                      : setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
  if (transparent < 0 || setsockopt(fd, SOL_SOCKET, SO_MARK, &keep.mark, sizeof keep.mark) < 0) return fd;
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

/* Connected to target (blocking), from source when given; the client's own port first, then any. */
static int connect_from(const struct endpoint *target, const struct endpoint *source) {
  for (int anyport = 0; anyport < 2; anyport++) {
    int fd = socket_from(target->addr.family, SOCK_STREAM, source, anyport);
    if (fd < 0) return -1;
    if (connect(fd, &target->addr, target->len) == 0) return fd;
    int err = errno;
    close(fd);
    /* The client's port is in a connection to the target still (TIME_WAIT): any other will do. */
    if (!source || err != EADDRNOTAVAIL) return -1;
  }
  return -1;
}

/* Keeps the client's address from here on; gateway4/6 "" when there is none. Returns 0 or -EINVAL. */
int relay_keep_source(struct relay *r, unsigned mark, const char *gateway4, const char *gateway6) {
  (void)r;
  keep.mark = mark;
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
  r->epoll_fd = -1;
  return r;
}

/* Binds one listener in the caller's netns; returns 0 or -errno. Only the exact address asked for: a v6
 * wildcard stays v6-only, so "::" never also takes the IPv4 port. */
int relay_add(struct relay *r, int proto, const char *host_ip, int host_port, const char *child_ip, int child_port) {
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

/* Moves everything from one socket to the other; at EOF passes the half-close on. On an error both sockets are
 * shut down completely, which also wakes the thread pumping the other way.
 * One thread drives both ends of a pipe: a blocking socket->pipe splice waits for data holding the pipe's
 * mutex, so a second thread draining the same pipe would stall behind it (tried: iperf3 hung). */
/* Returns 0 when it stopped at the end of the data with the pipe empty, -1 when the pipe may hold some. */
static int pump(struct pump *p) {
  int *fd = p->pipe->fd;
  for (;;) {
    ssize_t n = splice(p->from, 0, fd[1], 0, PIPE_BYTES, SPLICE_F_MOVE);
    if (n == 0) {
      shutdown(p->to, SHUT_WR);
      return 0;
    }
    if (n < 0 && errno == EINTR) continue;
    int full = n >= DEFAULT_PIPE_BYTES;
    while (n > 0) {
      ssize_t m = splice(fd[0], 0, p->to, 0, (size_t)n, SPLICE_F_MOVE);
      if (m < 0 && errno == EINTR) continue;
      if (m <= 0) break;
      n -= m;
    }
    if (n != 0) {
      shutdown(p->from, SHUT_RDWR);
      shutdown(p->to, SHUT_RDWR);
      return -1;
    }
    /* A pipe the data filled is a bulk transfer: a larger one moves it in fewer, larger splices. Grown only
     * then, since sizing every pipe at the start costs short connections more than it gives them. */
    if (full && !p->pipe->grown) {
      fcntl(fd[1], F_SETPIPE_SZ, PIPE_BYTES);
      p->pipe->grown = 1;
    }
  }
}

/* The worker's pipe, made if it has none (the first job, or the last one left data in it). */
static int ready_pipe(struct wpipe *w) {
  if (w->fd[0] >= 0) return 0;
  w->grown = 0;
  return pipe2(w->fd, O_CLOEXEC);
}

/* The second half of a connection, on a worker of its own; says when it is done. */
static void pump_job(void *arg, struct wpipe *w) {
  struct pump *p = arg;
  if (ready_pipe(w) < 0) {
    shutdown(p->from, SHUT_RDWR);
    shutdown(p->to, SHUT_RDWR);
  } else {
    p->pipe = w;
    if (pump(p) < 0) drop_pipe(w);
  }
  sem_post(&p->done);
}

static void conn_job(void *arg, struct wpipe *w) {
  struct conn *c = arg;
  struct pump up = { c->client, -1, w };
  struct pump *down = &c->down;
  down->from = -1;
  down->to = c->client;
  down->pipe = 0;
  struct endpoint source;
  c->server = connect_from(&c->target, source_of(&c->peer, &c->target, &source) ? &source : 0);
  int ok = c->server >= 0 && ready_pipe(w) == 0;
  if (ok) {
    set_int(c->server, IPPROTO_TCP, TCP_NODELAY, 1);
    up.to = down->from = c->server;
    sem_init(&down->done, 0, 0);
    ok = run_job(pump_job, down) == 0;
  }
  if (ok) {
    if (pump(&up) < 0) drop_pipe(w);
    while (sem_wait(&down->done) < 0 && errno == EINTR) {}
  } else {
    /* The target refused (or we ran out of something): reset the client as the target would have. */
    struct linger reset = { 1, 0 };
    setsockopt(c->client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  if (up.to >= 0) sem_destroy(&down->done); /* initialized once connected */
  close(c->client);
  if (c->server >= 0) close(c->server);
  free(c);
}

static void accept_all(struct listener *l) {
  for (;;) {
    struct endpoint peer;
    peer.len = sizeof peer.addr;
    int fd = accept4(l->fd, &peer.addr, &peer.len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        /* Level-triggered epoll would wake at once again; give closing connections a moment. */
        struct timespec pause = { 0, 10 * 1000000 };
        nanosleep(&pause, 0);
      }
      return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->client = fd;
    c->server = -1;
    c->peer = peer;
    c->target = l->target;
    if (run_job(conn_job, c) != 0) {
      close(fd);
      free(c);
    }
  }
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
  f->fd = socket_from(l->target.addr.family, SOCK_DGRAM | SOCK_NONBLOCK, source_of(client, &l->target, &source) ? &source : 0, 0);
  struct epoll_event ev = { EPOLLIN, f };
  if (f->fd < 0 || connect(f->fd, &l->target.addr, l->target.len) < 0 || epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, f->fd, &ev) < 0) {
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
      epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, f->fd, 0);
      close(f->fd);
      free(f);
    }
  }
}

static void *event_thread(void *arg) {
  struct relay *r = arg;
  struct epoll_event events[MAX_EVENTS];
  sigset_t all;
  /* Signals are the JS thread's business; connection threads inherit this mask. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, 0);
  r->start_errno = setns(r->netns_fd, CLONE_NEWNET) < 0 ? errno : 0;
  int failed = r->start_errno != 0;
  sem_post(&r->started);
  if (failed) return 0;
  pthread_attr_init(&workers.attr);
  pthread_attr_setstacksize(&workers.attr, CONN_STACK);
  pthread_attr_setdetachstate(&workers.attr, PTHREAD_CREATE_DETACHED);
  long last_sweep = now_ms();
  for (;;) {
    int n = epoll_wait(r->epoll_fd, events, MAX_EVENTS, SWEEP_MS);
    for (int i = 0; i < n; i++) {
      enum kind *kind = events[i].ptr;
      if (*kind == TCP_LISTENER) accept_all((struct listener *)kind);
      else if (*kind == UDP_LISTENER) udp_from_clients(r, (struct listener *)kind);
      else udp_from_target(r, (struct flow *)kind);
    }
    long now = now_ms();
    if (now - last_sweep >= SWEEP_MS) {
      expire_flows(r, now);
      last_sweep = now;
    }
  }
  return 0;
}

/* Starts the event thread and waits until it has entered the target netns; returns 0 or -errno. */
int relay_start(struct relay *r) {
  pthread_t t;
  pthread_attr_t attr;
  r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (r->epoll_fd < 0) return -errno;
  for (int i = 0; i < r->nlisteners; i++) {
    struct epoll_event ev = { EPOLLIN, r->listeners[i] };
    if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, r->listeners[i]->fd, &ev) < 0) return -errno;
  }
  sem_init(&r->started, 0, 0);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&t, &attr, event_thread, r);
  if (err) return -err;
  while (sem_wait(&r->started) < 0 && errno == EINTR) {}
  sem_destroy(&r->started);
  return -r->start_errno;
}
