/* test_client.c: tests of the C client.
 *
 *   test_client --golden DIR [--socket PATH]
 *
 * --golden: every DIR/NAME.frame decodes, re-encodes to the same bytes, and the
 *           known frames carry the expected values.
 * --socket: end-to-end against a running switchboardd started with
 *           clients/testing/switchboard-test.yaml (run-tests.sh starts it).
 * Exit status: 0 when every check passed.                                       */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switchboard_client.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                          \
  do {                                            \
    checks++;                                     \
    if (!(cond)) {                                \
      failures++;                                 \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);               \
      fprintf(stderr, "  [%s]\n", #cond);         \
    }                                             \
  } while (0)

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  size_t r;
  while (buf != NULL && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      cap *= 2;
      uint8_t *nb = realloc(buf, cap);
      if (nb == NULL) {
        free(buf);
        buf = NULL;
      }
      buf = nb;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void check_known_frame(const char *name, const Switchboard__V1__Frame *f) {
  if (strcmp(name, "completion_request_unary") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_COMPLETION_REQUEST, "%s body", name);
    const Switchboard__V1__CompletionRequest *r = f->completion_request;
    CHECK(r->opt_max_tokens_case == SWITCHBOARD__V1__COMPLETION_REQUEST__OPT_MAX_TOKENS_MAX_TOKENS &&
              r->max_tokens == 256,
          "max_tokens present and 256");
    CHECK(r->opt_seed_case == SWITCHBOARD__V1__COMPLETION_REQUEST__OPT_SEED_SEED && r->seed == -42, "seed -42");
    CHECK(r->n_messages == 4 && strstr(r->messages[1]->content, "Z\xc3\xbcrich") != NULL, "UTF-8 message");
    CHECK(r->constraints != NULL &&
              r->constraints->opt_max_cost_usd_case == SWITCHBOARD__V1__CONSTRAINTS__OPT_MAX_COST_USD_MAX_COST_USD,
          "constraints.max_cost_usd present");
    CHECK(r->n_tags == 1 && strcmp(r->tags[0]->key, "team") == 0, "tags");
  } else if (strcmp(name, "completion_request_stream") == 0) {
    const Switchboard__V1__CompletionRequest *r = f->completion_request;
    CHECK(r->stream, "stream flag");
    CHECK(r->opt_temperature_case == SWITCHBOARD__V1__COMPLETION_REQUEST__OPT_TEMPERATURE_TEMPERATURE &&
              r->temperature == 0.0,
          "temperature 0 is present");
    CHECK(r->opt_top_p_case == SWITCHBOARD__V1__COMPLETION_REQUEST__OPT_TOP_P__NOT_SET, "top_p absent");
  } else if (strcmp(name, "completion_response") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_COMPLETION_RESPONSE, "%s body", name);
    const Switchboard__V1__CompletionResponse *r = f->completion_response;
    CHECK(r->opt_cost_usd_case == SWITCHBOARD__V1__COMPLETION_RESPONSE__OPT_COST_USD_COST_USD &&
              fabs(r->cost_usd - 0.00012) < 1e-12,
          "cost_usd");
    CHECK(r->opt_cost_delta_usd_case == SWITCHBOARD__V1__COMPLETION_RESPONSE__OPT_COST_DELTA_USD_COST_DELTA_USD &&
              fabs(r->cost_delta_usd + 0.00084) < 1e-12,
          "cost_delta_usd");
    CHECK(r->attempts == 2 && r->finish_reason == SWITCHBOARD__V1__FINISH_REASON__FINISH_REASON_STOP,
          "attempts/finish_reason");
    CHECK(r->usage != NULL && r->usage->input_tokens == 120, "usage");
  } else if (strcmp(name, "completion_response_unknown_cost") == 0) {
    const Switchboard__V1__CompletionResponse *r = f->completion_response;
    CHECK(r->opt_cost_usd_case == SWITCHBOARD__V1__COMPLETION_RESPONSE__OPT_COST_USD__NOT_SET, "cost absent");
  } else if (strcmp(name, "status_unavailable") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_STATUS, "%s body", name);
    CHECK(f->status->code == SWITCHBOARD__V1__STATUS__CODE__UNAVAILABLE, "code");
    CHECK(strcmp(f->status->reason_code, "provider_5xx") == 0, "reason_code");
    CHECK(f->status->retryable && f->status->retry_after_ms == 1500, "retry hints");
    CHECK(strcmp(sb_code_name((int)f->status->code), "UNAVAILABLE") == 0, "code name");
  } else if (strcmp(name, "completion_chunk") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_COMPLETION_CHUNK &&
              strcmp(f->completion_chunk->delta, "Once upon a time") == 0,
          "chunk delta");
  } else if (strcmp(name, "stream_restart") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_STREAM_RESTART &&
              strcmp(f->stream_restart->reason_code, "stream_cut") == 0,
          "restart reason");
  } else if (strcmp(name, "cancel") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_CANCEL && f->call_id == 2, "cancel");
  } else if (strcmp(name, "admin_health_request") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_ADMIN_REQUEST &&
              f->admin_request->kind_case == SWITCHBOARD__V1__ADMIN_REQUEST__KIND_HEALTH,
          "health request");
  } else if (strcmp(name, "admin_health_response") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_ADMIN_RESPONSE &&
              f->admin_response->kind_case == SWITCHBOARD__V1__ADMIN_RESPONSE__KIND_HEALTH &&
              f->admin_response->health->serving && f->admin_response->health->n_circuits == 1,
          "health response");
  } else if (strcmp(name, "hello") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_HELLO && f->call_id == 0 &&
              f->hello->protocol_version == 1,
          "hello");
  } else if (strcmp(name, "welcome") == 0) {
    CHECK(f->body_case == SWITCHBOARD__V1__FRAME__BODY_WELCOME && f->welcome->max_frame_bytes == 4194304, "welcome");
  }
}

static void test_golden(const char *dir) {
  DIR *d = opendir(dir);
  CHECK(d != NULL, "cannot open %s", dir);
  if (d == NULL) return;
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!ends_with(e->d_name, ".frame")) continue;
    char path[4096], name[256];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    snprintf(name, sizeof name, "%.*s", (int)(strlen(e->d_name) - strlen(".frame")), e->d_name);
    size_t len = 0;
    uint8_t *buf = read_file(path, &len);
    CHECK(buf != NULL, "read %s", path);
    if (buf == NULL) continue;
    count++;
    Switchboard__V1__Frame *f = NULL;
    sb_error err;
    int rc = sb_decode_frame(buf, len, &f, &err);
    CHECK(rc == 0, "golden %s decodes: %s", name, err.message);
    if (rc == 0) {
      uint8_t *again = NULL;
      size_t again_len = 0;
      CHECK(sb_encode_frame(f, &again, &again_len, &err) == 0, "re-encode %s", name);
      CHECK(again_len == len && memcmp(again, buf, len) == 0, "golden %s re-encodes byte for byte", name);
      free(again);
      check_known_frame(name, f);
      switchboard__v1__frame__free_unpacked(f, NULL);
      printf("ok   golden %s\n", name);
    }
    /* corrupt flags: must be rejected */
    buf[0] = 1;
    CHECK(sb_decode_frame(buf, len, &f, &err) != 0 && err.code == SB_ERR_PROTOCOL, "bad flags rejected");
    free(buf);
  }
  closedir(d);
  CHECK(count >= 10, "expected at least 10 golden frames in %s, found %d", dir, count);
}

/* ------------------------------------------------------------------ end to end */

struct collected {
  char text[65536];
  size_t len;
  int deltas;
  int restarts;
  int cancel_after; /* cancel after this many deltas; 0 = never */
};

static int collect_delta(void *user, const char *text, size_t len) {
  struct collected *c = user;
  if (c->len + len < sizeof c->text) {
    memcpy(c->text + c->len, text, len);
    c->len += len;
    c->text[c->len] = 0;
  }
  c->deltas++;
  return c->cancel_after > 0 && c->deltas >= c->cancel_after;
}

static void collect_restart(void *user, const Switchboard__V1__StreamRestart *r) {
  struct collected *c = user;
  (void)r;
  c->len = 0; /* discard everything received so far */
  c->text[0] = 0;
  c->restarts++;
}

static double elapsed_ms(struct timespec t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

static void test_daemon(const char *sock) {
  sb_error err;
  sb_client *c = sb_connect(sock, &err);
  CHECK(c != NULL, "connect to %s: %s", sock, err.message);
  if (c == NULL) return;
  sb_set_timeout(c, 30000);

  sb_request req;
  Switchboard__V1__CompletionResponse *resp = NULL;

  /* unary */
  sb_request_init(&req);
  req.route = "default";
  req.prompt = "Say hello";
  req.system = "Be brief.";
  req.has_max_tokens = 1;
  req.max_tokens = 64;
  req.has_temperature = 1;
  req.temperature = 0.0;
  req.tenant = "c-tests";
  int rc = sb_complete(c, &req, &resp, &err);
  CHECK(rc == 0, "unary complete: %s (%s): %s", sb_code_name(err.code), err.reason_code, err.message);
  if (rc == 0) {
    CHECK(resp->content[0] != 0, "unary content non-empty");
    CHECK(resp->provider[0] != 0 && resp->model[0] != 0, "provider and model set");
    CHECK(resp->request_id[0] != 0, "request id set");
    CHECK(resp->attempts >= 1, "attempts >= 1");
    sb_response_free(resp);
    printf("ok   unary complete\n");
  }

  /* stream */
  struct collected col;
  memset(&col, 0, sizeof col);
  rc = sb_stream(c, &req, collect_delta, collect_restart, &col, &resp, &err);
  CHECK(rc == 0, "stream: %s (%s): %s", sb_code_name(err.code), err.reason_code, err.message);
  if (rc == 0) {
    CHECK(col.deltas > 0, "stream delivered deltas");
    CHECK(strcmp(col.text, resp->content) == 0, "deltas since the last restart == final content ('%s' vs '%s')",
          col.text, resp->content);
    sb_response_free(resp);
    printf("ok   stream (%d deltas, %d restarts)\n", col.deltas, col.restarts);
  }

  /* failover */
  req.route = "failover";
  rc = sb_complete(c, &req, &resp, &err);
  CHECK(rc == 0, "failover: %s (%s): %s", sb_code_name(err.code), err.reason_code, err.message);
  if (rc == 0) {
    CHECK(resp->attempts >= 2, "failover attempts >= 2 (got %u)", resp->attempts);
    CHECK(strcmp(resp->provider, "sim-a") == 0, "failover answered by sim-a (got %s)", resp->provider);
    sb_response_free(resp);
    printf("ok   failover\n");
  }

  memset(&col, 0, sizeof col);
  rc = sb_stream(c, &req, collect_delta, collect_restart, &col, &resp, &err);
  CHECK(rc == 0, "failover stream: %s (%s): %s", sb_code_name(err.code), err.reason_code, err.message);
  if (rc == 0) {
    CHECK(strcmp(col.text, resp->content) == 0, "failover stream: text after restarts == final content");
    CHECK(strcmp(resp->provider, "sim-a") == 0, "failover stream answered by sim-a (got %s)", resp->provider);
    sb_response_free(resp);
    printf("ok   failover stream (%d restarts)\n", col.restarts);
  }

  /* failing route */
  req.route = "doomed";
  rc = sb_complete(c, &req, &resp, &err);
  CHECK(rc != 0 && err.code == SWITCHBOARD__V1__STATUS__CODE__UNAVAILABLE, "doomed: UNAVAILABLE (got %s)",
        sb_code_name(err.code));
  CHECK(rc != 0 && err.reason_code[0] != 0, "doomed: reason_code set");
  if (rc != 0) printf("ok   doomed -> %s (%s): %s\n", sb_code_name(err.code), err.reason_code, err.message);

  memset(&col, 0, sizeof col);
  rc = sb_stream(c, &req, collect_delta, collect_restart, &col, &resp, &err);
  CHECK(rc != 0 && err.code == SWITCHBOARD__V1__STATUS__CODE__UNAVAILABLE, "doomed stream: UNAVAILABLE (got %s)",
        sb_code_name(err.code));

  /* unknown route */
  req.route = "no-such-route";
  rc = sb_complete(c, &req, &resp, &err);
  CHECK(rc != 0 && err.code == SWITCHBOARD__V1__STATUS__CODE__NOT_FOUND, "unknown route: NOT_FOUND (got %s)",
        sb_code_name(err.code));
  CHECK(rc != 0 && strcmp(err.reason_code, "unknown_route") == 0, "unknown route: reason unknown_route (got %s)",
        err.reason_code);
  if (rc != 0) printf("ok   unknown route -> %s (%s)\n", sb_code_name(err.code), err.reason_code);

  /* health */
  Switchboard__V1__HealthResponse *health = NULL;
  rc = sb_health(c, &health, &err);
  CHECK(rc == 0 && health->serving, "health serving: %s", err.message);
  if (rc == 0) {
    sb_health_free(health);
    printf("ok   health\n");
  }

  /* client timeout cancels the call; the connection stays usable */
  sb_set_timeout(c, 300);
  req.route = "slow";
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  rc = sb_complete(c, &req, &resp, &err);
  CHECK(rc != 0 && err.code == SB_ERR_TIMEOUT, "slow call times out (got %s)", sb_code_name(err.code));
  CHECK(elapsed_ms(t0) < 2000, "timeout is prompt (%.0f ms)", elapsed_ms(t0));
  sb_set_timeout(c, 30000);
  req.route = "default";
  rc = sb_complete(c, &req, &resp, &err);
  CHECK(rc == 0, "call after a timeout: %s (%s): %s", sb_code_name(err.code), err.reason_code, err.message);
  if (rc == 0) {
    sb_response_free(resp);
    printf("ok   timeout, then the connection is still usable\n");
  }

  /* cancelling from the delta callback ends the call cleanly (CANCELLED, or the
   * answer if it was already complete) and leaves the connection usable */
  memset(&col, 0, sizeof col);
  col.cancel_after = 1;
  rc = sb_stream(c, &req, collect_delta, collect_restart, &col, &resp, &err);
  CHECK(rc == 0 || err.code == SWITCHBOARD__V1__STATUS__CODE__CANCELLED, "cancelled stream ends with CANCELLED (got %s)",
        sb_code_name(err.code));
  if (rc == 0) sb_response_free(resp);
  rc = sb_health(c, &health, &err);
  CHECK(rc == 0, "health after a cancelled stream: %s", err.message);
  if (rc == 0) sb_health_free(health);

  sb_close(c);

  /* connecting to a missing socket fails cleanly */
  c = sb_connect("/nonexistent/switchboard.sock", &err);
  CHECK(c == NULL && err.code == SB_ERR_IO, "missing socket -> SB_ERR_IO");
  sb_close(c);
}

int main(int argc, char **argv) {
  const char *golden = NULL, *sock = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--golden") == 0 && i + 1 < argc)
      golden = argv[++i];
    else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
      sock = argv[++i];
    else {
      fprintf(stderr, "usage: %s --golden DIR [--socket PATH]\n", argv[0]);
      return 2;
    }
  }
  if (golden == NULL && sock == NULL) {
    fprintf(stderr, "usage: %s --golden DIR [--socket PATH]\n", argv[0]);
    return 2;
  }
  if (golden != NULL) test_golden(golden);
  if (sock != NULL) test_daemon(sock);
  printf("c client: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
