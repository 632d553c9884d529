/* switchboard_client.c: see switchboard_client.h. */
#define _POSIX_C_SOURCE 200809L

#include "switchboard_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SB_HEADER_SIZE 5
#define SB_MAX_FRAME_BYTES (64u * 1024u * 1024u)

/* A queued frame of a blocking call, handed from the reader to the caller. */
typedef struct sb_frame_node {
  Switchboard__V1__Frame *frame;
  struct sb_frame_node *next;
} sb_frame_node;

/* One open call. Blocking calls queue their frames for the calling thread;
 * callback calls are served on the reader thread. Guarded by sb_client.mu. */
typedef struct sb_pending {
  uint64_t call_id;
  struct sb_pending *next;
  int blocking;
  /* blocking */
  pthread_cond_t cond;
  sb_frame_node *head, *tail;
  int failed; /* the connection ended before the terminal frame: see err */
  sb_error err;
  /* callbacks */
  sb_delta_fn on_delta;
  sb_restart_fn on_restart;
  sb_done_fn on_done;
  void *user;
  int cancel_sent;
  int hello; /* the Hello exchange on call id 0 */
  char request_id[128];
} sb_pending;

struct sb_client {
  int fd;
  pthread_mutex_t mu;       /* calls, next_call_id, closed, close_err, waiters */
  pthread_mutex_t write_mu; /* one frame at a time on the socket */
  pthread_cond_t idle;      /* signalled when a blocking caller leaves */
  pthread_t reader;
  int reader_started;
  sb_pending *calls;
  uint64_t next_call_id;
  uint64_t next_request_seq;
  int closed;     /* the connection ended: no new calls */
  int closing;    /* sb_close was called */
  sb_error close_err;
  int waiters;    /* blocking callers inside the client */
  int timeout_ms;
};

/* ------------------------------------------------------------------ errors */

static void set_error(sb_error *err, int code, const char *reason, const char *fmt, ...) {
  if (err == NULL) return;
  memset(err, 0, sizeof *err);
  err->code = code;
  snprintf(err->reason_code, sizeof err->reason_code, "%s", reason ? reason : "");
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
}

static void set_status_error(sb_error *err, const Switchboard__V1__Status *st) {
  if (err == NULL) return;
  memset(err, 0, sizeof *err);
  err->code = (int)st->code;
  snprintf(err->reason_code, sizeof err->reason_code, "%s", st->reason_code ? st->reason_code : "");
  snprintf(err->message, sizeof err->message, "%s", st->message ? st->message : "");
  snprintf(err->request_id, sizeof err->request_id, "%s", st->request_id ? st->request_id : "");
  err->retryable = st->retryable ? 1 : 0;
  err->retry_after_ms = st->retry_after_ms;
}

const char *sb_code_name(int code) {
  switch (code) {
    case SB_ERR_IO: return "IO_ERROR";
    case SB_ERR_PROTOCOL: return "CLIENT_PROTOCOL_ERROR";
    case SB_ERR_NOMEM: return "OUT_OF_MEMORY";
    case SB_ERR_TIMEOUT: return "TIMEOUT";
    case SB_ERR_ARG: return "INVALID_CLIENT_ARGUMENT";
    default: break;
  }
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&switchboard__v1__status__code__descriptor, code);
  return v != NULL ? v->name : "UNKNOWN";
}

/* ------------------------------------------------------------------ frame codec */

int sb_encode_frame(const Switchboard__V1__Frame *frame, uint8_t **out, size_t *len, sb_error *err) {
  size_t n = switchboard__v1__frame__get_packed_size(frame);
  if (n > SB_MAX_FRAME_BYTES) {
    set_error(err, SB_ERR_ARG, "frame_too_large", "frame of %zu bytes is too large", n);
    return -1;
  }
  uint8_t *buf = malloc(SB_HEADER_SIZE + n);
  if (buf == NULL) {
    set_error(err, SB_ERR_NOMEM, "", "out of memory");
    return -1;
  }
  buf[0] = 0;
  buf[1] = (uint8_t)(n >> 24);
  buf[2] = (uint8_t)(n >> 16);
  buf[3] = (uint8_t)(n >> 8);
  buf[4] = (uint8_t)n;
  switchboard__v1__frame__pack(frame, buf + SB_HEADER_SIZE);
  *out = buf;
  *len = SB_HEADER_SIZE + n;
  return 0;
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

int sb_decode_frame(const uint8_t *buf, size_t len, Switchboard__V1__Frame **out, sb_error *err) {
  if (len < SB_HEADER_SIZE) {
    set_error(err, SB_ERR_PROTOCOL, "short_frame", "frame of %zu bytes is shorter than its header", len);
    return -1;
  }
  if (buf[0] != 0) {
    set_error(err, SB_ERR_PROTOCOL, "bad_flags", "unsupported frame flags 0x%02x", buf[0]);
    return -1;
  }
  uint32_t n = be32(buf + 1);
  if ((size_t)n != len - SB_HEADER_SIZE) {
    set_error(err, SB_ERR_PROTOCOL, "bad_length", "header says %u payload bytes, got %zu", n,
              len - SB_HEADER_SIZE);
    return -1;
  }
  Switchboard__V1__Frame *f = switchboard__v1__frame__unpack(NULL, n, buf + SB_HEADER_SIZE);
  if (f == NULL) {
    set_error(err, SB_ERR_PROTOCOL, "bad_payload", "payload is not a switchboard.v1.Frame");
    return -1;
  }
  *out = f;
  return 0;
}

/* ------------------------------------------------------------------ connection */

void sb_request_init(sb_request *req) {
  memset(req, 0, sizeof *req);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const uint8_t *buf, size_t len, sb_error *err) {
  while (len > 0) {
    ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      set_error(err, SB_ERR_IO, "connection_lost", "send: %s", strerror(errno));
      return -1;
    }
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

static int send_frame(sb_client *c, const Switchboard__V1__Frame *frame, sb_error *err) {
  uint8_t *buf;
  size_t len;
  if (sb_encode_frame(frame, &buf, &len, err) != 0) return -1;
  pthread_mutex_lock(&c->write_mu);
  int rc = write_all(c->fd, buf, len, err);
  pthread_mutex_unlock(&c->write_mu);
  free(buf);
  if (rc != 0) err->retryable = 1;
  return rc;
}

/* Reads exactly len bytes. Returns 0, or -1 with err set. */
static int read_all(int fd, uint8_t *buf, size_t len, sb_error *err) {
  while (len > 0) {
    ssize_t r = recv(fd, buf, len, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      set_error(err, SB_ERR_IO, "connection_lost", "recv: %s", strerror(errno));
      err->retryable = 1;
      return -1;
    }
    if (r == 0) {
      set_error(err, SB_ERR_IO, "connection_closed", "the daemon closed the connection");
      err->retryable = 1;
      return -1;
    }
    buf += r;
    len -= (size_t)r;
  }
  return 0;
}

static int read_frame(int fd, Switchboard__V1__Frame **out, sb_error *err) {
  uint8_t hdr[SB_HEADER_SIZE];
  if (read_all(fd, hdr, SB_HEADER_SIZE, err) != 0) return -1;
  if (hdr[0] != 0) {
    set_error(err, SB_ERR_PROTOCOL, "bad_flags", "unsupported frame flags 0x%02x", hdr[0]);
    return -1;
  }
  uint32_t n = be32(hdr + 1);
  if (n > SB_MAX_FRAME_BYTES) {
    set_error(err, SB_ERR_PROTOCOL, "frame_too_large", "frame of %u bytes", n);
    return -1;
  }
  uint8_t *payload = malloc(n ? n : 1);
  if (payload == NULL) {
    set_error(err, SB_ERR_NOMEM, "", "out of memory");
    return -1;
  }
  if (read_all(fd, payload, n, err) != 0) {
    free(payload);
    return -1;
  }
  Switchboard__V1__Frame *f = switchboard__v1__frame__unpack(NULL, n, payload);
  free(payload);
  if (f == NULL) {
    set_error(err, SB_ERR_PROTOCOL, "bad_payload", "undecodable frame from the daemon");
    return -1;
  }
  *out = f;
  return 0;
}

static int is_terminal(const Switchboard__V1__Frame *f) {
  return f->body_case == SWITCHBOARD__V1__FRAME__BODY_COMPLETION_RESPONSE ||
         f->body_case == SWITCHBOARD__V1__FRAME__BODY_ADMIN_RESPONSE ||
         f->body_case == SWITCHBOARD__V1__FRAME__BODY_STATUS;
}

static int send_cancel(sb_client *c, uint64_t call_id, const char *reason) {
  Switchboard__V1__Frame f = SWITCHBOARD__V1__FRAME__INIT;
  Switchboard__V1__Cancel cancel = SWITCHBOARD__V1__CANCEL__INIT;
  sb_error ignored;
  cancel.reason = (char *)reason;
  f.call_id = call_id;
  f.body_case = SWITCHBOARD__V1__FRAME__BODY_CANCEL;
  f.cancel = &cancel;
  return send_frame(c, &f, &ignored);
}

/* Unlinks and returns the call with `id` (mu held), or NULL. */
static sb_pending *take_call(sb_client *c, uint64_t id) {
  for (sb_pending **p = &c->calls; *p != NULL; p = &(*p)->next) {
    if ((*p)->call_id == id) {
      sb_pending *found = *p;
      *p = found->next;
      found->next = NULL;
      return found;
    }
  }
  return NULL;
}

static sb_pending *find_call(sb_client *c, uint64_t id) {
  for (sb_pending *p = c->calls; p != NULL; p = p->next)
    if (p->call_id == id) return p;
  return NULL;
}

static void free_queue(sb_pending *p) {
  while (p->head != NULL) {
    sb_frame_node *n = p->head;
    p->head = n->next;
    switchboard__v1__frame__free_unpacked(n->frame, NULL);
    free(n);
  }
  p->tail = NULL;
}

static void free_pending(sb_pending *p) {
  if (p == NULL) return;
  free_queue(p);
  if (p->blocking) pthread_cond_destroy(&p->cond);
  free(p);
}

static int finish_async(sb_pending *p, Switchboard__V1__Frame *terminal, const sb_error *conn_err);

/* Serves one non-terminal frame of a callback call on the reader thread (no lock held). */
static void async_frame(sb_client *c, sb_pending *p, Switchboard__V1__Frame *f) {
  if (f->body_case == SWITCHBOARD__V1__FRAME__BODY_COMPLETION_CHUNK) {
    const char *d = f->completion_chunk->delta ? f->completion_chunk->delta : "";
    if (p->on_delta != NULL && !p->cancel_sent && p->on_delta(p->user, d, strlen(d)) != 0) {
      p->cancel_sent = 1;
      send_cancel(c, p->call_id, "cancelled by the delta callback");
    }
  } else if (f->body_case == SWITCHBOARD__V1__FRAME__BODY_STREAM_RESTART) {
    if (p->on_restart != NULL && !p->cancel_sent) p->on_restart(p->user, f->stream_restart);
  }
  switchboard__v1__frame__free_unpacked(f, NULL);
}

static void *reader_main(void *arg) {
  sb_client *c = arg;
  sb_error err;
  memset(&err, 0, sizeof err);
  for (;;) {
    Switchboard__V1__Frame *f = NULL;
    if (read_frame(c->fd, &f, &err) != 0) break;
    pthread_mutex_lock(&c->mu);
    if (f->call_id == 0 && f->body_case == SWITCHBOARD__V1__FRAME__BODY_STATUS && find_call(c, 0) == NULL) {
      /* connection-fatal status: the daemon closes the connection next */
      set_status_error(&c->close_err, f->status);
      pthread_mutex_unlock(&c->mu);
      switchboard__v1__frame__free_unpacked(f, NULL);
      continue;
    }
    int terminal = is_terminal(f) || (f->call_id == 0 && f->body_case == SWITCHBOARD__V1__FRAME__BODY_WELCOME);
    sb_pending *p = terminal ? take_call(c, f->call_id) : find_call(c, f->call_id);
    if (p == NULL) { /* a call given up on (timeout, cancel): drop */
      pthread_mutex_unlock(&c->mu);
      switchboard__v1__frame__free_unpacked(f, NULL);
      continue;
    }
    if (p->blocking) {
      sb_frame_node *n = malloc(sizeof *n);
      if (n == NULL) {
        switchboard__v1__frame__free_unpacked(f, NULL);
        set_error(&p->err, SB_ERR_NOMEM, "", "out of memory");
        p->failed = 1;
        if (!terminal) take_call(c, p->call_id);
      } else {
        n->frame = f;
        n->next = NULL;
        if (p->tail) p->tail->next = n; else p->head = n;
        p->tail = n;
      }
      pthread_cond_signal(&p->cond);
      pthread_mutex_unlock(&c->mu);
      continue;
    }
    pthread_mutex_unlock(&c->mu);
    /* Callback calls: the call is this thread's alone now (terminal: unlinked;
     * otherwise only the reader touches its callback state). */
    if (terminal) {
      finish_async(p, f, NULL);
    } else {
      async_frame(c, p, f);
    }
  }
  /* The connection is over: fail every open call. */
  pthread_mutex_lock(&c->mu);
  c->closed = 1;
  if (c->closing) {
    set_error(&c->close_err, SB_ERR_IO, "client_closed", "the client closed the connection");
  } else if (c->close_err.code == 0) {
    c->close_err = err;
  }
  sb_error final = c->close_err;
  sb_pending *async_calls = NULL;
  sb_pending *p = c->calls;
  c->calls = NULL;
  while (p != NULL) {
    sb_pending *next = p->next;
    if (p->blocking) {
      p->failed = 1;
      p->err = final;
      pthread_cond_signal(&p->cond);
    } else {
      p->next = async_calls;
      async_calls = p;
    }
    p = next;
  }
  pthread_mutex_unlock(&c->mu);
  while (async_calls != NULL) {
    sb_pending *next = async_calls->next;
    finish_async(async_calls, NULL, &final);
    async_calls = next;
  }
  return NULL;
}

sb_client *sb_connect(const char *socket_path, sb_error *err) {
  struct sockaddr_un addr;
  if (socket_path == NULL || strlen(socket_path) >= sizeof addr.sun_path) {
    set_error(err, SB_ERR_ARG, "bad_socket_path", "socket path is missing or too long");
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) {
    set_error(err, SB_ERR_IO, "connect_failed", "socket: %s", strerror(errno));
    return NULL;
  }
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    set_error(err, SB_ERR_IO, "connect_failed",
              "cannot connect to %s: %s (is switchboardd running? pass the socket path or set SWITCHBOARD_SOCKET)",
              socket_path, strerror(e));
    if (err != NULL) err->retryable = 1;
    close(fd);
    return NULL;
  }
  sb_client *c = calloc(1, sizeof *c);
  if (c == NULL) {
    close(fd);
    set_error(err, SB_ERR_NOMEM, "", "out of memory");
    return NULL;
  }
  c->fd = fd;
  c->next_call_id = 1;
  pthread_mutex_init(&c->mu, NULL);
  pthread_mutex_init(&c->write_mu, NULL);
  pthread_cond_init(&c->idle, NULL);
  if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
    set_error(err, SB_ERR_NOMEM, "", "cannot start the reader thread");
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->write_mu);
    pthread_mutex_destroy(&c->mu);
    close(fd);
    free(c);
    return NULL;
  }
  c->reader_started = 1;
  return c;
}

void sb_set_timeout(sb_client *client, int timeout_ms) {
  if (client == NULL) return;
  pthread_mutex_lock(&client->mu);
  client->timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
  pthread_mutex_unlock(&client->mu);
}

void sb_close(sb_client *client) {
  if (client == NULL) return;
  pthread_mutex_lock(&client->mu);
  client->closing = 1;
  pthread_mutex_unlock(&client->mu);
  shutdown(client->fd, SHUT_RDWR); /* the reader sees EOF and fails every open call */
  if (client->reader_started && !pthread_equal(pthread_self(), client->reader)) pthread_join(client->reader, NULL);
  pthread_mutex_lock(&client->mu);
  while (client->waiters > 0) pthread_cond_wait(&client->idle, &client->mu);
  pthread_mutex_unlock(&client->mu);
  close(client->fd);
  pthread_cond_destroy(&client->idle);
  pthread_mutex_destroy(&client->write_mu);
  pthread_mutex_destroy(&client->mu);
  free(client);
}

int sb_connected(sb_client *client) {
  if (client == NULL) return 0;
  pthread_mutex_lock(&client->mu);
  int ok = !client->closed && !client->closing;
  pthread_mutex_unlock(&client->mu);
  return ok;
}

/* Registers a call (assigning its id) and sends `frame`. On failure *err is set and
 * the call is freed. */
static int open_call(sb_client *c, sb_pending *p, Switchboard__V1__Frame *frame, sb_error *err) {
  pthread_mutex_lock(&c->mu);
  if (c->closed || c->closing) {
    if (err != NULL) {
      *err = c->close_err;
      if (err->code == 0) set_error(err, SB_ERR_IO, "connection_closed", "the connection is closed");
    }
    pthread_mutex_unlock(&c->mu);
    free_pending(p);
    return -1;
  }
  if (!p->hello) p->call_id = c->next_call_id++;
  p->next = c->calls;
  c->calls = p;
  frame->call_id = p->call_id;
  if (p->blocking) c->waiters++;
  pthread_mutex_unlock(&c->mu);
  sb_error send_err;
  if (send_frame(c, frame, &send_err) != 0) {
    pthread_mutex_lock(&c->mu);
    sb_pending *mine = take_call(c, p->call_id);
    if (p->blocking) {
      c->waiters--;
      pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->mu);
    if (err != NULL) *err = send_err;
    /* Not found = the reader already failed it (connection lost): for a callback
     * call it delivered on_done (and freed it), so the submit counts as made. */
    int blocking = p->blocking;
    if (mine != NULL || blocking) free_pending(p);
    return mine != NULL || blocking ? -1 : 0;
  }
  return 0;
}

static sb_pending *new_pending(int blocking) {
  sb_pending *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->blocking = blocking;
  if (blocking) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &a);
    pthread_condattr_destroy(&a);
  }
  return p;
}

/* The caller's side of a blocking call: leaves the client (mu held). */
static void leave(sb_client *c) {
  c->waiters--;
  pthread_cond_broadcast(&c->idle);
}

/*
 * Runs one blocking call: sends `frame`, then waits for the call's frames, which
 * the reader thread queues; streamed chunks and restarts go to the callbacks on
 * this thread. The terminal frame is returned in *terminal.
 */
static int run_call(sb_client *c, Switchboard__V1__Frame *frame, int hello, int call_timeout_ms, sb_delta_fn on_delta,
                    sb_restart_fn on_restart, void *user, const char *request_id, Switchboard__V1__Frame **terminal,
                    sb_error *err) {
  if (c == NULL) {
    set_error(err, SB_ERR_ARG, "", "client is NULL");
    return -1;
  }
  if (c->reader_started && pthread_equal(pthread_self(), c->reader)) {
    set_error(err, SB_ERR_ARG, "", "blocking calls cannot be made from a callback (use the *_async functions)");
    return -1;
  }
  sb_pending *p = new_pending(1);
  if (p == NULL) {
    set_error(err, SB_ERR_NOMEM, "", "out of memory");
    return -1;
  }
  p->hello = hello;
  pthread_mutex_lock(&c->mu);
  int timeout_ms = call_timeout_ms > 0 ? call_timeout_ms : c->timeout_ms;
  pthread_mutex_unlock(&c->mu);
  if (open_call(c, p, frame, err) != 0) return -1;
  uint64_t call_id = p->call_id;
  int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
  struct timespec until;
  if (deadline != 0) {
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  }
  int cancelled = 0;
  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (p->head == NULL && !p->failed) {
      if (deadline == 0) {
        pthread_cond_wait(&p->cond, &c->mu);
      } else if (pthread_cond_timedwait(&p->cond, &c->mu, &until) == ETIMEDOUT && p->head == NULL && !p->failed) {
        /* Give up: unlink the call (later frames are dropped) and cancel it. */
        take_call(c, call_id);
        leave(c);
        pthread_mutex_unlock(&c->mu);
        free_pending(p);
        send_cancel(c, call_id, "client timeout");
        set_error(err, SB_ERR_TIMEOUT, "client_timeout", "no answer within %d ms; the call was cancelled", timeout_ms);
        if (err != NULL && request_id != NULL) snprintf(err->request_id, sizeof err->request_id, "%s", request_id);
        return -1;
      }
    }
    if (p->head == NULL) { /* failed: the connection ended */
      if (err != NULL) {
        *err = p->err;
        if (request_id != NULL && err->request_id[0] == 0)
          snprintf(err->request_id, sizeof err->request_id, "%s", request_id);
      }
      leave(c);
      pthread_mutex_unlock(&c->mu);
      free_pending(p);
      return -1;
    }
    sb_frame_node *n = p->head;
    p->head = n->next;
    if (p->head == NULL) p->tail = NULL;
    Switchboard__V1__Frame *f = n->frame;
    free(n);
    int last = is_terminal(f) || (hello && f->body_case == SWITCHBOARD__V1__FRAME__BODY_WELCOME);
    if (last) {
      leave(c);
      pthread_mutex_unlock(&c->mu);
      free_pending(p);
      *terminal = f;
      return 0;
    }
    pthread_mutex_unlock(&c->mu);
    if (f->body_case == SWITCHBOARD__V1__FRAME__BODY_COMPLETION_CHUNK) {
      const char *d = f->completion_chunk->delta ? f->completion_chunk->delta : "";
      if (on_delta != NULL && !cancelled && on_delta(user, d, strlen(d)) != 0) {
        cancelled = 1;
        send_cancel(c, call_id, "cancelled by the delta callback");
      }
    } else if (f->body_case == SWITCHBOARD__V1__FRAME__BODY_STREAM_RESTART) {
      if (on_restart != NULL && !cancelled) on_restart(user, f->stream_restart);
    }
    switchboard__v1__frame__free_unpacked(f, NULL);
    pthread_mutex_lock(&c->mu);
  }
}

int sb_cancel(sb_client *client, uint64_t call_id) {
  if (client == NULL || call_id == 0) return -1;
  pthread_mutex_lock(&client->mu);
  int open_ = find_call(client, call_id) != NULL;
  pthread_mutex_unlock(&client->mu);
  if (!open_) return -1;
  return send_cancel(client, call_id, "cancelled by the client");
}

/* ------------------------------------------------------------------ completions */

/* Detaches the CompletionResponse of a terminal frame, or fills *err (Status or an
 * unexpected frame). Frees the frame. */
static Switchboard__V1__CompletionResponse *take_response(Switchboard__V1__Frame *term, const char *request_id,
                                                          sb_error *err) {
  Switchboard__V1__CompletionResponse *resp = NULL;
  if (term->body_case == SWITCHBOARD__V1__FRAME__BODY_STATUS) {
    set_status_error(err, term->status);
  } else if (term->body_case != SWITCHBOARD__V1__FRAME__BODY_COMPLETION_RESPONSE) {
    set_error(err, SB_ERR_PROTOCOL, "unexpected_frame", "a completion call ended with frame body %d",
              (int)term->body_case);
  } else {
    /* protobuf-c allocates every sub-message separately: it can be freed on its own. */
    resp = term->completion_response;
    term->completion_response = NULL;
    term->body_case = SWITCHBOARD__V1__FRAME__BODY__NOT_SET;
  }
  switchboard__v1__frame__free_unpacked(term, NULL);
  if (resp == NULL && err != NULL && err->request_id[0] == 0 && request_id != NULL)
    snprintf(err->request_id, sizeof err->request_id, "%s", request_id);
  return resp;
}

static int finish_async(sb_pending *p, Switchboard__V1__Frame *terminal, const sb_error *conn_err) {
  sb_error err;
  memset(&err, 0, sizeof err);
  Switchboard__V1__CompletionResponse *resp = NULL;
  if (terminal != NULL) {
    resp = take_response(terminal, p->request_id, &err);
  } else {
    err = *conn_err;
    if (err.request_id[0] == 0) snprintf(err.request_id, sizeof err.request_id, "%s", p->request_id);
  }
  if (p->on_done != NULL) {
    p->on_done(p->user, p->call_id, resp, resp != NULL ? NULL : &err);
  } else {
    sb_response_free(resp);
  }
  free_pending(p);
  return 0;
}

static int call_with_timeout(sb_client *client, const Switchboard__V1__CompletionRequest *request, int timeout_ms,
                             sb_delta_fn on_delta, sb_restart_fn on_restart, void *user,
                             Switchboard__V1__CompletionResponse **out, sb_error *err);

int sb_call(sb_client *client, const Switchboard__V1__CompletionRequest *request, sb_delta_fn on_delta,
            sb_restart_fn on_restart, void *user, Switchboard__V1__CompletionResponse **out, sb_error *err) {
  return call_with_timeout(client, request, 0, on_delta, on_restart, user, out, err);
}

static int call_with_timeout(sb_client *client, const Switchboard__V1__CompletionRequest *request, int timeout_ms,
                             sb_delta_fn on_delta, sb_restart_fn on_restart, void *user,
                             Switchboard__V1__CompletionResponse **out, sb_error *err) {
  Switchboard__V1__Frame frame = SWITCHBOARD__V1__FRAME__INIT;
  Switchboard__V1__Frame *term = NULL;
  if (out != NULL) *out = NULL;
  frame.body_case = SWITCHBOARD__V1__FRAME__BODY_COMPLETION_REQUEST;
  frame.completion_request = (Switchboard__V1__CompletionRequest *)request;
  const char *rid = request->request_id != NULL && request->request_id[0] != 0 ? request->request_id : NULL;
  if (run_call(client, &frame, 0, timeout_ms, on_delta, on_restart, user, rid, &term, err) != 0) return -1;
  Switchboard__V1__CompletionResponse *resp = take_response(term, rid, err);
  if (resp == NULL) return -1;
  if (out != NULL)
    *out = resp;
  else
    sb_response_free(resp);
  if (err != NULL) memset(err, 0, sizeof *err);
  return 0;
}

int sb_call_async(sb_client *client, const Switchboard__V1__CompletionRequest *request, sb_delta_fn on_delta,
                  sb_restart_fn on_restart, sb_done_fn on_done, void *user, uint64_t *call_id, sb_error *err) {
  if (client == NULL || request == NULL) {
    set_error(err, SB_ERR_ARG, "", "client and request are required");
    return -1;
  }
  sb_pending *p = new_pending(0);
  if (p == NULL) {
    set_error(err, SB_ERR_NOMEM, "", "out of memory");
    return -1;
  }
  p->on_delta = on_delta;
  p->on_restart = on_restart;
  p->on_done = on_done;
  p->user = user;
  if (request->request_id != NULL) snprintf(p->request_id, sizeof p->request_id, "%s", request->request_id);
  Switchboard__V1__Frame frame = SWITCHBOARD__V1__FRAME__INIT;
  frame.body_case = SWITCHBOARD__V1__FRAME__BODY_COMPLETION_REQUEST;
  frame.completion_request = (Switchboard__V1__CompletionRequest *)request;
  /* open_call assigns the id into frame.call_id (the call may end, and on_done run,
   * before this function returns). */
  if (open_call(client, p, &frame, err) != 0) return -1;
  if (call_id != NULL) *call_id = frame.call_id;
  return 0;
}

/* Builds the CompletionRequest of an sb_request into *r (pointing into req and the
 * caller's storage), with a generated request id when the caller gave none. */
static int build_request(sb_client *client, const sb_request *req, int stream, Switchboard__V1__CompletionRequest *r,
                         Switchboard__V1__Message *sys, Switchboard__V1__Message *user_msg,
                         Switchboard__V1__Message **two, char *rid_buf, size_t rid_len, sb_error *err) {
  if (client == NULL || req == NULL || (req->prompt == NULL && req->n_messages == 0)) {
    set_error(err, SB_ERR_ARG, "", "the request needs a client and a prompt or messages");
    return -1;
  }
  if (req->route) r->route = (char *)req->route;
  if (req->provider) r->provider = (char *)req->provider;
  if (req->model) r->model = (char *)req->model;
  if (req->n_messages > 0) {
    r->n_messages = req->n_messages;
    r->messages = req->messages;
  } else {
    size_t n = 0;
    if (req->system != NULL) {
      sys->role = SWITCHBOARD__V1__ROLE__ROLE_SYSTEM;
      sys->content = (char *)req->system;
      two[n++] = sys;
    }
    user_msg->role = SWITCHBOARD__V1__ROLE__ROLE_USER;
    user_msg->content = (char *)req->prompt;
    two[n++] = user_msg;
    r->n_messages = n;
    r->messages = two;
  }
  if (req->has_max_tokens) {
    r->opt_max_tokens_case = SWITCHBOARD__V1__COMPLETION_REQUEST__OPT_MAX_TOKENS_MAX_TOKENS;
    r->max_tokens = req->max_tokens;
  }
  if (req->has_temperature) {
    r->opt_temperature_case = SWITCHBOARD__V1__COMPLETION_REQUEST__OPT_TEMPERATURE_TEMPERATURE;
    r->temperature = req->temperature;
  }
  if (req->tenant) r->tenant = (char *)req->tenant;
  if (req->request_id != NULL && req->request_id[0] != 0) {
    r->request_id = (char *)req->request_id;
  } else {
    /* A correlation id, so that every error (a timeout too) names its decision. */
    pthread_mutex_lock(&client->mu);
    uint64_t seq = ++client->next_request_seq;
    pthread_mutex_unlock(&client->mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(rid_buf, rid_len, "c%08lx%04x%06llx", (unsigned long)ts.tv_sec, (unsigned)(getpid() & 0xffff),
             (unsigned long long)(seq & 0xffffff));
    r->request_id = rid_buf;
  }
  r->deadline_ms = req->deadline_ms;
  r->stream = stream ? 1 : 0;
  return 0;
}

static int completion(sb_client *client, const sb_request *req, int stream, sb_delta_fn on_delta,
                      sb_restart_fn on_restart, void *user, Switchboard__V1__CompletionResponse **out,
                      sb_error *err) {
  Switchboard__V1__CompletionRequest r = SWITCHBOARD__V1__COMPLETION_REQUEST__INIT;
  Switchboard__V1__Message sys = SWITCHBOARD__V1__MESSAGE__INIT;
  Switchboard__V1__Message user_msg = SWITCHBOARD__V1__MESSAGE__INIT;
  Switchboard__V1__Message *two[2];
  char rid[64];
  if (build_request(client, req, stream, &r, &sys, &user_msg, two, rid, sizeof rid, err) != 0) return -1;
  return call_with_timeout(client, &r, (int)req->timeout_ms, on_delta, on_restart, user, out, err);
}

int sb_complete(sb_client *client, const sb_request *req, Switchboard__V1__CompletionResponse **out,
                sb_error *err) {
  return completion(client, req, 0, NULL, NULL, NULL, out, err);
}

int sb_stream(sb_client *client, const sb_request *req, sb_delta_fn on_delta, sb_restart_fn on_restart,
              void *user, Switchboard__V1__CompletionResponse **out, sb_error *err) {
  return completion(client, req, 1, on_delta, on_restart, user, out, err);
}

int sb_complete_async(sb_client *client, const sb_request *req, int stream, sb_delta_fn on_delta,
                      sb_restart_fn on_restart, sb_done_fn on_done, void *user, uint64_t *call_id, sb_error *err) {
  Switchboard__V1__CompletionRequest r = SWITCHBOARD__V1__COMPLETION_REQUEST__INIT;
  Switchboard__V1__Message sys = SWITCHBOARD__V1__MESSAGE__INIT;
  Switchboard__V1__Message user_msg = SWITCHBOARD__V1__MESSAGE__INIT;
  Switchboard__V1__Message *two[2];
  char rid[64];
  if (build_request(client, req, stream, &r, &sys, &user_msg, two, rid, sizeof rid, err) != 0) return -1;
  return sb_call_async(client, &r, on_delta, on_restart, on_done, user, call_id, err);
}

/* ------------------------------------------------------------------ admin */

int sb_health(sb_client *client, Switchboard__V1__HealthResponse **out, sb_error *err) {
  Switchboard__V1__Frame frame = SWITCHBOARD__V1__FRAME__INIT;
  Switchboard__V1__AdminRequest admin = SWITCHBOARD__V1__ADMIN_REQUEST__INIT;
  Switchboard__V1__HealthRequest health = SWITCHBOARD__V1__HEALTH_REQUEST__INIT;
  Switchboard__V1__Frame *term = NULL;
  *out = NULL;
  admin.kind_case = SWITCHBOARD__V1__ADMIN_REQUEST__KIND_HEALTH;
  admin.health = &health;
  frame.body_case = SWITCHBOARD__V1__FRAME__BODY_ADMIN_REQUEST;
  frame.admin_request = &admin;
  if (run_call(client, &frame, 0, 0, NULL, NULL, NULL, NULL, &term, err) != 0) return -1;
  if (term->body_case == SWITCHBOARD__V1__FRAME__BODY_STATUS) {
    set_status_error(err, term->status);
    switchboard__v1__frame__free_unpacked(term, NULL);
    return -1;
  }
  if (term->body_case != SWITCHBOARD__V1__FRAME__BODY_ADMIN_RESPONSE ||
      term->admin_response->kind_case != SWITCHBOARD__V1__ADMIN_RESPONSE__KIND_HEALTH) {
    set_error(err, SB_ERR_PROTOCOL, "unexpected_frame", "the health call got an unexpected answer");
    switchboard__v1__frame__free_unpacked(term, NULL);
    return -1;
  }
  *out = term->admin_response->health;
  term->admin_response->health = NULL;
  term->admin_response->kind_case = SWITCHBOARD__V1__ADMIN_RESPONSE__KIND__NOT_SET;
  switchboard__v1__frame__free_unpacked(term, NULL);
  if (err != NULL) memset(err, 0, sizeof *err);
  return 0;
}

void sb_response_free(Switchboard__V1__CompletionResponse *resp) {
  if (resp != NULL) switchboard__v1__completion_response__free_unpacked(resp, NULL);
}

void sb_health_free(Switchboard__V1__HealthResponse *health) {
  if (health != NULL) switchboard__v1__health_response__free_unpacked(health, NULL);
}

int sb_hello(sb_client *client, const char *client_name, Switchboard__V1__Welcome **out, sb_error *err) {
  Switchboard__V1__Frame frame = SWITCHBOARD__V1__FRAME__INIT;
  Switchboard__V1__Hello hello = SWITCHBOARD__V1__HELLO__INIT;
  Switchboard__V1__Frame *term = NULL;
  if (out != NULL) *out = NULL;
  hello.protocol_version = SB_PROTOCOL_VERSION;
  hello.client_name = (char *)(client_name != NULL ? client_name : "switchboard-c");
  frame.body_case = SWITCHBOARD__V1__FRAME__BODY_HELLO;
  frame.hello = &hello;
  if (run_call(client, &frame, 1, 0, NULL, NULL, NULL, NULL, &term, err) != 0) return -1;
  if (term->body_case == SWITCHBOARD__V1__FRAME__BODY_STATUS) {
    set_status_error(err, term->status);
    switchboard__v1__frame__free_unpacked(term, NULL);
    return -1;
  }
  if (term->body_case != SWITCHBOARD__V1__FRAME__BODY_WELCOME) {
    set_error(err, SB_ERR_PROTOCOL, "unexpected_frame", "Hello was answered with frame body %d", (int)term->body_case);
    switchboard__v1__frame__free_unpacked(term, NULL);
    return -1;
  }
  Switchboard__V1__Welcome *w = term->welcome;
  term->welcome = NULL;
  term->body_case = SWITCHBOARD__V1__FRAME__BODY__NOT_SET;
  switchboard__v1__frame__free_unpacked(term, NULL);
  if (out != NULL)
    *out = w;
  else
    switchboard__v1__welcome__free_unpacked(w, NULL);
  if (err != NULL) memset(err, 0, sizeof *err);
  return 0;
}
