/*
 * mock_openai.c: a lean OpenAI-compatible upstream for benchmarks.
 *
 * One thread, epoll, HTTP/1.1 keep-alive (pipelining works). Every POST whose
 * path ends in /chat/completions gets a fixed ~300-byte chat completion (the
 * request's "model" echoed), or, when the body has "stream":true, a short SSE
 * stream (4 deltas, a usage chunk, [DONE]) in chunked encoding. Anything else
 * gets 404. It does no per-request allocation, so it stays flat and costs a few
 * microseconds per request: the router under test, not the mock, is measured.
 *
 *   mock_openai [--port N] [--host 127.0.0.1]     (port 0 = ephemeral)
 *
 * Prints "port N" on stdout once listening; SIGTERM/SIGINT end it and it
 * prints "served N" (requests answered).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF (64 * 1024)
#define WBUF (64 * 1024)
#define MAX_CONN 65536

typedef struct conn {
  int fd;
  size_t rlen;
  size_t wlen, woff;
  int close_after;
  char r[RBUF];
  char w[WBUF];
} conn;

static volatile sig_atomic_t stop_flag = 0;
static unsigned long long served = 0;
static conn *conns[MAX_CONN];

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* Copies the value of "model":"..." from body into out (at most cap-1 bytes). */
static void find_model(const char *body, size_t len, char *out, size_t cap) {
  const char *p = memmem(body, len, "\"model\"", 7);
  snprintf(out, cap, "bench-model");
  if (p == NULL) return;
  const char *end = body + len;
  p += 7;
  while (p < end && (*p == ' ' || *p == ':')) p++;
  if (p >= end || *p != '"') return;
  p++;
  size_t n = 0;
  while (p + n < end && p[n] != '"' && p[n] != '\\' && n + 1 < cap) n++;
  memcpy(out, p, n);
  out[n] = 0;
}

static int has_stream_true(const char *body, size_t len) {
  const char *p = memmem(body, len, "\"stream\"", 8);
  if (p == NULL) return 0;
  const char *end = body + len;
  p += 8;
  while (p < end && (*p == ' ' || *p == ':')) p++;
  return (end - p) >= 4 && memcmp(p, "true", 4) == 0;
}

static int wappend(conn *c, const char *s, size_t n) {
  if (c->wlen + n > WBUF) return -1;
  memcpy(c->w + c->wlen, s, n);
  c->wlen += n;
  return 0;
}

static int wprintf_(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int wprintf_(conn *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->w + c->wlen, WBUF - c->wlen, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= WBUF - c->wlen) return -1;
  c->wlen += (size_t)n;
  return 0;
}

static int chunk(conn *c, const char *data, size_t n) {
  if (wprintf_(c, "%zx\r\n", n) != 0) return -1;
  if (wappend(c, data, n) != 0) return -1;
  return wappend(c, "\r\n", 2);
}

static int answer(conn *c, const char *path, size_t plen, const char *body, size_t blen) {
  static const char suffix[] = "/chat/completions";
  size_t sl = sizeof suffix - 1;
  const char *q = memchr(path, '?', plen);
  size_t pl = q ? (size_t)(q - path) : plen;
  if (pl < sl || memcmp(path + pl - sl, suffix, sl) != 0) {
    static const char nf[] = "{\"error\":{\"message\":\"not found\",\"type\":\"invalid_request_error\"}}";
    return wprintf_(c, "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n\r\n%s",
                    sizeof nf - 1, nf);
  }
  char model[128];
  find_model(body, blen, model, sizeof model);
  if (has_stream_true(body, blen)) {
    if (wprintf_(c, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n") != 0)
      return -1;
    static const char *words[] = {"pong", " pong", " pong", " pong"};
    char ev[512];
    for (int i = 0; i < 4; i++) {
      int n = snprintf(ev, sizeof ev,
                       "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                       "\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{%s\"content\":\"%s\"},\"finish_reason\":null}]}\n\n",
                       model, i == 0 ? "\"role\":\"assistant\"," : "", words[i]);
      if (chunk(c, ev, (size_t)n) != 0) return -1;
    }
    int n = snprintf(ev, sizeof ev,
                     "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                     "\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                     "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\n\n",
                     model);
    if (chunk(c, ev, (size_t)n) != 0) return -1;
    if (chunk(c, "data: [DONE]\n\n", 14) != 0) return -1;
    return wappend(c, "0\r\n\r\n", 5);
  }
  char b[768];
  int n = snprintf(b, sizeof b,
                   "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"%s\","
                   "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"pong pong pong pong\"},"
                   "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                   "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}",
                   model);
  return wprintf_(c, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s", n, b);
}

static void conn_close(int ep, conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  if (c->fd < MAX_CONN) conns[c->fd] = NULL;
  free(c);
}

/* Flushes the write buffer; 0 = all written, 1 = would block, -1 = error. */
static int flush_out(conn *c) {
  while (c->woff < c->wlen) {
    ssize_t w = send(c->fd, c->w + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
      return -1;
    }
    c->woff += (size_t)w;
  }
  c->wlen = c->woff = 0;
  return 0;
}

/* Parses and answers every complete request in the read buffer. -1 = close. */
static int process(conn *c) {
  size_t off = 0;
  while (off < c->rlen) {
    char *start = c->r + off;
    size_t avail = c->rlen - off;
    char *hend = memmem(start, avail, "\r\n\r\n", 4);
    if (hend == NULL) break;
    size_t hlen = (size_t)(hend - start) + 4;
    size_t clen = 0;
    int chunked = 0;
    /* Header lines. */
    char *line = memchr(start, '\n', hlen);
    char *reqline_end = line;
    while (line != NULL && line + 1 < hend) {
      char *l = line + 1;
      char *e = memchr(l, '\n', (size_t)(hend + 2 - l));
      if (e == NULL) break;
      size_t ll = (size_t)(e - l);
      if (ll > 15 && strncasecmp(l, "content-length:", 15) == 0) clen = strtoull(l + 15, NULL, 10);
      else if (ll > 18 && strncasecmp(l, "transfer-encoding:", 18) == 0) chunked = 1;
      else if (ll >= 17 && strncasecmp(l, "connection:", 11) == 0 && memmem(l, ll, "close", 5)) c->close_after = 1;
      line = e;
    }
    if (chunked) return -1; /* not needed by any client we bench */
    if (hlen + clen > RBUF) return -1;
    if (avail < hlen + clen) break;
    /* Request line: METHOD SP PATH SP VERSION */
    char *sp1 = memchr(start, ' ', (size_t)(reqline_end - start));
    if (sp1 == NULL) return -1;
    char *sp2 = memchr(sp1 + 1, ' ', (size_t)(reqline_end - sp1 - 1));
    if (sp2 == NULL) return -1;
    if (answer(c, sp1 + 1, (size_t)(sp2 - sp1 - 1), start + hlen, clen) != 0) return -1;
    served++;
    off += hlen + clen;
    if (c->wlen > WBUF / 2 && flush_out(c) < 0) return -1;
  }
  if (off > 0) {
    memmove(c->r, c->r + off, c->rlen - off);
    c->rlen -= off;
  }
  return 0;
}

int main(int argc, char **argv) {
  int port = 0;
  const char *host = "127.0.0.1";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) host = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--port N] [--host ADDR]\n", argv[0]);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "bad host %s\n", host);
    return 2;
  }
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 1024) != 0) {
    perror("bind/listen");
    return 1;
  }
  socklen_t al = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &al);
  set_nonblock(lfd);
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event evs[256];
  while (!stop_flag) {
    int n = epoll_wait(ep, evs, 256, 200);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      break;
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (cfd < 0) break;
          if (cfd >= MAX_CONN) {
            close(cfd);
            continue;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn *c = calloc(1, sizeof *c);
          if (c == NULL) {
            close(cfd);
            continue;
          }
          c->fd = cfd;
          conns[cfd] = c;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = cfd};
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      conn *c = conns[fd];
      if (c == NULL) continue;
      int dead = 0;
      if (evs[i].events & EPOLLOUT) {
        int f = flush_out(c);
        if (f < 0) dead = 1;
        else if (f == 0) {
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
          if (c->close_after) dead = 1;
        }
      }
      if (!dead && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        for (;;) {
          if (c->rlen == RBUF) {
            dead = 1;
            break;
          }
          ssize_t r = recv(fd, c->r + c->rlen, RBUF - c->rlen, 0);
          if (r > 0) {
            c->rlen += (size_t)r;
            continue;
          }
          if (r == 0) dead = 1;
          else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) dead = 1;
          break;
        }
        if (process(c) != 0) dead = 1;
        if (!dead && c->wlen > 0) {
          int f = flush_out(c);
          if (f < 0) dead = 1;
          else if (f == 1) {
            struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.fd = fd};
            epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
          } else if (c->close_after) dead = 1;
        }
      }
      if (dead) conn_close(ep, c);
    }
  }
  printf("served %llu\n", served);
  return 0;
}
