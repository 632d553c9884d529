/* switchboard_client.c: see switchboard_client.h. */
#define _POSIX_C_SOURCE 200809L

#include "switchboard_client.h"

#include <errno.h>
#include <poll.h>
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

struct sb_client {
  int fd;
  uint64_t next_call_id;
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
    set_error(err, SB_ERR_IO, "connect_failed", "cannot connect to %s: %s", socket_path, strerror(errno));
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
  return c;
}

void sb_set_timeout(sb_client *client, int timeout_ms) {
  if (client != NULL) client->timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
}

void sb_close(sb_client *client) {
  if (client == NULL) return;
  close(client->fd);
  free(client);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(sb_client *c, const uint8_t *buf, size_t len, sb_error *err) {
  while (len > 0) {
    ssize_t w = send(c->fd, buf, len, MSG_NOSIGNAL);
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
  int rc = write_all(c, buf, len, err);
  free(buf);
  return rc;
}

/* Reads exactly len bytes; deadline (monotonic ms) 0 = none. Returns 0, -1 (err set)
 * or 1 on timeout. */
static int read_all(sb_client *c, uint8_t *buf, size_t len, int64_t deadline, sb_error *err) {
  while (len > 0) {
    if (deadline != 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) return 1;
      struct pollfd p = {.fd = c->fd, .events = POLLIN, .revents = 0};
      int pr = poll(&p, 1, (int)left);
      if (pr < 0) {
        if (errno == EINTR) continue;
        set_error(err, SB_ERR_IO, "connection_lost", "poll: %s", strerror(errno));
        return -1;
      }
      if (pr == 0) return 1;
    }
    ssize_t r = recv(c->fd, buf, len, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      set_error(err, SB_ERR_IO, "connection_lost", "recv: %s", strerror(errno));
      return -1;
    }
    if (r == 0) {
      set_error(err, SB_ERR_IO, "connection_closed", "the daemon closed the connection");
      return -1;
    }
    buf += r;
    len -= (size_t)r;
  }
  return 0;
}

/* Reads one frame. Returns 0 (*out set), -1 (err set) or 1 on timeout. A timeout in
 * the middle of a frame is treated as a broken connection (the stream is out of sync). */
static int read_frame(sb_client *c, int64_t deadline, Switchboard__V1__Frame **out, sb_error *err) {
  uint8_t hdr[SB_HEADER_SIZE];
  int rc = read_all(c, hdr, 1, deadline, err);
  if (rc != 0) return rc;
  rc = read_all(c, hdr + 1, SB_HEADER_SIZE - 1, 0, err);
  if (rc != 0) return -1;
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
  if (read_all(c, payload, n, 0, err) != 0) {
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
  cancel.reason = (char *)reason;
  f.call_id = call_id;
  f.body_case = SWITCHBOARD__V1__FRAME__BODY_CANCEL;
  f.cancel = &cancel;
  return send_frame(c, &f, NULL);
}

/*
 * Runs one call: sends `frame` (its call_id is assigned here), then reads frames
 * until the call's terminal frame, which is returned in *terminal. Frames of other
 * (earlier, abandoned) calls are skipped. Streamed chunks and restarts go to the
 * callbacks.
 */
static int run_call(sb_client *c, Switchboard__V1__Frame *frame, sb_delta_fn on_delta, sb_restart_fn on_restart,
                    void *user, Switchboard__V1__Frame **terminal, sb_error *err) {
  if (c == NULL) {
    set_error(err, SB_ERR_ARG, "", "client is NULL");
    return -1;
  }
  uint64_t call_id = c->next_call_id++;
  frame->call_id = call_id;
  if (send_frame(c, frame, err) != 0) return -1;
  int64_t deadline = c->timeout_ms > 0 ? now_ms() + c->timeout_ms : 0;
  int cancelled = 0;
  for (;;) {
    Switchboard__V1__Frame *f = NULL;
    int rc = read_frame(c, deadline, &f, err);
    if (rc == 1) {
      send_cancel(c, call_id, "client timeout");
      set_error(err, SB_ERR_TIMEOUT, "client_timeout", "no answer within %d ms; the call was cancelled",
                c->timeout_ms);
      return -1;
    }
    if (rc != 0) return -1;
    if (f->call_id == 0 && f->body_case == SWITCHBOARD__V1__FRAME__BODY_STATUS) {
      /* connection-fatal status: the daemon closes the connection */
      set_status_error(err, f->status);
      switchboard__v1__frame__free_unpacked(f, NULL);
      return -1;
    }
    if (f->call_id != call_id) { /* a call we gave up on earlier */
      switchboard__v1__frame__free_unpacked(f, NULL);
      continue;
    }
    if (is_terminal(f)) {
      *terminal = f;
      return 0;
    }
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
  }
}

/* ------------------------------------------------------------------ completions */

int sb_call(sb_client *client, const Switchboard__V1__CompletionRequest *request, sb_delta_fn on_delta,
            sb_restart_fn on_restart, void *user, Switchboard__V1__CompletionResponse **out, sb_error *err) {
  Switchboard__V1__Frame frame = SWITCHBOARD__V1__FRAME__INIT;
  Switchboard__V1__Frame *term = NULL;
  if (out != NULL) *out = NULL;
  frame.body_case = SWITCHBOARD__V1__FRAME__BODY_COMPLETION_REQUEST;
  frame.completion_request = (Switchboard__V1__CompletionRequest *)request;
  if (run_call(client, &frame, on_delta, on_restart, user, &term, err) != 0) return -1;
  if (term->body_case == SWITCHBOARD__V1__FRAME__BODY_STATUS) {
    set_status_error(err, term->status);
    switchboard__v1__frame__free_unpacked(term, NULL);
    return -1;
  }
  if (term->body_case != SWITCHBOARD__V1__FRAME__BODY_COMPLETION_RESPONSE) {
    set_error(err, SB_ERR_PROTOCOL, "unexpected_frame", "a completion call ended with frame body %d",
              (int)term->body_case);
    switchboard__v1__frame__free_unpacked(term, NULL);
    return -1;
  }
  /* Detach the response from the frame: protobuf-c allocates every sub-message
   * separately, so it can be freed on its own later. */
  Switchboard__V1__CompletionResponse *resp = term->completion_response;
  term->completion_response = NULL;
  term->body_case = SWITCHBOARD__V1__FRAME__BODY__NOT_SET;
  switchboard__v1__frame__free_unpacked(term, NULL);
  if (out != NULL)
    *out = resp;
  else
    sb_response_free(resp);
  if (err != NULL) memset(err, 0, sizeof *err);
  return 0;
}

static int completion(sb_client *client, const sb_request *req, int stream, sb_delta_fn on_delta,
                      sb_restart_fn on_restart, void *user, Switchboard__V1__CompletionResponse **out,
                      sb_error *err) {
  if (req == NULL || (req->prompt == NULL && req->n_messages == 0)) {
    set_error(err, SB_ERR_ARG, "", "the request needs a prompt or messages");
    return -1;
  }
  Switchboard__V1__CompletionRequest r = SWITCHBOARD__V1__COMPLETION_REQUEST__INIT;
  Switchboard__V1__Message sys = SWITCHBOARD__V1__MESSAGE__INIT;
  Switchboard__V1__Message user_msg = SWITCHBOARD__V1__MESSAGE__INIT;
  Switchboard__V1__Message *two[2];
  if (req->route) r.route = (char *)req->route;
  if (req->provider) r.provider = (char *)req->provider;
  if (req->model) r.model = (char *)req->model;
  if (req->n_messages > 0) {
    r.n_messages = req->n_messages;
    r.messages = req->messages;
  } else {
    size_t n = 0;
    if (req->system != NULL) {
      sys.role = SWITCHBOARD__V1__ROLE__ROLE_SYSTEM;
      sys.content = (char *)req->system;
      two[n++] = &sys;
    }
    user_msg.role = SWITCHBOARD__V1__ROLE__ROLE_USER;
    user_msg.content = (char *)req->prompt;
    two[n++] = &user_msg;
    r.n_messages = n;
    r.messages = two;
  }
  if (req->has_max_tokens) {
    r.opt_max_tokens_case = SWITCHBOARD__V1__COMPLETION_REQUEST__OPT_MAX_TOKENS_MAX_TOKENS;
    r.max_tokens = req->max_tokens;
  }
  if (req->has_temperature) {
    r.opt_temperature_case = SWITCHBOARD__V1__COMPLETION_REQUEST__OPT_TEMPERATURE_TEMPERATURE;
    r.temperature = req->temperature;
  }
  if (req->tenant) r.tenant = (char *)req->tenant;
  if (req->request_id) r.request_id = (char *)req->request_id;
  r.deadline_ms = req->deadline_ms;
  r.stream = stream ? 1 : 0;
  return sb_call(client, &r, on_delta, on_restart, user, out, err);
}

int sb_complete(sb_client *client, const sb_request *req, Switchboard__V1__CompletionResponse **out,
                sb_error *err) {
  return completion(client, req, 0, NULL, NULL, NULL, out, err);
}

int sb_stream(sb_client *client, const sb_request *req, sb_delta_fn on_delta, sb_restart_fn on_restart,
              void *user, Switchboard__V1__CompletionResponse **out, sb_error *err) {
  return completion(client, req, 1, on_delta, on_restart, user, out, err);
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
  if (run_call(client, &frame, NULL, NULL, NULL, &term, err) != 0) return -1;
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
