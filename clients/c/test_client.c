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
#include <pthread.h>
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

/* ------------------------------------------------------------------ threads */

#define N_THREADS 8
#define CALLS_PER_THREAD 24

struct thread_result {
  int id;
  sb_client *client;
  int ok, failed, stream_mismatch, id_mismatch;
  int timeout_ok; /* thread 7: its slow call timed out with its own request id */
  char first_error[640];
};

static void *thread_main(void *arg) {
  struct thread_result *r = arg;
  for (int i = 0; i < CALLS_PER_THREAD; i++) {
    char rid[64], prompt[64];
    snprintf(rid, sizeof rid, "c-thr-%d-%d", r->id, i);
    snprintf(prompt, sizeof prompt, "thread %d call %d", r->id, i);
    sb_request req;
    sb_request_init(&req);
    req.route = i % 5 == 4 ? "failover" : "default";
    req.prompt = prompt;
    req.request_id = rid;
    Switchboard__V1__CompletionResponse *resp = NULL;
    sb_error err;
    int rc;
    struct collected col;
    memset(&col, 0, sizeof col);
    if (i % 6 == 5) {
      Switchboard__V1__HealthResponse *h = NULL;
      rc = sb_health(r->client, &h, &err);
      if (rc == 0) {
        r->ok += h->serving ? 1 : 0;
        sb_health_free(h);
      }
    } else if (i % 3 == 0) {
      rc = sb_stream(r->client, &req, collect_delta, collect_restart, &col, &resp, &err);
      if (rc == 0 && strcmp(col.text, resp->content) != 0) r->stream_mismatch++;
    } else {
      rc = sb_complete(r->client, &req, &resp, &err);
    }
    if (rc != 0) {
      r->failed++;
      if (r->first_error[0] == 0)
        snprintf(r->first_error, sizeof r->first_error, "%s (%s): %s", sb_code_name(err.code), err.reason_code,
                 err.message);
      continue;
    }
    if (resp != NULL) {
      /* Each answer reaches the thread that asked: the reader demultiplexes by call id. */
      if (strcmp(resp->correlation_id, rid) != 0) r->id_mismatch++;
      r->ok++;
      sb_response_free(resp);
    }
  }
  if (r->id == N_THREADS - 1) {
    /* A per-call client timeout in one thread leaves the others alone. */
    sb_request req;
    sb_request_init(&req);
    req.route = "slow";
    req.prompt = "slow";
    req.request_id = "c-thr-timeout";
    req.timeout_ms = 300;
    Switchboard__V1__CompletionResponse *resp = NULL;
    sb_error err;
    int rc = sb_complete(r->client, &req, &resp, &err);
    r->timeout_ok = rc != 0 && err.code == SB_ERR_TIMEOUT && strcmp(err.request_id, "c-thr-timeout") == 0;
  }
  return NULL;
}

struct async_state {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int done, ok, id_mismatch, cancelled, closed_errors;
  int slow_done; /* the slow call finished (must come after the fast ones) */
  int fast_done_before_slow;
};

struct async_call {
  struct async_state *st;
  char rid[64];
  int kind; /* 0 fast, 1 slow (cancelled), 2 slow (finished by sb_close) */
};

static void async_done(void *user, uint64_t call_id, Switchboard__V1__CompletionResponse *resp, const sb_error *err) {
  struct async_call *a = user;
  struct async_state *st = a->st;
  (void)call_id;
  pthread_mutex_lock(&st->mu);
  if (resp != NULL) {
    st->ok++;
    if (strcmp(resp->correlation_id, a->rid) != 0) st->id_mismatch++;
    if (a->kind == 0 && !st->slow_done) st->fast_done_before_slow++;
    sb_response_free(resp);
  } else if (a->kind == 1 && err->code == SWITCHBOARD__V1__STATUS__CODE__CANCELLED) {
    st->cancelled++;
    st->slow_done = 1;
  } else if (a->kind == 2 && err->code == SB_ERR_IO && strcmp(err->reason_code, "client_closed") == 0 &&
             strcmp(err->request_id, a->rid) == 0) {
    st->closed_errors++;
  }
  st->done++;
  pthread_cond_broadcast(&st->cond);
  pthread_mutex_unlock(&st->mu);
}

static void test_threads(const char *sock) {
  sb_error err;
  sb_client *c = sb_connect(sock, &err);
  CHECK(c != NULL, "connect: %s", err.message);
  if (c == NULL) return;
  sb_set_timeout(c, 60000);

  /* Callback API: one slow call (cancelled later) and 64 fast ones, in flight at once. */
  struct async_state st;
  memset(&st, 0, sizeof st);
  pthread_mutex_init(&st.mu, NULL);
  pthread_cond_init(&st.cond, NULL);
  enum { N_ASYNC = 64 };
  static struct async_call calls[N_ASYNC + 2];
  sb_request req;
  sb_request_init(&req);
  req.route = "slow";
  req.prompt = "slow";
  calls[0].st = &st;
  calls[0].kind = 1;
  snprintf(calls[0].rid, sizeof calls[0].rid, "c-async-slow");
  req.request_id = calls[0].rid;
  uint64_t slow_id = 0;
  int rc = sb_complete_async(c, &req, 0, NULL, NULL, async_done, &calls[0], &slow_id, &err);
  CHECK(rc == 0 && slow_id != 0, "async slow call: %s", err.message);
  for (int i = 1; i <= N_ASYNC; i++) {
    calls[i].st = &st;
    calls[i].kind = 0;
    snprintf(calls[i].rid, sizeof calls[i].rid, "c-async-%d", i);
    sb_request_init(&req);
    req.route = "default";
    req.prompt = "async";
    req.request_id = calls[i].rid;
    rc = sb_complete_async(c, &req, i % 2, NULL, NULL, async_done, &calls[i], NULL, &err);
    CHECK(rc == 0, "async call %d: %s", i, err.message);
  }

  /* Blocking API: 8 threads share the connection at the same time. */
  pthread_t th[N_THREADS];
  struct thread_result res[N_THREADS];
  memset(res, 0, sizeof res);
  for (int i = 0; i < N_THREADS; i++) {
    res[i].id = i;
    res[i].client = c;
    CHECK(pthread_create(&th[i], NULL, thread_main, &res[i]) == 0, "pthread_create");
  }
  for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
  int ok = 0, failed = 0, mism = 0, idm = 0;
  for (int i = 0; i < N_THREADS; i++) {
    ok += res[i].ok;
    failed += res[i].failed;
    mism += res[i].stream_mismatch;
    idm += res[i].id_mismatch;
    if (res[i].failed) fprintf(stderr, "thread %d: first error: %s\n", i, res[i].first_error);
  }
  CHECK(failed == 0 && ok == N_THREADS * CALLS_PER_THREAD, "%d threads x %d calls: %d ok, %d failed", N_THREADS,
        CALLS_PER_THREAD, ok, failed);
  CHECK(idm == 0, "every answer reached the thread that asked (%d mismatches)", idm);
  CHECK(mism == 0, "streamed text == final content in every thread (%d mismatches)", mism);
  CHECK(res[N_THREADS - 1].timeout_ok, "a per-call timeout: SB_ERR_TIMEOUT with the call's request id");
  if (failed == 0 && idm == 0) printf("ok   %d threads x %d calls on one connection\n", N_THREADS, CALLS_PER_THREAD);

  /* The fast async calls finish while the slow one is still open; then cancel it. */
  pthread_mutex_lock(&st.mu);
  while (st.done < N_ASYNC) pthread_cond_wait(&st.cond, &st.mu);
  pthread_mutex_unlock(&st.mu);
  CHECK(sb_cancel(c, slow_id) == 0, "sb_cancel of the open slow call");
  pthread_mutex_lock(&st.mu);
  while (st.done < N_ASYNC + 1) pthread_cond_wait(&st.cond, &st.mu);
  pthread_mutex_unlock(&st.mu);
  CHECK(st.ok == N_ASYNC && st.id_mismatch == 0, "callback API: %d/%d ok, %d id mismatches", st.ok, N_ASYNC,
        st.id_mismatch);
  CHECK(st.fast_done_before_slow == N_ASYNC, "fast calls were not held up by the slow one (%d/%d)",
        st.fast_done_before_slow, N_ASYNC);
  CHECK(st.cancelled == 1, "the slow call ended CANCELLED after sb_cancel");
  CHECK(sb_cancel(c, slow_id) == -1, "sb_cancel of an ended call returns -1");
  if (st.ok == N_ASYNC && st.cancelled == 1) printf("ok   callback API: %d concurrent calls, sb_cancel\n", N_ASYNC);

  /* sb_close with a call in flight: its on_done runs with client_closed. */
  calls[N_ASYNC + 1].st = &st;
  calls[N_ASYNC + 1].kind = 2;
  snprintf(calls[N_ASYNC + 1].rid, sizeof calls[N_ASYNC + 1].rid, "c-async-close");
  sb_request_init(&req);
  req.route = "slow";
  req.prompt = "slow";
  req.request_id = calls[N_ASYNC + 1].rid;
  rc = sb_complete_async(c, &req, 0, NULL, NULL, async_done, &calls[N_ASYNC + 1], NULL, &err);
  CHECK(rc == 0, "async call before close: %s", err.message);
  sb_close(c);
  CHECK(st.closed_errors == 1, "sb_close failed the open call with SB_ERR_IO client_closed and its request id");
  if (st.closed_errors == 1) printf("ok   sb_close ends open calls\n");
  pthread_cond_destroy(&st.cond);
  pthread_mutex_destroy(&st.mu);
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
  if (sock != NULL) {
    test_daemon(sock);
    test_threads(sock);
  }
  printf("c client: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
