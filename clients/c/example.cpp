// example.cpp: the C client from C++: four threads share one connection
// (blocking API), plus a callback call whose result arrives on a std::future.
//   ./build/example_cpp /path/to/switchboard.sock [route]
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "switchboard_client.h"

namespace {

struct Pending {
  std::promise<std::string> result;
};

void on_done(void *user, uint64_t /*call_id*/, Switchboard__V1__CompletionResponse *response, const sb_error *err) {
  auto *p = static_cast<Pending *>(user);
  if (response != nullptr) {
    p->result.set_value(std::string(response->provider) + ": " + response->content);
    sb_response_free(response);
  } else {
    p->result.set_value(std::string("error ") + sb_code_name(err->code) + " (" + err->reason_code + ")");
  }
}

}  // namespace

int main(int argc, char **argv) {
  const char *sock = argc > 1 ? argv[1] : "/run/switchboard/switchboard.sock";
  const char *route = argc > 2 ? argv[2] : "default";
  sb_error err;
  sb_client *c = sb_connect(sock, &err);
  if (c == nullptr) {
    std::fprintf(stderr, "connect: %s\n", err.message);
    return 1;
  }
  sb_set_timeout(c, 30000);

  Pending pending;
  auto future = pending.result.get_future();
  sb_request areq;
  sb_request_init(&areq);
  areq.route = route;
  areq.prompt = "A callback call from C++";
  if (sb_complete_async(c, &areq, 0, nullptr, nullptr, on_done, &pending, nullptr, &err) != 0) {
    std::fprintf(stderr, "complete_async: %s: %s\n", sb_code_name(err.code), err.message);
    sb_close(c);
    return 1;
  }

  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([c, route, t, &ok] {
      std::string prompt = "hello from C++ thread " + std::to_string(t);
      sb_request req;
      sb_request_init(&req);
      req.route = route;
      req.prompt = prompt.c_str();
      Switchboard__V1__CompletionResponse *resp = nullptr;
      sb_error e;
      if (sb_complete(c, &req, &resp, &e) == 0) {
        ok[t] = resp->content[0] != '\0';
        sb_response_free(resp);
      } else {
        std::fprintf(stderr, "thread %d: %s (%s): %s\n", t, sb_code_name(e.code), e.reason_code, e.message);
      }
    });
  }
  for (auto &th : threads) th.join();
  std::string async_result = future.get();
  std::printf("callback call -> %s\n", async_result.c_str());
  sb_close(c);
  for (int v : ok)
    if (!v) return 1;
  std::printf("4 threads on one connection: ok\n");
  return async_result.rfind("error", 0) == 0 ? 1 : 0;
}
