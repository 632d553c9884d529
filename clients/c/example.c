/* example.c: one unary and one streaming completion, then a health check.
 *   ./build/example /path/to/switchboard.sock [route] [prompt]                  */
#include <stdio.h>
#include <stdlib.h>

#include "switchboard_client.h"

static int print_delta(void *user, const char *text, size_t len) {
  (void)user;
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  return 0; /* non-zero would cancel the call */
}

static void on_restart(void *user, const Switchboard__V1__StreamRestart *r) {
  (void)user;
  fprintf(stderr, "\n[stream restarted on %s (%s): discard the text above]\n", r->next_provider, r->reason_code);
}

int main(int argc, char **argv) {
  const char *sock = argc > 1 ? argv[1] : "/run/switchboard/switchboard.sock";
  sb_error err;
  sb_client *c = sb_connect(sock, &err);
  if (c == NULL) {
    fprintf(stderr, "connect: %s\n", err.message);
    return 1;
  }
  sb_request req;
  sb_request_init(&req);
  req.route = argc > 2 ? argv[2] : "default";
  req.prompt = argc > 3 ? argv[3] : "Say hello in five words.";
  req.has_max_tokens = 1;
  req.max_tokens = 64;

  Switchboard__V1__CompletionResponse *resp = NULL;
  if (sb_complete(c, &req, &resp, &err) != 0) {
    fprintf(stderr, "complete: %s (%s): %s\n", sb_code_name(err.code), err.reason_code, err.message);
    sb_close(c);
    return 1;
  }
  printf("%s\n  provider=%s model=%s attempts=%u", resp->content, resp->provider, resp->model, resp->attempts);
  if (resp->opt_cost_usd_case == SWITCHBOARD__V1__COMPLETION_RESPONSE__OPT_COST_USD_COST_USD)
    printf(" cost_usd=%.6f", resp->cost_usd);
  printf("\n");
  sb_response_free(resp);

  if (sb_stream(c, &req, print_delta, on_restart, NULL, &resp, &err) != 0) {
    fprintf(stderr, "stream: %s (%s): %s\n", sb_code_name(err.code), err.reason_code, err.message);
    sb_close(c);
    return 1;
  }
  printf("\n  [streamed from %s/%s]\n", resp->provider, resp->model);
  sb_response_free(resp);

  Switchboard__V1__HealthResponse *health = NULL;
  if (sb_health(c, &health, &err) != 0) {
    fprintf(stderr, "health: %s (%s): %s\n", sb_code_name(err.code), err.reason_code, err.message);
    sb_close(c);
    return 1;
  }
  printf("serving=%s version=%s\n", health->serving ? "true" : "false", health->version);
  sb_health_free(health);
  sb_close(c);
  return 0;
}
