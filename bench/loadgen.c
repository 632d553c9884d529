/*
 * loadgen.c: load generator for Switchboard benchmarks, in its own process.
 *
 * Targets:
 *   --socket PATH --route R   the daemon's Unix socket, length-prefixed protobuf
 *                             frames (many calls multiplexed per connection)
 *   --http HOST:PORT          an OpenAI-compatible HTTP/1.1 server (the mock, the
 *                             fake provider), POST --path with keep-alive
 *
 * Loops:
 *   closed (default)          --concurrency C calls in flight; latency from send
 *   open   (--rate R)         request i is due at t0 + i/R whatever happened to
 *                             the others; latency is measured from that scheduled
 *                             time (coordinated-omission corrected), so a stall
 *                             shows up in every request queued behind it
 *
 * Reports req/s, p50/p90/p99/p999/max, failures by reason, and for every --pid
 * the CPU that process used per completed request (utime+stime from
 * /proc/PID/stat over the measured phase), plus its RSS. --rss-every N prints the
 * RSS of every --pid each N completed requests (memory benchmarks). --json adds
 * one machine-readable line for scripts.
 *
 * No dependencies beyond libc: frames are encoded and decoded by hand (the
 * fields used are listed in encode_request and on_frame).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_PIDS 4
#define RBUF_INIT (256 * 1024)

typedef struct conn {
  int fd;
  uint8_t *r;
  size_t rlen, rcap;
  uint8_t *w;
  size_t wlen, woff, wcap;
  int want_out;
  /* HTTP: FIFO of request indices awaiting a response. */
  int64_t *fifo;
  size_t fhead, fcount, fcap;
  long inflight;
} conn;

static struct {
  const char *socket_path;
  const char *http;
  const char *path;
  const char *route;
  const char *model;
  const char *prompt;
  const char *label;
  int connections;
  int concurrency;
  double rate;
  long requests;
  long warmup;
  long max_inflight;
  long rss_every;
  int stream;
  int json;
  int npids;
  int pids[MAX_PIDS];
} opt = {
    .path = "/v1/chat/completions",
    .route = "bench",
    .model = "bench-model",
    .prompt = "ping",
    .label = "",
    .connections = 0,
    .concurrency = 64,
    .requests = 20000,
    .warmup = 1000,
    .max_inflight = 20000,
};

static int ep;
static conn *conns;
static int nconns;
static int64_t *sched_ns;   /* per request index: scheduled (or send) time */
static int64_t *lat_ns;     /* per measured request: latency */
static long nlat;
static long issued, done_ok, done_fail, inflight;
static long phase_base, phase_total; /* request indices [phase_base, phase_base+phase_total) */
static int measuring;
static long fail_by_code[32];
static char *http_req;
static size_t http_req_len;
static uint8_t *frame_tmpl;        /* CompletionRequest payload */
static size_t frame_tmpl_len;
static struct sockaddr_storage http_addr;
static socklen_t http_addrlen;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *msg) {
  perror(msg);
  exit(1);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (q == NULL) die("realloc");
  return q;
}

/* ---------------------------------------------------------------- /proc */

static int read_cpu_ticks(int pid, unsigned long long *ticks) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (p == NULL) return -1;
  p += 2;
  unsigned long long ut = 0, st = 0;
  for (int i = 0; i < 11; i++) {
    p = strchr(p, ' ');
    if (p == NULL) return -1;
    p++;
  }
  if (sscanf(p, "%llu %llu", &ut, &st) != 2) return -1;
  *ticks = ut + st;
  return 0;
}

static long read_rss_kb(int pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kb = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb;
}

/* ---------------------------------------------------------------- frames */

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

static int get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v, const uint8_t **next) {
  uint64_t r = 0;
  int shift = 0;
  while (p < end && shift < 64) {
    uint8_t b = *p++;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      *next = p;
      return 0;
    }
    shift += 7;
  }
  return -1;
}

/* switchboard.v1.CompletionRequest: route = 1, messages = 4 (Message: role = 1
 * (ROLE_USER = 2), content = 2), max_tokens = 8, stream = 13. */
static void encode_request(void) {
  size_t plen = strlen(opt.prompt), rlen = strlen(opt.route);
  uint8_t *msg = malloc(plen + 16);
  size_t m = 0;
  msg[m++] = 0x08;
  msg[m++] = 2;
  msg[m++] = 0x12;
  m += put_varint(msg + m, plen);
  memcpy(msg + m, opt.prompt, plen);
  m += plen;
  frame_tmpl = malloc(rlen + m + 32);
  size_t n = 0;
  frame_tmpl[n++] = 0x0A;
  n += put_varint(frame_tmpl + n, rlen);
  memcpy(frame_tmpl + n, opt.route, rlen);
  n += rlen;
  frame_tmpl[n++] = 0x22;
  n += put_varint(frame_tmpl + n, m);
  memcpy(frame_tmpl + n, msg, m);
  n += m;
  frame_tmpl[n++] = 0x40; /* max_tokens */
  n += put_varint(frame_tmpl + n, 16);
  if (opt.stream) {
    frame_tmpl[n++] = 0x68;
    frame_tmpl[n++] = 1;
  }
  frame_tmpl_len = n;
  free(msg);
}

static void build_http_request(void) {
  char body[4096];
  int bl = snprintf(body, sizeof body,
                    "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":16%s}",
                    opt.model, opt.prompt, opt.stream ? ",\"stream\":true" : "");
  http_req = malloc((size_t)bl + 512);
  http_req_len = (size_t)snprintf(http_req, (size_t)bl + 512,
                                  "POST %s HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
                                  "authorization: Bearer bench\r\ncontent-length: %d\r\n\r\n%s",
                                  opt.path, opt.http, bl, body);
}

/* ---------------------------------------------------------------- connections */

static void wreserve(conn *c, size_t n) {
  if (c->wlen + n <= c->wcap) return;
  if (c->woff > 0) {
    memmove(c->w, c->w + c->woff, c->wlen - c->woff);
    c->wlen -= c->woff;
    c->woff = 0;
    if (c->wlen + n <= c->wcap) return;
  }
  while (c->wlen + n > c->wcap) c->wcap = c->wcap ? c->wcap * 2 : 65536;
  c->w = xrealloc(c->w, c->wcap);
}

static void update_events(conn *c, int want_out) {
  if (c->want_out == want_out) return;
  c->want_out = want_out;
  struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void flush_conn(conn *c) {
  while (c->woff < c->wlen) {
    ssize_t w = send(c->fd, c->w + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        update_events(c, 1);
        return;
      }
      fprintf(stderr, "loadgen: send: %s\n", strerror(errno));
      exit(1);
    }
    c->woff += (size_t)w;
  }
  c->wlen = c->woff = 0;
  update_events(c, 0);
}

static void open_conns(void) {
  conns = calloc((size_t)nconns, sizeof *conns);
  ep = epoll_create1(0);
  for (int i = 0; i < nconns; i++) {
    conn *c = &conns[i];
    int fd;
    if (opt.socket_path) {
      struct sockaddr_un a;
      memset(&a, 0, sizeof a);
      a.sun_family = AF_UNIX;
      snprintf(a.sun_path, sizeof a.sun_path, "%s", opt.socket_path);
      fd = socket(AF_UNIX, SOCK_STREAM, 0);
      if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect (socket)");
    } else {
      fd = socket(http_addr.ss_family, SOCK_STREAM, 0);
      if (connect(fd, (struct sockaddr *)&http_addr, http_addrlen) != 0) die("connect (http)");
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd;
    c->rcap = RBUF_INIT;
    c->r = malloc(c->rcap);
    c->fcap = 1024;
    c->fifo = malloc(c->fcap * sizeof *c->fifo);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
}

static void send_request(conn *c, long idx, int64_t sched) {
  sched_ns[idx] = sched;
  if (opt.socket_path) {
    uint8_t hdr[32];
    size_t h = 0;
    hdr[h++] = 0x08;
    h += put_varint(hdr + h, (uint64_t)idx + 1);
    hdr[h++] = 0x22;
    h += put_varint(hdr + h, frame_tmpl_len);
    size_t payload = h + frame_tmpl_len;
    wreserve(c, payload + 5);
    uint8_t *p = c->w + c->wlen;
    p[0] = 0;
    p[1] = (uint8_t)(payload >> 24);
    p[2] = (uint8_t)(payload >> 16);
    p[3] = (uint8_t)(payload >> 8);
    p[4] = (uint8_t)payload;
    memcpy(p + 5, hdr, h);
    memcpy(p + 5 + h, frame_tmpl, frame_tmpl_len);
    c->wlen += payload + 5;
  } else {
    wreserve(c, http_req_len);
    memcpy(c->w + c->wlen, http_req, http_req_len);
    c->wlen += http_req_len;
    if (c->fcount == c->fcap) {
      int64_t *nf = malloc(c->fcap * 2 * sizeof *nf);
      for (size_t i = 0; i < c->fcount; i++) nf[i] = c->fifo[(c->fhead + i) % c->fcap];
      free(c->fifo);
      c->fifo = nf;
      c->fhead = 0;
      c->fcap *= 2;
    }
    c->fifo[(c->fhead + c->fcount) % c->fcap] = idx;
    c->fcount++;
  }
  c->inflight++;
  inflight++;
  issued++;
}

static void print_rss_line(long completed) {
  printf("rss requests=%ld", completed);
  for (int i = 0; i < opt.npids; i++) {
    long kb = read_rss_kb(opt.pids[i]);
    printf(" pid=%d rss_mb=%.1f", opt.pids[i], kb / 1024.0);
  }
  printf("\n");
  fflush(stdout);
}

static void complete(conn *c, long idx, int ok, int code) {
  if (idx < phase_base || idx >= phase_base + phase_total) {
    fprintf(stderr, "loadgen: response for unknown call %ld\n", idx + 1);
    exit(1);
  }
  int64_t t = now_ns();
  c->inflight--;
  inflight--;
  if (ok) done_ok++;
  else {
    done_fail++;
    fail_by_code[code >= 0 && code < 31 ? code : 31]++;
  }
  if (measuring) {
    lat_ns[nlat++] = t - sched_ns[idx];
    long completed = done_ok + done_fail;
    if (opt.rss_every > 0 && completed % opt.rss_every == 0) print_rss_line(completed);
  }
}

/* One frame payload: Frame { call_id = 1; completion_chunk = 5; stream_restart = 6;
 * completion_response = 7; status = 8 (Status.code = 1) }. */
static void on_frame(conn *c, const uint8_t *p, size_t n) {
  const uint8_t *end = p + n;
  uint64_t call = 0;
  int kind = 0, code = 0;
  while (p < end) {
    uint64_t key, v;
    if (get_varint(p, end, &key, &p) != 0) goto bad;
    int field = (int)(key >> 3), wt = (int)(key & 7);
    if (wt == 0) {
      if (get_varint(p, end, &v, &p) != 0) goto bad;
      if (field == 1) call = v;
    } else if (wt == 2) {
      if (get_varint(p, end, &v, &p) != 0 || v > (uint64_t)(end - p)) goto bad;
      if (field == 7) kind = 7;
      else if (field == 8) {
        kind = 8;
        const uint8_t *q = p, *qe = p + v;
        while (q < qe) {
          uint64_t k2, v2;
          if (get_varint(q, qe, &k2, &q) != 0) break;
          if ((k2 & 7) == 0) {
            if (get_varint(q, qe, &v2, &q) != 0) break;
            if ((k2 >> 3) == 1) code = (int)v2;
          } else if ((k2 & 7) == 2) {
            if (get_varint(q, qe, &v2, &q) != 0 || v2 > (uint64_t)(qe - q)) break;
            q += v2;
          } else break;
        }
      }
      p += v;
    } else goto bad;
  }
  if (call == 0) {
    if (kind == 8) {
      fprintf(stderr, "loadgen: the daemon closed the connection with status %d\n", code);
      exit(1);
    }
    return;
  }
  if (kind == 7) complete(c, (long)call - 1, 1, 0);
  else if (kind == 8) complete(c, (long)call - 1, code == 0, code);
  return;
bad:
  fprintf(stderr, "loadgen: undecodable frame\n");
  exit(1);
}

/* Parses complete responses out of c->r; returns bytes consumed. */
static size_t parse_socket(conn *c) {
  size_t off = 0;
  while (c->rlen - off >= 5) {
    const uint8_t *h = c->r + off;
    size_t n = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
    if (c->rlen - off < 5 + n) break;
    on_frame(c, h + 5, n);
    off += 5 + n;
  }
  return off;
}

static size_t parse_http(conn *c) {
  size_t off = 0;
  while (off < c->rlen) {
    const char *s = (const char *)c->r + off;
    size_t avail = c->rlen - off;
    const char *he = memmem(s, avail, "\r\n\r\n", 4);
    if (he == NULL) break;
    size_t hlen = (size_t)(he - s) + 4;
    int status = avail > 12 ? atoi(s + 9) : 0;
    long clen = -1;
    int chunked = 0;
    const char *l = memchr(s, '\n', hlen);
    while (l != NULL && l + 1 < he) {
      l++;
      if (strncasecmp(l, "content-length:", 15) == 0) clen = strtol(l + 15, NULL, 10);
      else if (strncasecmp(l, "transfer-encoding:", 18) == 0) chunked = 1;
      l = memchr(l, '\n', (size_t)(he + 2 - l));
    }
    size_t total;
    if (chunked) {
      const char *z = memmem(s + hlen - 2, avail - hlen + 2, "\r\n0\r\n\r\n", 7);
      if (z == NULL) break;
      total = (size_t)(z - s) + 7;
    } else {
      if (clen < 0) clen = 0;
      if (avail < hlen + (size_t)clen) break;
      total = hlen + (size_t)clen;
    }
    if (c->fcount == 0) {
      fprintf(stderr, "loadgen: unsolicited HTTP response\n");
      exit(1);
    }
    long idx = c->fifo[c->fhead];
    c->fhead = (c->fhead + 1) % c->fcap;
    c->fcount--;
    complete(c, idx, status == 200, status == 200 ? 0 : 31);
    off += total;
  }
  return off;
}

static void read_conn(conn *c) {
  for (;;) {
    if (c->rlen == c->rcap) {
      c->rcap *= 2;
      c->r = xrealloc(c->r, c->rcap);
    }
    ssize_t r = recv(c->fd, c->r + c->rlen, c->rcap - c->rlen, 0);
    if (r > 0) {
      c->rlen += (size_t)r;
      continue;
    }
    if (r == 0) {
      fprintf(stderr, "loadgen: the server closed a connection (%ld calls in flight on it)\n", c->inflight);
      exit(1);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    die("recv");
  }
  size_t used = opt.socket_path ? parse_socket(c) : parse_http(c);
  if (used > 0) {
    memmove(c->r, c->r + used, c->rlen - used);
    c->rlen -= used;
  }
}

/* ---------------------------------------------------------------- phases */

static conn *pick_conn(void) {
  static int rr = 0;
  /* The least loaded connection (ties: round robin). */
  conn *best = NULL;
  for (int k = 0; k < nconns; k++) {
    conn *c = &conns[(rr + k) % nconns];
    if (best == NULL || c->inflight < best->inflight) best = c;
  }
  rr = (rr + 1) % nconns;
  return best;
}

static void poll_once(int64_t timeout_ns) {
  struct epoll_event evs[64];
  struct timespec ts = {.tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL};
  int n = epoll_pwait2(ep, evs, 64, timeout_ns < 0 ? NULL : &ts, NULL);
  if (n < 0) {
    if (errno == EINTR) return;
    die("epoll_pwait2");
  }
  for (int i = 0; i < n; i++) {
    conn *c = evs[i].data.ptr;
    if (evs[i].events & EPOLLOUT) flush_conn(c);
    if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_conn(c);
  }
}

static void flush_all(void) {
  for (int i = 0; i < nconns; i++)
    if (conns[i].wlen > conns[i].woff && !conns[i].want_out) flush_conn(&conns[i]);
}

/* Runs `count` requests; rate 0 = closed loop at `concurrency`. */
static double run_phase(long count, int concurrency, double rate) {
  phase_base = issued;
  phase_total = count;
  long end = phase_base + count;
  done_ok = done_fail = 0;
  memset(fail_by_code, 0, sizeof fail_by_code);
  int64_t t0 = now_ns();
  if (rate <= 0) {
    while (done_ok + done_fail < count) {
      while (issued < end && inflight < concurrency) send_request(pick_conn(), issued, now_ns());
      flush_all();
      poll_once(-1);
    }
  } else {
    double interval = 1e9 / rate;
    while (done_ok + done_fail < count) {
      int64_t now = now_ns();
      while (issued < end && inflight < opt.max_inflight) {
        int64_t due = t0 + (int64_t)((double)(issued - phase_base) * interval);
        if (due > now) break;
        send_request(pick_conn(), issued, due);
      }
      flush_all();
      int64_t wait = -1;
      if (issued < end) {
        int64_t due = t0 + (int64_t)((double)(issued - phase_base) * interval);
        wait = due - now_ns();
        if (wait < 0) wait = 0;
        if (inflight >= opt.max_inflight) wait = -1;
      }
      poll_once(wait);
    }
  }
  return (double)(now_ns() - t0) / 1e9;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (nlat == 0) return 0;
  long i = (long)(p * (double)(nlat - 1) + 0.5);
  return lat_ns[i] / 1e6;
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen (--socket PATH [--route R] | --http HOST:PORT [--path P] [--model M])\n"
          "  [--connections N] [--concurrency C | --rate R] [--requests N] [--warmup N]\n"
          "  [--max-inflight N] [--pid PID]... [--rss-every N] [--stream] [--prompt TEXT]\n"
          "  [--label NAME] [--json]\n");
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
#define ARG() (i + 1 < argc ? argv[++i] : (usage(), ""))
    if (!strcmp(a, "--socket")) opt.socket_path = ARG();
    else if (!strcmp(a, "--http")) opt.http = ARG();
    else if (!strcmp(a, "--path")) opt.path = ARG();
    else if (!strcmp(a, "--route")) opt.route = ARG();
    else if (!strcmp(a, "--model")) opt.model = ARG();
    else if (!strcmp(a, "--prompt")) opt.prompt = ARG();
    else if (!strcmp(a, "--label")) opt.label = ARG();
    else if (!strcmp(a, "--connections")) opt.connections = atoi(ARG());
    else if (!strcmp(a, "--concurrency")) opt.concurrency = atoi(ARG());
    else if (!strcmp(a, "--rate")) opt.rate = atof(ARG());
    else if (!strcmp(a, "--requests")) opt.requests = atol(ARG());
    else if (!strcmp(a, "--warmup")) opt.warmup = atol(ARG());
    else if (!strcmp(a, "--max-inflight")) opt.max_inflight = atol(ARG());
    else if (!strcmp(a, "--rss-every")) opt.rss_every = atol(ARG());
    else if (!strcmp(a, "--pid")) {
      if (opt.npids == MAX_PIDS) usage();
      opt.pids[opt.npids++] = atoi(ARG());
    } else if (!strcmp(a, "--stream")) opt.stream = 1;
    else if (!strcmp(a, "--json")) opt.json = 1;
    else usage();
  }
  if ((opt.socket_path == NULL) == (opt.http == NULL) || opt.requests <= 0 || opt.concurrency <= 0) usage();
  signal(SIGPIPE, SIG_IGN);
  if (opt.http) {
    char host[256];
    snprintf(host, sizeof host, "%s", opt.http);
    char *colon = strrchr(host, ':');
    if (colon == NULL) usage();
    *colon = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
      fprintf(stderr, "loadgen: cannot resolve %s\n", opt.http);
      return 1;
    }
    memcpy(&http_addr, res->ai_addr, res->ai_addrlen);
    http_addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    build_http_request();
    /* HTTP/1.1 without pipelining by default: one connection per call in flight. */
    nconns = opt.connections > 0 ? opt.connections : opt.concurrency;
  } else {
    encode_request();
    nconns = opt.connections > 0 ? opt.connections : 4;
  }
  long total = opt.warmup + opt.requests;
  sched_ns = malloc((size_t)total * sizeof *sched_ns);
  lat_ns = malloc((size_t)opt.requests * sizeof *lat_ns);
  if (sched_ns == NULL || lat_ns == NULL) die("malloc");
  open_conns();

  if (opt.warmup > 0) {
    run_phase(opt.warmup, opt.concurrency, 0);
    if (done_fail > 0) fprintf(stderr, "loadgen: %ld of %ld warm-up calls failed\n", done_fail, opt.warmup);
  }

  unsigned long long t0[MAX_PIDS] = {0}, t1[MAX_PIDS] = {0};
  for (int i = 0; i < opt.npids; i++) read_cpu_ticks(opt.pids[i], &t0[i]);
  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  measuring = 1;
  double secs = run_phase(opt.requests, opt.concurrency, opt.rate);
  measuring = 0;
  getrusage(RUSAGE_SELF, &ru1);
  for (int i = 0; i < opt.npids; i++) read_cpu_ticks(opt.pids[i], &t1[i]);

  qsort(lat_ns, (size_t)nlat, sizeof *lat_ns, cmp64);
  double rps = (double)(done_ok + done_fail) / secs;
  double tck = (double)sysconf(_SC_CLK_TCK);
  double self_us = ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
                    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) /
                   (double)opt.requests;
  char mode[64];
  if (opt.rate > 0) snprintf(mode, sizeof mode, "open rate=%.0f", opt.rate);
  else snprintf(mode, sizeof mode, "closed concurrency=%d", opt.concurrency);
  printf("%s%starget=%s%s mode=%s connections=%d requests=%ld ok=%ld failed=%ld seconds=%.3f rps=%.0f\n",
         opt.label, *opt.label ? " " : "", opt.socket_path ? "socket:" : "http:",
         opt.socket_path ? opt.socket_path : opt.http, mode, nconns, opt.requests, done_ok, done_fail, secs, rps);
  printf("latency_ms p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f%s\n", pct(0.5), pct(0.9), pct(0.99), pct(0.999),
         nlat ? lat_ns[nlat - 1] / 1e6 : 0.0, opt.rate > 0 ? " (from scheduled send times)" : "");
  if (done_fail > 0) {
    printf("failures");
    for (int i = 0; i < 32; i++)
      if (fail_by_code[i]) printf(" %s%d=%ld", i == 31 ? "other/http" : "code", i, fail_by_code[i]);
    printf("\n");
  }
  double cpu_us[MAX_PIDS];
  for (int i = 0; i < opt.npids; i++) {
    cpu_us[i] = (double)(t1[i] - t0[i]) / tck * 1e6 / (double)opt.requests;
    printf("cpu pid=%d us_per_request=%.1f cores=%.2f rss_mb=%.1f\n", opt.pids[i], cpu_us[i],
           (double)(t1[i] - t0[i]) / tck / secs, read_rss_kb(opt.pids[i]) / 1024.0);
  }
  printf("cpu loadgen us_per_request=%.1f\n", self_us);
  if (opt.json) {
    printf("{\"label\":\"%s\",\"rps\":%.1f,\"ok\":%ld,\"failed\":%ld,\"p50_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,"
           "\"p999_ms\":%.4f,\"max_ms\":%.4f,\"loadgen_cpu_us\":%.2f,\"cpu_us\":[",
           opt.label, rps, done_ok, done_fail, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
           nlat ? lat_ns[nlat - 1] / 1e6 : 0.0, self_us);
    for (int i = 0; i < opt.npids; i++) printf("%s%.2f", i ? "," : "", cpu_us[i]);
    printf("]}\n");
  }
  return done_fail > 0 ? 3 : 0;
}
