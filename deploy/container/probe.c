/* sb-probe: the app side of the container tests (deploy/container/test_container.py).
 * Built statically against clients/c and libprotobuf-c, so the app image is this
 * binary (plus clients/c/example) FROM scratch. Every outcome is one line on stdout.
 *
 *   sb-probe complete ROUTE PROMPT   ok provider=P model=M attempts=N chars=N
 *                                    | error CODE reason=R
 *   sb-probe stream ROUTE PROMPT     "first-delta" as soon as the first delta arrives,
 *                                    then ok stream provider=P chunks=N chars=N
 *                                    | error CODE reason=R
 *   sb-probe app                     the pod's app container: connects to
 *                                    $SWITCHBOARD_SOCKET, retrying for up to 60 s
 *                                    (the plain-container pod has no start order),
 *                                    prints "app serving=true version=V", then waits
 *                                    for SIGTERM and exits 0.
 * The socket is $SWITCHBOARD_SOCKET (default /run/switchboard/switchboard.sock). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "switchboard_client.h"

struct stream_state {
  int chunks;
  size_t chars;
};

static int on_delta(void *user, const char *text, size_t len) {
  (void)text;
  struct stream_state *s = user;
  if (s->chunks++ == 0) {
    printf("first-delta\n");
    fflush(stdout);
  }
  s->chars += len;
  return 0;
}

static int fail(const char *what, const sb_error *err) {
  printf("error %s reason=%s\n", sb_code_name(err->code), err->reason_code);
  fprintf(stderr, "%s: %s\n", what, err->message);
  return 1;
}

static volatile sig_atomic_t stop_requested;
static void on_term(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int app(const char *sock) {
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  sb_error err;
  sb_client *c = NULL;
  for (int i = 0; i < 300 && c == NULL && !stop_requested; i++) {
    c = sb_connect(sock, &err);
    if (c == NULL) {
      struct timespec ts = {0, 200 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  if (c == NULL) return fail("connect", &err);
  Switchboard__V1__HealthResponse *health = NULL;
  if (sb_health(c, &health, &err) != 0) {
    sb_close(c);
    return fail("health", &err);
  }
  printf("app serving=%s version=%s\n", health->serving ? "true" : "false", health->version);
  fflush(stdout);
  sb_health_free(health);
  sb_close(c);
  while (!stop_requested) pause();
  return 0;
}

int main(int argc, char **argv) {
  const char *sock = getenv("SWITCHBOARD_SOCKET");
  if (sock == NULL || *sock == '\0') sock = "/run/switchboard/switchboard.sock";
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 2 && strcmp(argv[1], "app") == 0) return app(sock);
  if (argc != 4 || (strcmp(argv[1], "complete") != 0 && strcmp(argv[1], "stream") != 0)) {
    fprintf(stderr, "usage: %s complete|stream ROUTE PROMPT | app\n", argv[0]);
    return 2;
  }
  sb_error err;
  sb_client *c = sb_connect(sock, &err);
  if (c == NULL) return fail("connect", &err);
  sb_request req;
  sb_request_init(&req);
  req.route = argv[2];
  req.prompt = argv[3];
  req.has_max_tokens = 1;
  req.max_tokens = 64;
  Switchboard__V1__CompletionResponse *resp = NULL;
  int rc;
  if (strcmp(argv[1], "complete") == 0) {
    rc = sb_complete(c, &req, &resp, &err);
    if (rc == 0)
      printf("ok provider=%s model=%s attempts=%u chars=%zu\n", resp->provider, resp->model, resp->attempts,
             strlen(resp->content));
  } else {
    struct stream_state s = {0, 0};
    rc = sb_stream(c, &req, on_delta, NULL, &s, &resp, &err);
    if (rc == 0) printf("ok stream provider=%s chunks=%d chars=%zu\n", resp->provider, s.chunks, s.chars);
  }
  if (rc != 0) {
    sb_close(c);
    return fail(argv[1], &err);
  }
  sb_response_free(resp);
  sb_close(c);
  return 0;
}
